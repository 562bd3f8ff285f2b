"""Unit: apply, prune, destroy and generated Secrets over FakeKubernetes (apply/cluster/ops.py)."""

from __future__ import annotations

import pytest
from kube_double import FakeKubernetes
from test_cluster_plan import OURS, obj

from observability.apply.cluster.client import FIELD_MANAGER, ObjectRef
from observability.apply.cluster.ops import Target, apply_target, destroy_objects, select_destroy
from observability.apply.cluster.plan import Item, ordered_items
from observability.render.kube import KubeVersion

SELECTOR = "app.kubernetes.io/instance=obs,app.kubernetes.io/managed-by=observability"


def target(manifests: dict[str, list[dict]]) -> Target:
    return Target(
        "obs",
        "mon",
        KubeVersion(1, 29),
        tuple(ordered_items(manifests)),
        (Item("credentials", obj("Secret", "obs-grafana-admin", type="Opaque")),),
        SELECTOR,
    )


def stack_manifests(data: str = "1") -> dict[str, list[dict]]:
    return {
        "namespace": [obj("Namespace", "mon", None)],
        "grafana": [obj("ConfigMap", "grafana", data={"v": data}), obj("Deployment", "grafana", api="apps/v1")],
        "rbac": [obj("ClusterRole", "obs-read", None, "rbac.authorization.k8s.io/v1")],
    }


def test_apply_creates_in_order_then_reapply_changes_nothing() -> None:
    kube = FakeKubernetes()
    values = {"obs-grafana-admin": {"admin-user": "admin", "admin-password": "first"}}
    changes = apply_target(kube, target(stack_manifests()), values)
    assert [(c.action, str(c.ref)) for c in changes] == [
        ("create", "Namespace mon"),
        ("create", "ClusterRole obs-read"),
        ("create", "ConfigMap mon/grafana"),
        ("create", "Secret mon/obs-grafana-admin"),  # before the workloads that read it
        ("create", "Deployment mon/grafana"),
    ]
    again = apply_target(kube, target(stack_manifests()), {"obs-grafana-admin": {"admin-password": "second"}})
    assert {c.action for c in again} == {"unchanged"}
    secret = kube.get(ObjectRef("v1", "Secret", "obs-grafana-admin", "mon"))
    assert secret["stringData"]["admin-password"] == "first"  # generated once, never overwritten


def test_apply_reports_changed_fields() -> None:
    kube = FakeKubernetes()
    apply_target(kube, target(stack_manifests("1")), {})
    changes = apply_target(kube, target(stack_manifests("2")), {})
    [changed] = [c for c in changes if c.action == "change"]
    assert str(changed.ref) == "ConfigMap mon/grafana"
    assert [(f.path, f.before, f.after) for f in changed.fields] == [("data.v", "1", "2")]


def test_prune_deletes_only_what_we_applied_before_and_no_longer_render() -> None:
    kube = FakeKubernetes()
    full = stack_manifests()
    full["kibana"] = [obj("Service", "kibana"), obj("Deployment", "kibana", api="apps/v1")]
    apply_target(kube, target(full), {})
    foreign = obj("ConfigMap", "hand-made")
    kube.put(foreign, manager="kubectl", operation="Update")
    pvc = obj("PersistentVolumeClaim", "data-es-0")
    kube.put(pvc, manager="kube-controller-manager", operation="Update")
    without_prune = apply_target(kube, target(stack_manifests()), {})
    assert not [c for c in without_prune if c.action == "prune"]
    changes = apply_target(kube, target(stack_manifests()), {}, prune=True)
    assert [(c.action, str(c.ref)) for c in changes if c.action == "prune"] == [
        ("prune", "Deployment mon/kibana"),
        ("prune", "Service mon/kibana"),
    ]
    remaining = {r.name for r in kube.objects}
    assert {"hand-made", "data-es-0", "obs-grafana-admin", "grafana"} <= remaining and "kibana" not in remaining


def test_destroy_keeps_claims_namespace_and_credentials_unless_delete_data() -> None:
    kube = FakeKubernetes()
    t = target(stack_manifests())
    apply_target(kube, t, {"obs-grafana-admin": {"admin-password": "x"}})
    kube.put(obj("PersistentVolumeClaim", "data-grafana-0"), manager="kube-controller-manager", operation="Update")
    leftover = obj("ConfigMap", "from-an-older-version")
    kube.apply(leftover)
    doomed = select_destroy(kube, t, delete_data=False)
    names = [f"{o['kind']} {o['metadata']['name']}" for o in doomed.delete]
    assert names == [
        "Deployment grafana",
        "ConfigMap from-an-older-version",
        "ConfigMap grafana",
        "ClusterRole obs-read",
    ]
    assert len(doomed.kept) == 3 and "--delete-data" in doomed.kept[0]
    assert destroy_objects(kube, doomed, t, timeout=5, sleep=lambda _s: None) == []
    assert {str(r) for r in kube.objects} == {
        "Namespace mon",
        "Secret mon/obs-grafana-admin",
        "PersistentVolumeClaim mon/data-grafana-0",
    }


def test_destroy_with_delete_data_removes_everything_including_cluster_scoped() -> None:
    kube = FakeKubernetes()
    t = target(stack_manifests())
    apply_target(kube, t, {})
    kube.put(obj("PersistentVolumeClaim", "data-grafana-0"), manager="kube-controller-manager", operation="Update")
    unrelated = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "other"}}
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    kube.put(unrelated)
    doomed = select_destroy(kube, t, delete_data=True)
    assert doomed.kept == () and str([o["kind"] for o in doomed.delete][-1]) == "Namespace"
    assert destroy_objects(kube, doomed, t, timeout=5, sleep=lambda _s: None) == []
    assert {str(r) for r in kube.objects} == {"Namespace other", "ConfigMap other/x"}


def test_destroy_reports_what_is_still_there_at_timeout() -> None:
    kube = FakeKubernetes()
    t = target(stack_manifests())
    apply_target(kube, t, {})
    kube.delete = lambda ref: True  # type: ignore[method-assign]  # a server that never finishes deleting
    now = iter(range(100))
    left = destroy_objects(
        kube,
        select_destroy(kube, t, delete_data=True),
        t,
        timeout=3,
        clock=lambda: float(next(now)),
        sleep=lambda _s: None,
    )
    assert "Namespace mon" in left and "ClusterRole obs-read" in left


@pytest.mark.parametrize("labels", [OURS, {}])
def test_objects_applied_by_our_field_manager_count_as_ours(labels: dict) -> None:
    kube = FakeKubernetes()
    o = obj("ConfigMap", "c")
    o["metadata"]["labels"] = labels
    kube.put(o, manager=FIELD_MANAGER)
    t = target({"c": [obj("ConfigMap", "c")]})
    assert [x["metadata"]["name"] for x in select_destroy(kube, t, delete_data=True).delete] == ["c"]


def test_orphaned_claims_exclude_those_of_rendered_statefulsets() -> None:
    from observability.apply.cluster.ops import orphaned_claims

    kube = FakeKubernetes()
    sts = obj("StatefulSet", "kafka", api="apps/v1", spec={"volumeClaimTemplates": [{"metadata": {"name": "data"}}]})
    for name in ("data-kafka-0", "data-kafka-12", "data-kafka-x", "grafana", "data-es-0"):
        kube.put(obj("PersistentVolumeClaim", name), manager="kube-controller-manager", operation="Update")
    t = target({"kafka": [sts], "prom": [obj("PersistentVolumeClaim", "grafana")]})
    assert [r.name for r in orphaned_claims(kube, t)] == ["data-es-0", "data-kafka-x"]
