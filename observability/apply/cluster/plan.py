"""I/O layer, Kubernetes: apply order, the dry-run plan and prune selection.

Order matters because later objects reference earlier ones: a Pod cannot start without its
ServiceAccount, Secrets and ConfigMaps, and the processor should not start before Kafka exists.
The plan asks the server (dry-run apply) what each object would become and diffs that against the
live object, so defaults, admission and validation are the server's, not a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from observability.apply.cluster.client import FIELD_MANAGER, ClusterClient, ObjectRef, ref_of
from observability.apply.cluster.diff import FieldChange, diff_objects
from observability.render.kube import KubeVersion, api_version
from observability.render.names import MANAGED_BY, GeneratedSecret

# Apply rank per kind; unknown kinds (and workloads that depend on backends) go last.
KIND_RANK: dict[str, int] = {
    "Namespace": 0,
    "ServiceAccount": 1,
    "ClusterRole": 1,
    "Role": 1,
    "ClusterRoleBinding": 2,
    "RoleBinding": 2,
    "Secret": 3,
    "ConfigMap": 3,
    "PersistentVolumeClaim": 4,
    "Service": 4,
    "StatefulSet": 5,
}
LAST_RANK = 6
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# Kinds this tool may have applied at some point: scanned by label for prune, status and destroy.
SCANNED_KINDS = (
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "Service",
    "PersistentVolumeClaim",
    "StatefulSet",
    "Deployment",
    "DaemonSet",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Ingress",
    "HorizontalPodAutoscaler",
)

Action = Literal["create", "change", "unchanged", "prune"]


@dataclass(frozen=True)
class Item:
    """One object to apply and the component it belongs to."""

    component: str
    obj: dict[str, Any]

    @property
    def ref(self) -> ObjectRef:
        return ref_of(self.obj)


@dataclass(frozen=True)
class Change:
    """What applying would do to one object."""

    action: Action
    component: str
    ref: ObjectRef
    fields: tuple[FieldChange, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def summary(self) -> str:
        counts = {a: len(self.of(a)) for a in ("create", "change", "unchanged", "prune")}
        return (
            f"{counts['create']} to create, {counts['change']} to change, "
            f"{counts['unchanged']} unchanged, {counts['prune']} to prune"
        )


def ordered_items(manifests: dict[str, list[dict[str, Any]]]) -> list[Item]:
    """Every rendered object in apply order: by kind rank, then component order, then render order."""
    items = [Item(component, obj) for component, objects in manifests.items() for obj in objects]
    return sorted(items, key=lambda i: KIND_RANK.get(i.obj["kind"], LAST_RANK))  # sorted() is stable


def generated_secret_object(secret: GeneratedSecret, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    """The Secret manifest for a generated secret, without its values (for refs, plans and ownership)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret.name, "namespace": namespace, "labels": labels},
        "type": "Opaque",
    }


def is_ours(obj: dict[str, Any], instance: str) -> bool:
    """Managed by this instance: our labels, or applied by our field manager (objects rendered without labels)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/managed-by") == MANAGED_BY:
        return labels.get("app.kubernetes.io/instance") == instance
    return applied_by_us(obj)


def applied_by_us(obj: dict[str, Any]) -> bool:
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return any(e.get("manager") == FIELD_MANAGER and e.get("operation") == "Apply" for e in entries)


def select_prunable(
    live: Iterable[dict[str, Any]], rendered: set[ObjectRef], keep: set[ObjectRef], instance: str
) -> list[dict[str, Any]]:
    """Objects we applied earlier (our labels AND our field manager) that are no longer rendered.

    Never prunes what `keep` names (generated Secrets) or PersistentVolumeClaims (data; destroy
    --delete-data removes those), nor objects created by controllers from our templates.
    """
    out = []
    for obj in live:
        ref = ref_of(obj)
        if ref in rendered or ref in keep or ref.kind == "PersistentVolumeClaim":
            continue
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if is_ours(obj, instance) and applied_by_us(obj):
            out.append(obj)
    return sorted(out, key=lambda o: (-KIND_RANK.get(o["kind"], LAST_RANK), ref_of(o)))


def list_ours(client: ClusterClient, version: KubeVersion, selector: str, namespace: str) -> list[dict[str, Any]]:
    """Every object carrying our instance labels, across the kinds this tool applies."""
    found: list[dict[str, Any]] = []
    for kind in SCANNED_KINDS:
        api = api_version(kind, version)
        info = client.resource(api, kind)
        if info is None:
            continue
        for obj in client.list(api, kind, namespace=namespace if info.namespaced else None, label_selector=selector):
            obj.setdefault("apiVersion", api)
            obj.setdefault("kind", kind)
            found.append(obj)
    return found


def plan_changes(
    client: ClusterClient,
    items: list[Item],
    generated: list[Item],
    prunable: list[dict[str, Any]],
    *,
    force: bool = False,
) -> Plan:
    """Dry-run every object against the server and classify it; generated Secrets are created once."""
    missing_namespaces = _namespaces_to_create(client, items)
    changes: list[Change] = []
    for item in items:
        changes.append(_plan_one(client, item, missing_namespaces, force))
        if item.obj["kind"] == "Namespace":
            for gen in generated:
                if gen.ref.namespace == item.ref.name:
                    changes.append(_plan_generated(client, gen, missing_namespaces))
    planned = {c.ref for c in changes}
    for gen in generated:
        if gen.ref not in planned:
            changes.append(_plan_generated(client, gen, missing_namespaces))
    changes += [Change("prune", _component(o), ref_of(o)) for o in prunable]
    return Plan(tuple(changes))


def _namespaces_to_create(client: ClusterClient, items: list[Item]) -> set[str]:
    namespaces = {i.ref.namespace for i in items if i.ref.namespace} | {
        i.ref.name for i in items if i.obj["kind"] == "Namespace"
    }
    return {ns for ns in namespaces if client.get(ObjectRef("v1", "Namespace", ns)) is None}


def _plan_one(client: ClusterClient, item: Item, missing_namespaces: set[str], force: bool) -> Change:
    ref = item.ref
    if ref.namespace in missing_namespaces:
        # The server rejects even a dry run into a namespace that does not exist yet, so validate the
        # object in 'default' (schema, defaults, admission) and report it as a creation.
        probe = {**item.obj, "metadata": {**item.obj["metadata"], "namespace": "default"}}
        if client.get(ref_of(probe)) is None:
            client.create(probe, dry_run=True)
            return Change("create", item.component, ref, note="validated by the server in namespace default")
        return Change("create", item.component, ref, note=f"namespace {ref.namespace} is created first")
    live = client.get(ref)
    result = client.apply(item.obj, dry_run=True, force=force)
    if live is None:
        return Change("create", item.component, ref)
    fields = diff_objects(live, result)
    return Change("change" if fields else "unchanged", item.component, ref, tuple(fields))


def _plan_generated(client: ClusterClient, gen: Item, missing_namespaces: set[str]) -> Change:
    if gen.ref.namespace not in missing_namespaces and client.get(gen.ref) is not None:
        return Change("unchanged", gen.component, gen.ref, note="generated once; existing values are kept")
    return Change("create", gen.component, gen.ref, note="generated with random values")


def _component(obj: dict[str, Any]) -> str:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/component") or labels.get("app.kubernetes.io/name") or "-"
