"""End-to-end: `obs plan/apply/status/destroy` against a real kube-apiserver with no nodes, on v1.20 and on
the current release (tests/integration/kapi_server.py; one cluster per version per session).

Server-side apply, dry-run, validation, RBAC review, garbage collection and namespace deletion are the
real thing; pods stay Pending, which is what status and `apply --wait` must explain. Every run uses its
own instance name and namespace. Set OBS_E2E_TRANSCRIPT=<file> to record the commands and their output
(docs/bootstrap.md quotes such a run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kapi_server import REPO, ClusterUnderTest

from observability.apply.cluster.client import FIELD_MANAGER, ObjectRef, ref_of
from observability.apply.cluster.plan import SCANNED_KINDS, WORKLOAD_KINDS
from observability.apply.kubernetes import KubernetesCluster, connect
from observability.cli.io import read_spec
from observability.cli.sources import ALERTS, DASHBOARDS, read_sources, source_dir
from observability.render import render_stack
from observability.render.kube import KubeVersion, api_version
from observability.render.names import generated_secrets

# Generous: under CI the first test on each version also pays for a cold build of its API server.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]


@pytest.fixture(scope="session")
def kubeconfig(kube_cluster: ClusterUnderTest) -> Path:
    return kube_cluster.kubeconfig


@pytest.fixture(scope="session")
def version(kube_cluster: ClusterUnderTest) -> KubeVersion:
    return kube_cluster.kube_version


@pytest.fixture(scope="session")
def kube(kubeconfig: Path) -> KubernetesCluster:
    client, _ = connect(str(kubeconfig))
    return client


@dataclass
class Result:
    code: int
    out: str
    err: str


class Obs:
    """Runs the real `obs` CLI in a subprocess against one kubeconfig, optionally recording a transcript."""

    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.transcript = os.environ.get("OBS_E2E_TRANSCRIPT")

    def __call__(self, *args: str, spec: Path) -> Result:
        argv = [*args, "--spec", str(spec), "--kubeconfig", str(self.kubeconfig)]
        argv += ["--alerts", str(REPO / "alerts"), "--dashboards", str(REPO / "dashboards")]
        proc = subprocess.run(
            [sys.executable, "-m", "observability", *argv], capture_output=True, text=True, timeout=300
        )
        if self.transcript:
            with open(self.transcript, "a", encoding="utf-8") as f:
                f.write(
                    f"$ obs {' '.join(args)} --spec {spec.name}\n{proc.stdout}{proc.stderr}[exit {proc.returncode}]\n\n"
                )
        return Result(proc.returncode, proc.stdout, proc.stderr)


def write_spec(directory: Path, name: str, namespace: str, **overrides: Any) -> Path:
    spec = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text())
    spec["name"] = name
    spec["cluster"]["namespace"] = namespace
    for dotted, value in overrides.items():
        node = spec
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    path = directory / f"{name}-{len(overrides)}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def rendered_objects(spec: Path, version: KubeVersion) -> dict[str, list[dict[str, Any]]]:
    stack = read_spec(spec)
    sources = read_sources(source_dir(ALERTS, REPO / "alerts"), source_dir(DASHBOARDS, REPO / "dashboards"))
    return render_stack(stack, sources, str(version)).manifests


def ours_left(kube: KubernetesCluster, instance: str, namespace: str, version: KubeVersion) -> list[str]:
    """Every object labelled with this instance, in the namespace and cluster-wide, plus the namespace itself."""
    left = []
    selector = f"app.kubernetes.io/instance={instance}"
    for kind in (*SCANNED_KINDS, "Pod"):
        api = "v1" if kind == "Pod" else api_version(kind, version)
        info = kube.resource(api, kind)
        if info is None:
            continue
        for obj in kube.list(api, kind, namespace=namespace if info.namespaced else None, label_selector=selector):
            left.append(str(ref_of(obj)))
    if kube.get(ObjectRef("v1", "Namespace", namespace)) is not None:
        left.append(f"Namespace {namespace}")
    return sorted(set(left))


def test_plan_apply_reapply_status_wait_prune_destroy(
    kubeconfig: Path, kube: KubernetesCluster, version: KubeVersion, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:5]
    instance, namespace = f"e2e{suffix}", f"obs-e2e-{suffix}"
    spec = write_spec(tmp_path, instance, namespace)
    obs = Obs(kubeconfig, tmp_path)
    manifests = rendered_objects(spec, version)
    refs = [ref_of(o) for objs in manifests.values() for o in objs]
    has_workloads = any(r.kind in WORKLOAD_KINDS for r in refs)

    # plan on an empty cluster: everything is created, nothing is written
    plan = obs("plan", "--exit-code", spec=spec)
    assert plan.code == 2, plan.err
    assert plan.out.startswith("cluster: context kapi (cluster kapi) at https://127.0.0.1:")
    assert f"server: Kubernetes v{version}." in plan.out  # rendered for the version the server reports
    assert f"+ create    Namespace {namespace}" in plan.out
    created = len(refs) + len(generated_secrets(read_spec(spec)))
    assert f"plan: {created} to create, 0 to change, 0 unchanged, 0 to prune" in plan.out
    assert kube.get(ObjectRef("v1", "Namespace", namespace)) is None

    # apply: every rendered object exists, applied by our field manager, plus the generated secrets
    applied = obs("apply", "--no-wait", spec=spec)
    assert applied.code == 0, applied.err
    assert "applied:" in applied.out and " 0 changed" in applied.out
    for ref in refs:
        live = kube.get(ref)
        assert live is not None, f"{ref} missing after apply"
        managers = {m["manager"] for m in live["metadata"].get("managedFields") or []}
        assert FIELD_MANAGER in managers or ref.kind == "Namespace", f"{ref} not applied by us: {managers}"
    stack = read_spec(spec)
    generated = {s.name: kube.get(ObjectRef("v1", "Secret", s.name, namespace)) for s in generated_secrets(stack)}
    assert all(g is not None and g["data"] for g in generated.values())

    # a second apply (and plan) changes nothing; generated secrets keep their values
    again = obs("apply", "--no-wait", spec=spec)
    assert again.code == 0, again.err
    assert "no changes:" in again.out and "+ create" not in again.out and "~ change" not in again.out
    assert obs("plan", "--exit-code", spec=spec).code == 0
    for name, before in generated.items():
        assert before is not None
        after = kube.get(ObjectRef("v1", "Secret", name, namespace))
        assert after is not None and after["data"] == before["data"]

    # status: pods can never start on a cluster without nodes
    status = obs("status", "--json", spec=spec)
    report = json.loads(status.out)  # --json keeps stdout pure JSON; the cluster banner goes to stderr
    assert status.err.startswith("cluster: context kapi")
    if has_workloads:
        assert status.code == 1 and report["healthy"] is False
        reasons = " ".join(r for c in report["components"] for w in c["workloads"] for r in w["reasons"])
        assert "no nodes" in reasons or "no pods created yet" in reasons
    else:
        assert status.code == 0 and report["healthy"] is True and report["missing"] == []
    assert obs("status", spec=spec).code == status.code

    # apply --wait ends at its timeout and says which component is not ready and why
    waited = obs("apply", "--wait", "--timeout", "6s", spec=spec)
    if has_workloads:
        assert waited.code == 1
        assert "ERROR: not ready after 6s:" in waited.err and "not ready: " in waited.err
        assert "no nodes" in waited.err and "pending pod" in waited.err
    else:
        assert waited.code == 0 and "no workloads to wait for" in waited.out

    # prune: an object applied by an earlier version, and a component switched off, are deleted
    legacy = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{instance}-legacy",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/instance": instance, "app.kubernetes.io/managed-by": "observability"},
        },
        "data": {"from": "an older release"},
    }
    kube.apply(legacy)
    smaller = write_spec(tmp_path, instance, namespace, metrics__grafana__enabled=False)
    dropped = set(refs) - {ref_of(o) for objs in rendered_objects(smaller, version).values() for o in objs}
    plan_prune = obs("plan", "--prune", spec=smaller)
    assert plan_prune.code == 0 and f"- prune     ConfigMap {namespace}/{instance}-legacy" in plan_prune.out
    pruned = obs("apply", "--no-wait", "--prune", spec=smaller)
    assert pruned.code == 0, pruned.err
    assert kube.get(ref_of(legacy)) is None
    assert dropped, "disabling Grafana should drop objects"
    for ref in dropped:
        if ref.kind == "PersistentVolumeClaim":  # data is never pruned, only reported
            assert f"! kept      {ref}" in pruned.out and kube.get(ref) is not None
        else:
            assert f"- prune     {ref}" in pruned.out
            assert kube.get(ref) is None, f"{ref} not pruned"

    # destroy: first without --delete-data (claims and what protects them stay), then everything
    destroyed = obs("destroy", "--yes", spec=spec)
    assert destroyed.code == 0, destroyed.err
    claims = [r for r in ours_left(kube, instance, namespace, version) if r.startswith("PersistentVolumeClaim")]
    left = ours_left(kube, instance, namespace, version)
    if claims:
        assert "kept" in destroyed.out and "--delete-data" in destroyed.out
        assert all(r.startswith(("PersistentVolumeClaim", "Namespace", "Secret")) for r in left), left
        final = obs("destroy", "--yes", "--delete-data", spec=spec)
        assert final.code == 0, final.err
        left = ours_left(kube, instance, namespace, version)
    assert left == []
    assert "destroyed:" in destroyed.out


def test_existing_objects_of_others_are_preflight_conflicts(
    kubeconfig: Path, kube: KubernetesCluster, version: KubeVersion, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:5]
    instance, namespace = f"cf{suffix}", f"obs-cf-{suffix}"
    spec = write_spec(tmp_path, instance, namespace)
    obs = Obs(kubeconfig, tmp_path)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})

    plan = obs("plan", spec=spec)
    assert plan.code == 1
    assert "ERROR: preflight found" in plan.err
    assert f"Namespace {namespace} already exists and is not managed by obs" in plan.err
    assert "--force-conflicts" in plan.err and "Traceback" not in plan.err
    refused = obs("apply", "--no-wait", spec=spec)
    assert (
        refused.code == 1
        and kube.list("v1", "ConfigMap", namespace=namespace, label_selector=f"app.kubernetes.io/instance={instance}")
        == []
    )

    adopted = obs("apply", "--no-wait", "--force-conflicts", spec=spec)
    assert adopted.code == 0, adopted.err
    assert "taking over: Namespace" in adopted.err
    assert obs("destroy", "--yes", "--delete-data", spec=spec).code == 0
    assert ours_left(kube, instance, namespace, version) == []


def test_unreachable_cluster_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: gone, context: {cluster: gone, user: u}}]\n"
    )
    spec = write_spec(tmp_path, "unreach", "obs-unreach")
    result = Obs(config, tmp_path)("status", spec=spec)
    assert result.code == 1
    assert result.out.startswith("cluster: context gone (cluster gone) at https://127.0.0.1:1")
    assert "ERROR: cannot reach the API server at https://127.0.0.1:1" in result.err and "Traceback" not in result.err
    wrong = Obs(config, tmp_path)("plan", "--context", "nope", spec=spec)
    assert wrong.code == 1 and "context 'nope' is not in the kubeconfig (available: gone)" in wrong.err


def test_alerts_sync_cluster_reads_through_the_same_kubeconfig(kubeconfig: Path, tmp_path: Path) -> None:
    # `obs alerts sync --cluster` loads credentials with the same connect() as plan/apply: against the real
    # server, a stack that was never applied is a clear "run obs apply first", not a client exception.
    spec = write_spec(tmp_path, "never", f"obs-never-{uuid.uuid4().hex[:5]}")
    argv = ["alerts", "sync", "--cluster", "--dry-run", "--spec", str(spec), "--alerts", str(REPO / "alerts")]
    proc = subprocess.run(
        [sys.executable, "-m", "observability", *argv, "--kubeconfig", str(kubeconfig)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("ERROR: configmap/obs-never-") and "run `obs apply` first" in proc.stderr, proc.stderr
