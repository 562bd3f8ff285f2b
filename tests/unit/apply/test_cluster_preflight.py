"""Unit: preflight checks, one line per failure with the fix (apply/cluster/preflight.py)."""

from __future__ import annotations

import pytest
from kube_double import FakeKubernetes
from test_cluster_plan import OURS, obj

from observability.apply.cluster.plan import Item
from observability.apply.cluster.preflight import check_server_version, run_preflight
from observability.errors import ClusterError


def items(*objs: dict) -> list[Item]:
    return [Item("c", o) for o in objs]


def sts(name: str, storage_class: str | None) -> dict:
    claim: dict = {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    if storage_class:
        claim["spec"]["storageClassName"] = storage_class
    return obj("StatefulSet", name, api="apps/v1", spec={"volumeClaimTemplates": [claim]})


@pytest.mark.parametrize("version", ["v1.19.16", "v1.36.0", "v2.0.0"])
def test_version_outside_range_is_a_clear_error(version: str) -> None:
    with pytest.raises(ClusterError) as err:
        check_server_version(version)
    assert version in err.value.message and "1.20 to 1.35" in err.value.message and err.value.hint


def test_supported_versions_parse_including_provider_suffixes() -> None:
    assert str(check_server_version("v1.20.2")) == "1.20"
    assert str(check_server_version("v1.29.3-eks-adc7111")) == "1.29"
    assert str(check_server_version("v1.35.4")) == "1.35"


def test_everything_allowed_and_no_conflicts_passes() -> None:
    kube = FakeKubernetes()
    report = run_preflight(
        kube,
        items(obj("Namespace", "mon", None), obj("ConfigMap", "c")),
        command="apply",
        namespace="mon",
        instance="obs",
    )
    assert report.problems == []
    assert ("patch", "", "configmaps", "mon") in kube.access_checks
    assert ("patch", "", "namespaces", None) in kube.access_checks  # cluster-scoped: no namespace
    assert ("list", "", "pods", "mon") in kube.access_checks and (
        "delete",
        "",
        "configmaps",
        "mon",
    ) not in kube.access_checks
    report.raise_if_failed()


def test_missing_rbac_gives_one_line_per_verb_and_resource_with_fix() -> None:
    kube = FakeKubernetes()
    kube.denied = {
        ("create", "apps", "deployments", "mon"),
        ("delete", "rbac.authorization.k8s.io", "clusterroles", None),
    }
    report = run_preflight(
        kube,
        items(obj("Deployment", "d", api="apps/v1"), obj("ClusterRole", "r", None, "rbac.authorization.k8s.io/v1")),
        command="apply",
        namespace="mon",
        instance="obs",
        prune=True,
    )
    assert report.problems == [
        "not allowed to create deployments.apps in namespace mon; fix: grant it with a (Cluster)Role bound to your "
        "user, e.g. `kubectl create clusterrole obs-create-deployments --verb=create --resource=deployments.apps`",
        "not allowed to delete clusterroles.rbac.authorization.k8s.io cluster-wide; fix: grant it with a (Cluster)Role "
        "bound to your user, e.g. `kubectl create clusterrole obs-delete-clusterroles --verb=delete "
        "--resource=clusterroles.rbac.authorization.k8s.io`",
    ]
    with pytest.raises(ClusterError, match="preflight found 2 problems"):
        report.raise_if_failed()


def test_unserved_kind_is_reported() -> None:
    kube = FakeKubernetes(served={("policy/v1", "PodDisruptionBudget")})
    report = run_preflight(
        kube, items(obj("PodDisruptionBudget", "p", api="policy/v1")), command="plan", namespace="mon", instance="obs"
    )
    assert report.problems == [
        "the server does not serve PodDisruptionBudget policy/v1; fix: upgrade the cluster or set "
        "cluster.kube_version to the server's version"
    ]


def test_storage_class_named_must_exist_and_default_is_warned_about() -> None:
    kube = FakeKubernetes()
    kube.put({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard"}})
    report = run_preflight(
        kube, items(sts("a", "fast-ssd"), sts("b", None)), command="plan", namespace="mon", instance="obs"
    )
    assert report.problems == [
        "StorageClass 'fast-ssd' does not exist (have: standard); fix: create it or set storage_class in "
        "stack.yaml to an existing one"
    ]
    assert len(report.warnings) == 1 and "no default" in report.warnings[0]
    kube.put(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "fast-ssd", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        }
    )
    report = run_preflight(
        kube, items(sts("a", "fast-ssd"), sts("b", None)), command="plan", namespace="mon", instance="obs"
    )
    assert report.problems == [] and report.warnings == []


def test_existing_objects_not_ours_are_conflicts_unless_taken_over() -> None:
    kube = FakeKubernetes()
    foreign = obj("ConfigMap", "cfg")
    foreign["metadata"]["labels"] = {"app": "theirs"}
    kube.put(foreign, manager="kubectl-client-side-apply", operation="Update")
    other = obj("Service", "svc")
    other["metadata"]["labels"] = {**OURS, "app.kubernetes.io/instance": "blue"}
    kube.put(other, manager="observability")
    kube.put(obj("Secret", "mine"), manager="observability")
    rendered = items(obj("ConfigMap", "cfg"), obj("Service", "svc"), obj("Secret", "mine"))
    report = run_preflight(kube, rendered, command="apply", namespace="mon", instance="obs")
    assert report.problems == [
        "ConfigMap mon/cfg already exists and is not managed by obs; fix: delete or rename it, change "
        "`name`/`cluster.namespace` in stack.yaml, or take it over with --force-conflicts",
        "Service mon/svc already exists and is owned by obs instance 'blue'; fix: delete or rename it, change "
        "`name`/`cluster.namespace` in stack.yaml, or take it over with --force-conflicts",
    ]
    taken = run_preflight(kube, rendered, command="apply", namespace="mon", instance="obs", take_over=True)
    assert taken.problems == [] and len(taken.warnings) == 2
