"""I/O layer, Kubernetes: checks before any change, each failure one line saying what is missing and the fix.

Reachability and the version range are checked first (everything else needs them), then RBAC for every
(verb, group, resource, namespace) the command is about to use (SelfSubjectAccessReview), storage
classes named by the rendered volumes, and objects that exist but belong to someone else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from observability.apply.cluster.client import ClusterClient, ObjectRef
from observability.apply.cluster.plan import Item, is_ours
from observability.errors import ClusterError, RenderError
from observability.render.kube import MAX_SUPPORTED, MIN_SUPPORTED, KubeVersion, parse_kube_version

VERBS = {
    "plan": ("get", "list", "patch"),
    "apply": ("get", "list", "patch", "create"),
    "prune": ("delete",),
    "destroy": ("get", "list", "delete"),
    "status": ("get", "list"),
}
# What status and wait read besides the applied kinds (group, resource).
OBSERVED = (("", "pods"), ("", "events"))


@dataclass
class PreflightReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_if_failed(self) -> None:
        if self.problems:
            count = len(self.problems)
            raise ClusterError(
                f"preflight found {count} problem{'s' if count != 1 else ''}:\n"
                + "\n".join(f"  - {p}" for p in self.problems)
            )


def check_server_version(git_version: str) -> KubeVersion:
    """The server's version, or a ClusterError when it is outside the supported range."""
    try:
        return parse_kube_version(git_version)
    except RenderError as e:
        raise ClusterError(
            f"the cluster runs Kubernetes {git_version}: {e.message}",
            hint="point --kubeconfig/--context at a cluster running Kubernetes "
            f"{'.'.join(map(str, MIN_SUPPORTED))} to {'.'.join(map(str, MAX_SUPPORTED))}",
        ) from None


def check_access(
    client: ClusterClient, items: Iterable[Item], verbs: Iterable[str], namespace: str, observe: bool = False
) -> list[str]:
    """One problem line per (verb, resource) the current credentials may not use."""
    wanted: dict[tuple[str, str, str, str | None], None] = {}
    problems: list[str] = []
    verbs = tuple(verbs)
    seen_kinds: set[tuple[str, str]] = set()
    for item in items:
        ref = item.ref
        if (ref.api_version, ref.kind) in seen_kinds:
            continue
        seen_kinds.add((ref.api_version, ref.kind))
        info = client.resource(ref.api_version, ref.kind)
        if info is None:
            problems.append(
                f"the server does not serve {ref.kind} {ref.api_version}; "
                "fix: upgrade the cluster or set cluster.kube_version to the server's version"
            )
            continue
        for verb in verbs:
            wanted[(verb, ref.group, info.plural, namespace if info.namespaced else None)] = None
    if observe:
        for group, resource in OBSERVED:
            wanted[("list", group, resource, namespace)] = None
    for verb, group, resource, ns in wanted:
        if not client.can_i(verb, group, resource, ns):
            where = f"in namespace {ns}" if ns else "cluster-wide"
            full = f"{resource}.{group}" if group else resource
            problems.append(
                f"not allowed to {verb} {full} {where}; fix: grant it with a (Cluster)Role bound to your user, "
                f"e.g. `kubectl create clusterrole obs-{verb}-{resource} --verb={verb} --resource={full}`"
            )
    return problems


def check_storage_classes(client: ClusterClient, items: Iterable[Item]) -> tuple[list[str], list[str]]:
    """(problems, warnings): named classes must exist; unnamed volumes need a default class."""
    named, unnamed = set(), 0
    for item in items:
        for claim in _claims(item.obj):
            name = (claim.get("spec") or {}).get("storageClassName")
            if name:
                named.add(name)
            else:
                unnamed += 1
    if not named and not unnamed:
        return [], []
    try:
        classes = client.list("storage.k8s.io/v1", "StorageClass")
    except ClusterError as e:
        return [], [f"cannot list StorageClasses ({e.message}); volumes are not checked"]
    existing = {(c.get("metadata") or {}).get("name") for c in classes}
    problems = [
        f"StorageClass {name!r} does not exist (have: {', '.join(sorted(n for n in existing if n)) or 'none'}); "
        "fix: create it or set storage_class in stack.yaml to an existing one"
        for name in sorted(named - existing)
    ]
    warnings = []
    default = [c for c in classes if _is_default(c)]
    if unnamed and not default:
        warnings.append(
            f"{unnamed} volume claim(s) name no StorageClass and the cluster has no default one, so they will "
            "stay Pending; set cluster.storage_class in stack.yaml or mark a StorageClass as default"
        )
    return problems, warnings


def _claims(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj.get("kind") == "PersistentVolumeClaim":
        return [obj]
    if obj.get("kind") == "StatefulSet":
        return list((obj.get("spec") or {}).get("volumeClaimTemplates") or [])
    return []


def _is_default(storage_class: dict[str, Any]) -> bool:
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    )


def check_ownership(client: ClusterClient, items: Iterable[Item], instance: str) -> list[str]:
    """Objects that already exist but are not managed by this instance."""
    problems = []
    for item in items:
        live = client.get(item.ref)
        if live is not None and not is_ours(live, instance):
            problems.append(_conflict_line(item.ref, live))
    return problems


def _conflict_line(ref: ObjectRef, live: dict[str, Any]) -> str:
    labels = (live.get("metadata") or {}).get("labels") or {}
    owner = labels.get("app.kubernetes.io/managed-by")
    by = f"managed by {owner!r}" if owner else "not managed by obs"
    other = labels.get("app.kubernetes.io/instance")
    if owner == "observability" and other:
        by = f"owned by obs instance {other!r}"
    return (
        f"{ref} already exists and is {by}; fix: delete or rename it, change `name`/`cluster.namespace` in "
        "stack.yaml, or take it over with --force-conflicts"
    )


def run_preflight(
    client: ClusterClient,
    items: list[Item],
    *,
    command: str,
    namespace: str,
    instance: str,
    prune: bool = False,
    take_over: bool = False,
) -> PreflightReport:
    """All checks for `command` (plan/apply/destroy/status); version/reachability are checked by the caller."""
    report = PreflightReport()
    verbs = list(VERBS[command]) + (list(VERBS["prune"]) if prune else [])
    report.problems += check_access(client, items, verbs, namespace, observe=command in ("apply", "status"))
    if command in ("plan", "apply"):
        problems, warnings = check_storage_classes(client, items)
        report.problems += problems
        report.warnings += warnings
        conflicts = check_ownership(client, items, instance)
        if take_over:
            report.warnings += [f"taking over: {c.split('; fix:')[0]}" for c in conflicts]
        else:
            report.problems += conflicts
    return report
