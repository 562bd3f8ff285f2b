"""Unit: apply order, dry-run plan and prune selection (apply/cluster/plan.py) through FakeKubernetes."""

from __future__ import annotations

from kube_double import FakeKubernetes

from observability.apply.cluster.client import FIELD_MANAGER, ObjectRef
from observability.apply.cluster.plan import Item, ordered_items, plan_changes, select_prunable

OURS = {"app.kubernetes.io/managed-by": "observability", "app.kubernetes.io/instance": "obs"}


def obj(kind: str, name: str, namespace: str | None = "mon", api: str = "v1", **extra: object) -> dict:
    meta: dict = {"name": name, "labels": dict(OURS)}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": meta, **extra}


def test_apply_order_follows_dependencies_and_is_stable() -> None:
    manifests = {
        "kafka": [obj("Service", "kafka"), obj("StatefulSet", "kafka", api="apps/v1"), obj("ConfigMap", "kafka")],
        "processor": [obj("Deployment", "proc", api="apps/v1"), obj("ServiceAccount", "proc")],
        "namespace": [obj("Namespace", "mon", None)],
        "rbac": [
            obj("ClusterRoleBinding", "crb", None, "rbac.authorization.k8s.io/v1"),
            obj("ClusterRole", "cr", None, "rbac.authorization.k8s.io/v1"),
        ],
        "grafana": [obj("Secret", "g"), obj("PodDisruptionBudget", "g", api="policy/v1")],
    }
    order = [(i.obj["kind"], i.ref.name) for i in ordered_items(manifests)]
    assert order == [
        ("Namespace", "mon"),
        ("ServiceAccount", "proc"),
        ("ClusterRole", "cr"),
        ("ClusterRoleBinding", "crb"),
        ("ConfigMap", "kafka"),
        ("Secret", "g"),
        ("Service", "kafka"),
        ("StatefulSet", "kafka"),
        ("Deployment", "proc"),
        ("PodDisruptionBudget", "g"),
    ]


def test_plan_on_empty_cluster_validates_in_default_namespace_and_creates_everything() -> None:
    kube = FakeKubernetes()
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    items = ordered_items({"ns": [obj("Namespace", "mon", None)], "app": [obj("ConfigMap", "cfg", data={"a": "1"})]})
    gen = [Item("credentials", obj("Secret", "gen"))]
    plan = plan_changes(kube, items, gen, [])
    assert [(c.action, str(c.ref)) for c in plan.changes] == [
        ("create", "Namespace mon"),
        ("create", "Secret mon/gen"),
        ("create", "ConfigMap mon/cfg"),
    ]
    assert ("create-dry", "ConfigMap default/cfg") in kube.calls  # the server validated it
    assert not [c for c in kube.calls if c[0] in ("apply", "create")]  # nothing was written
    assert set(kube.objects) == {ObjectRef("v1", "Namespace", "default")}
    assert plan.summary() == "3 to create, 0 to change, 0 unchanged, 0 to prune" and plan.has_changes


def test_plan_against_live_reports_changed_fields_and_unchanged() -> None:
    kube = FakeKubernetes()
    ns, same, edited = (
        obj("Namespace", "mon", None),
        obj("ConfigMap", "same", data={"a": "1"}),
        obj("ConfigMap", "e", data={"a": "1"}),
    )
    for o in (ns, same, edited):
        kube.apply(o)
    kube.put(obj("Secret", "gen"), FIELD_MANAGER, "Update")
    new_edited = obj("ConfigMap", "e", data={"a": "2"})
    plan = plan_changes(
        kube, ordered_items({"x": [ns, same, new_edited]}), [Item("credentials", obj("Secret", "gen"))], []
    )
    by_name = {c.ref.name: c for c in plan.changes}
    assert by_name["mon"].action == "unchanged" and by_name["same"].action == "unchanged"
    assert by_name["gen"].action == "unchanged" and "kept" in by_name["gen"].note
    assert by_name["e"].action == "change"
    assert [(f.path, f.before, f.after) for f in by_name["e"].fields] == [("data.a", "1", "2")]
    assert kube.get(ObjectRef("v1", "ConfigMap", "e", "mon"))["data"] == {"a": "1"}  # dry run only


def _live(
    kind: str, name: str, manager: str | None = FIELD_MANAGER, labels: dict | None = None, **meta: object
) -> dict:
    o = obj(kind, name)
    o["metadata"]["labels"] = OURS if labels is None else labels
    o["metadata"].update(meta)
    if manager:
        o["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply"}]
    return o


def test_prune_selects_only_objects_we_applied_that_are_no_longer_rendered() -> None:
    live = [
        _live("ConfigMap", "still-rendered"),
        _live("ConfigMap", "old-config"),
        _live("Deployment", "old-deploy"),
        _live("Secret", "generated"),
        _live("PersistentVolumeClaim", "data-kafka-0"),
        _live("ConfigMap", "made-by-someone-else", manager="kubectl"),
        _live("ConfigMap", "other-instance", labels={**OURS, "app.kubernetes.io/instance": "other"}),
        _live("ConfigMap", "being-deleted", deletionTimestamp="2024-01-01T00:00:00Z"),
    ]
    rendered = {ObjectRef("v1", "ConfigMap", "still-rendered", "mon")}
    keep = {ObjectRef("v1", "Secret", "generated", "mon")}
    pruned = select_prunable(live, rendered, keep, "obs")
    assert [o["metadata"]["name"] for o in pruned] == ["old-deploy", "old-config"]  # dependants first
