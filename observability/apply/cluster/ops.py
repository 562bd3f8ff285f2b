"""I/O layer, Kubernetes: `plan`, `apply`, `status` and `destroy` of one stack instance, over a ClusterClient.

A Target bundles what every command needs from the render (objects in apply order, the generated
Secrets, the instance's label selector). Progress is reported through callbacks so the CLI decides how
to show it; nothing here prints.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from observability.apply.cluster.client import ClusterClient, ObjectRef, ref_of
from observability.apply.cluster.diff import diff_objects
from observability.apply.cluster.plan import (
    KIND_RANK,
    LAST_RANK,
    WORKLOAD_KINDS,
    Change,
    Item,
    Plan,
    generated_secret_object,
    is_ours,
    list_ours,
    ordered_items,
    plan_changes,
    select_prunable,
)
from observability.apply.cluster.wait import ComponentHealth, evaluate_workload, recent_warnings
from observability.errors import ClusterError
from observability.render import RenderedStack
from observability.render.kube import KubeVersion
from observability.render.names import generated_secrets, instance_selector, labels
from observability.spec import Stack

GENERATED_COMPONENT = "credentials"


@dataclass(frozen=True)
class Target:
    """One stack instance as rendered for one cluster."""

    instance: str
    namespace: str
    version: KubeVersion
    items: tuple[Item, ...]
    generated: tuple[Item, ...]
    selector: str

    @property
    def components(self) -> list[str]:
        return list(dict.fromkeys(i.component for i in self.items))

    def workloads(self, component: str) -> list[Item]:
        return [i for i in self.items if i.component == component and i.obj["kind"] in WORKLOAD_KINDS]


def build_target(stack: Stack, rendered: RenderedStack) -> Target:
    namespace = stack.cluster.namespace
    generated = tuple(
        Item(
            GENERATED_COMPONENT,
            generated_secret_object(s, namespace, labels(stack, s.name.removeprefix(f"{stack.name}-"))),
        )
        for s in generated_secrets(stack)
    )
    return Target(
        instance=stack.name,
        namespace=namespace,
        version=rendered.kube_version,
        items=tuple(ordered_items(rendered.manifests)),
        generated=generated,
        selector=instance_selector(stack),
    )


def find_prunable(client: ClusterClient, target: Target) -> list[dict[str, Any]]:
    live = list_ours(client, target.version, target.selector, target.namespace)
    rendered = {i.ref for i in target.items}
    keep = {g.ref for g in target.generated}
    return select_prunable(live, rendered, keep, target.instance)


def orphaned_claims(client: ClusterClient, target: Target) -> list[ObjectRef]:
    """Our volume claims that nothing renders any more: prune keeps them (data), so the user is told.

    Claims a rendered StatefulSet made from its volumeClaimTemplates (`<template>-<statefulset>-<ordinal>`)
    are still in use.
    """
    rendered = {i.ref for i in target.items}
    in_use = [
        re.compile(re.escape(f"{(t.get('metadata') or {}).get('name')}-{i.ref.name}-") + r"[0-9]+$")
        for i in target.items
        if i.obj["kind"] == "StatefulSet"
        for t in (i.obj.get("spec") or {}).get("volumeClaimTemplates") or []
    ]
    claims = client.list("v1", "PersistentVolumeClaim", namespace=target.namespace, label_selector=target.selector)
    return sorted(
        ref_of(c)
        for c in claims
        if ref_of(c) not in rendered
        and is_ours(c, target.instance)
        and not any(p.match(ref_of(c).name) for p in in_use)
    )


def compute_plan(client: ClusterClient, target: Target, *, prune: bool, force: bool = False) -> Plan:
    prunable = find_prunable(client, target) if prune else []
    return plan_changes(client, list(target.items), list(target.generated), prunable, force=force)


def create_generated(client: ClusterClient, gen: Item, values: dict[str, str]) -> Change:
    """Create a generated Secret once; an existing one is never touched (its values are in use)."""
    if client.get(gen.ref) is not None:
        return Change("unchanged", gen.component, gen.ref, note="generated once; existing values kept")
    try:
        client.create({**gen.obj, "stringData": values})
    except ClusterError as e:
        if e.status == 409:  # created concurrently by another apply: theirs wins, ours is discarded
            return Change("unchanged", gen.component, gen.ref, note="created concurrently; kept")
        raise
    return Change("create", gen.component, gen.ref, note="generated with random values")


def generated_values(stack: Stack) -> dict[str, dict[str, str]]:
    """Secret name → fresh random values (fixed keys such as usernames as given by the render contract)."""
    out = {}
    for s in generated_secrets(stack):
        values = dict(s.fixed)
        values.update({key: secrets.token_urlsafe(24) for key in s.keys})
        out[s.name] = values
    return out


def apply_target(
    client: ClusterClient,
    target: Target,
    values: dict[str, dict[str, str]],
    *,
    force: bool = False,
    prune: bool = False,
    on_change: Callable[[Change], None] = lambda _c: None,
) -> list[Change]:
    """Server-side apply every object in order, create generated Secrets before workloads, then prune."""
    changes: list[Change] = []

    def record(change: Change) -> None:
        changes.append(change)
        on_change(change)

    pending_generated = list(target.generated)
    for item in target.items:
        if pending_generated and KIND_RANK.get(item.obj["kind"], LAST_RANK) > KIND_RANK["Secret"]:
            for gen in pending_generated:
                record(create_generated(client, gen, values.get(gen.ref.name, {})))
            pending_generated = []
        live = client.get(item.ref)
        result = client.apply(item.obj, force=force)
        if live is None:
            record(Change("create", item.component, item.ref))
        else:
            fields = diff_objects(live, result)
            record(Change("change" if fields else "unchanged", item.component, item.ref, tuple(fields)))
    for gen in pending_generated:
        record(create_generated(client, gen, values.get(gen.ref.name, {})))
    if prune:
        for obj in find_prunable(client, target):
            client.delete(ref_of(obj))
            record(
                Change(
                    "prune", (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/component", "-"), ref_of(obj)
                )
            )
    return changes


def count_nodes(client: ClusterClient) -> int | None:
    """Nodes in the cluster, or None when we may not list them (diagnostics only)."""
    try:
        return len(client.list("v1", "Node"))
    except ClusterError:
        return None


class HealthProbe:
    """Reads the live state of one component: workloads, their pods, services and warning events."""

    def __init__(self, client: ClusterClient, target: Target) -> None:
        self.client = client
        self.target = target
        self.node_count = count_nodes(client)

    def __call__(self, component: str) -> ComponentHealth:
        client, target = self.client, self.target
        events = self._events()
        workloads, version, names = [], None, []
        for item in target.workloads(component):
            live = client.get(item.ref)
            pods = self._pods(live) if live is not None else []
            workloads.append(evaluate_workload(item.ref, live, pods, self.node_count))
            names.append(item.ref.name)
            version = version or _version(live)
        endpoints = []
        for item in target.items:
            if item.component == component and item.obj["kind"] == "Service":
                endpoints += _endpoints(client.get(item.ref) or item.obj, item.ref)
        return ComponentHealth(component, tuple(workloads), version, tuple(endpoints), recent_warnings(events, names))

    def _events(self) -> list[dict[str, Any]]:
        try:
            return self.client.list("v1", "Event", namespace=self.target.namespace)
        except ClusterError:
            return []

    def _pods(self, live: dict[str, Any]) -> list[dict[str, Any]]:
        match = ((live.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not match:
            return []
        selector = ",".join(f"{k}={v}" for k, v in sorted(match.items()))
        return self.client.list("v1", "Pod", namespace=self.target.namespace, label_selector=selector)


def _version(live: dict[str, Any] | None) -> str | None:
    if live is None:
        return None
    label = ((live.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/version")
    if label:
        return str(label)
    containers = ((((live.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    image = containers[0].get("image", "") if containers else ""
    tail = image.rsplit("/", 1)[-1]
    return tail.split(":", 1)[1] if ":" in tail else None


def _endpoints(service: dict[str, Any], ref: ObjectRef) -> list[str]:
    spec = service.get("spec") or {}
    out = [f"{ref.name}.{ref.namespace}.svc:{p.get('port')}" for p in spec.get("ports") or []]
    for ingress in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        host = ingress.get("hostname") or ingress.get("ip")
        out += [f"{host}:{p.get('port')}" for p in spec.get("ports") or [] if host]
    return out


@dataclass(frozen=True)
class DestroySet:
    delete: tuple[dict[str, Any], ...]
    kept: tuple[str, ...]
    """Why something of ours stays (PVCs and what protects them), one line each."""


def select_destroy(client: ClusterClient, target: Target, *, delete_data: bool) -> DestroySet:
    """Everything of this instance (rendered now or labelled from earlier applies), in reverse apply order."""
    found: dict[ObjectRef, dict[str, Any]] = {}
    for obj in list_ours(client, target.version, target.selector, target.namespace):
        if is_ours(obj, target.instance) and not (obj.get("metadata") or {}).get("deletionTimestamp"):
            found[ref_of(obj)] = obj
    for item in (*target.items, *target.generated):
        if item.ref not in found:
            live = client.get(item.ref)
            if live is not None and is_ours(live, target.instance):
                found[item.ref] = live
    kept: list[str] = []
    claims = [r for r in found if r.kind == "PersistentVolumeClaim"]
    if claims and not delete_data:
        for ref in claims:
            del found[ref]
        kept.append(f"kept {len(claims)} PersistentVolumeClaim(s) with data; use --delete-data to delete them")
        generated = {g.ref for g in target.generated}
        for ref in [r for r in found if r in generated or (r.kind == "Namespace" and r.name == target.namespace)]:
            del found[ref]
            kept.append(f"kept {ref}: it holds the kept volume claims or the credentials their data was created with")
    ordered = sorted(found.values(), key=lambda o: (-KIND_RANK.get(o["kind"], LAST_RANK), ref_of(o)))
    return DestroySet(tuple(ordered), tuple(kept))


def destroy_objects(
    client: ClusterClient,
    doomed: DestroySet,
    target: Target,
    *,
    timeout: float,
    on_delete: Callable[[ObjectRef, bool], None] = lambda _r, _d: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Delete in order, then wait until they (and pods made from our templates) are gone; returns leftovers."""
    refs = [ref_of(o) for o in doomed.delete]
    for ref in refs:
        on_delete(ref, client.delete(ref))
    deadline = clock() + timeout
    while True:
        left = [str(r) for r in refs if client.get(r) is not None]
        pods = client.list(
            "v1", "Pod", namespace=target.namespace, label_selector=f"app.kubernetes.io/instance={target.instance}"
        )
        left += [f"Pod {target.namespace}/{p['metadata']['name']}" for p in pods]
        if not left or clock() >= deadline:
            return left
        sleep(1.0)
