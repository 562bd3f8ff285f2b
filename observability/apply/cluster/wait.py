"""I/O layer, Kubernetes: is a component ready, and if not, why — plus the wait-with-timeout loop.

The evaluation is pure (live workload + its pods + events + node count → health with reasons), so the
messages an operator sees on timeout ("3 pending pods: the cluster has no nodes") are unit-tested.
The loop takes its clock and sleep as parameters for the same reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from observability.apply.cluster.client import ObjectRef

_MAX_EVENTS = 5


@dataclass(frozen=True)
class WorkloadHealth:
    ref: ObjectRef
    desired: int
    ready: int
    ok: bool
    reasons: tuple[str, ...] = ()

    def line(self) -> str:
        head = f"{self.ref} {self.ready}/{self.desired} ready"
        return f"{head}: {'; '.join(self.reasons)}" if self.reasons else head


@dataclass(frozen=True)
class ComponentHealth:
    component: str
    workloads: tuple[WorkloadHealth, ...]
    version: str | None = None
    endpoints: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return all(w.ok for w in self.workloads)

    @property
    def desired(self) -> int:
        return sum(w.desired for w in self.workloads)

    @property
    def ready(self) -> int:
        return sum(w.ready for w in self.workloads)

    def why_not_ready(self) -> str:
        lines = [w.line() for w in self.workloads if not w.ok]
        if self.warnings:
            lines.append("recent warning events: " + " | ".join(self.warnings))
        return "; ".join(lines)


def evaluate_workload(
    ref: ObjectRef, live: dict[str, Any] | None, pods: list[dict[str, Any]], node_count: int | None
) -> WorkloadHealth:
    """Ready counts from the workload's status; reasons from its pods when it is not ready."""
    if live is None:
        return WorkloadHealth(ref, 0, 0, False, ("not found: run `obs apply`",))
    spec, status = live.get("spec") or {}, live.get("status") or {}
    observed = status.get("observedGeneration", 0) >= (live.get("metadata") or {}).get("generation", 0)
    if ref.kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled", 0))
        ready = int(status.get("numberReady", 0))
        ok = observed and ready >= desired and int(status.get("updatedNumberScheduled", 0)) >= desired
        if desired == 0 and node_count == 0:
            return WorkloadHealth(ref, 0, 0, False, ("no nodes: the cluster has no nodes to run it on",))
    else:
        desired = int(spec.get("replicas", 1))
        ready = int(status.get("readyReplicas", 0))
        updated = int(status.get("updatedReplicas", 0))
        available = int(status.get("availableReplicas", ready)) if ref.kind == "Deployment" else ready
        ok = observed and ready >= desired and updated >= desired and available >= desired
    if ok:
        return WorkloadHealth(ref, desired, ready, True)
    reasons = pod_reasons(pods, node_count)
    if not pods and desired > 0:
        reasons = ["no pods created yet (see the warning events of its controller)", *reasons]
    if not observed:
        reasons.append("the controller has not processed the latest spec yet")
    if not reasons:
        reasons.append("rollout in progress")
    return WorkloadHealth(ref, desired, ready, False, tuple(reasons))


def pod_reasons(pods: list[dict[str, Any]], node_count: int | None) -> list[str]:
    """Why the pods are not ready, grouped so 3 identical Pending pods give one line."""
    pending = [p for p in pods if (p.get("status") or {}).get("phase", "Pending") == "Pending"]
    reasons: list[str] = []
    unscheduled = [p for p in pending if not (p.get("spec") or {}).get("nodeName")]
    if unscheduled:
        n = len(unscheduled)
        why = _unschedulable_message(unscheduled)
        if node_count == 0:
            why = "no nodes: the cluster has no nodes to schedule them on"
        elif why is None:
            why = "not scheduled yet (is a scheduler running and are nodes Ready?)"
        reasons.append(f"{n} pending pod{'s' if n != 1 else ''}: {why}")
    for pod in pods:
        if any(pod is u for u in unscheduled):
            continue
        name = (pod.get("metadata") or {}).get("name", "?")
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if cs.get("ready"):
                continue
            state = cs.get("state") or {}
            waiting = state.get("waiting")
            if waiting is not None:
                msg = waiting.get("message") or ""
                reasons.append(
                    f"pod {name} container {cs.get('name')}: {waiting.get('reason', 'waiting')} {msg}".strip()
                )
            elif "running" in state:
                reasons.append(
                    f"pod {name} container {cs.get('name')} running but not ready: readiness probe failing "
                    f"(restarts: {cs.get('restartCount', 0)})"
                )
            elif terminated := state.get("terminated"):
                reasons.append(
                    f"pod {name} container {cs.get('name')} exited with code {terminated.get('exitCode')} "
                    f"({terminated.get('reason', 'Error')})"
                )
    return reasons


def _unschedulable_message(pods: list[dict[str, Any]]) -> str | None:
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return f"unschedulable: {cond.get('message') or cond.get('reason', 'no reason given')}"
    return None


def recent_warnings(events: Iterable[dict[str, Any]], names: Iterable[str]) -> tuple[str, ...]:
    """The newest Warning events about the given objects or anything they own (name-prefixed pods, ReplicaSets)."""
    prefixes = tuple(names)
    hits = []
    for ev in events:
        if ev.get("type") != "Warning":
            continue
        involved = ev.get("involvedObject") or {}
        name = involved.get("name", "")
        if not any(name == p or name.startswith(p + "-") for p in prefixes):
            continue
        when = ev.get("lastTimestamp") or ev.get("eventTime") or (ev.get("metadata") or {}).get("creationTimestamp")
        hits.append((when or "", f"{involved.get('kind')} {name}: {ev.get('reason')}: {ev.get('message', '').strip()}"))
    hits.sort(reverse=True)
    return tuple(dict.fromkeys(text for _, text in hits[:_MAX_EVENTS]))


@dataclass(frozen=True)
class WaitResult:
    ready: tuple[ComponentHealth, ...]
    not_ready: tuple[ComponentHealth, ...]
    elapsed: float

    def timeout_message(self, timeout: float) -> str:
        lines = [f"not ready after {timeout:g}s:"]
        lines += [f"  {h.component} not ready: {h.why_not_ready()}" for h in self.not_ready]
        return "\n".join(lines)


def wait_until_ready(
    probe: Callable[[str], ComponentHealth],
    components: list[str],
    timeout: float,
    *,
    interval: float = 2.0,
    on_update: Callable[[ComponentHealth], None] = lambda _h: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll every component until all are ready or each has waited `timeout` seconds (they wait in parallel)."""
    started = clock()
    pending = list(components)
    ready: list[ComponentHealth] = []
    last: dict[str, ComponentHealth] = {}
    while True:
        for component in list(pending):
            health = probe(component)
            last[component] = health
            on_update(health)
            if health.healthy:
                ready.append(health)
                pending.remove(component)
        elapsed = clock() - started
        if not pending or elapsed >= timeout:
            return WaitResult(tuple(ready), tuple(last[c] for c in pending), elapsed)
        sleep(min(interval, max(0.0, timeout - elapsed)))
