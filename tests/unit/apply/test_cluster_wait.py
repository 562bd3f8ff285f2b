"""Unit: readiness evaluation with reasons, and the wait/timeout loop (apply/cluster/wait.py)."""

from __future__ import annotations

from observability.apply.cluster.client import ObjectRef
from observability.apply.cluster.wait import (
    ComponentHealth,
    WorkloadHealth,
    evaluate_workload,
    recent_warnings,
    wait_until_ready,
)

DEPLOY = ObjectRef("apps/v1", "Deployment", "proc", "mon")
STS = ObjectRef("apps/v1", "StatefulSet", "kafka", "mon")
DS = ObjectRef("apps/v1", "DaemonSet", "filebeat", "mon")


def workload(replicas: int, generation: int = 2, **status: int) -> dict:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": 2, **status},
    }


def pod(name: str, phase: str = "Pending", node: str | None = None, **status: object) -> dict:
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": phase, **status}}


def test_deployment_ready_when_all_replicas_updated_and_available() -> None:
    h = evaluate_workload(DEPLOY, workload(2, readyReplicas=2, updatedReplicas=2, availableReplicas=2), [], 3)
    assert h.ok and (h.desired, h.ready) == (2, 2) and h.reasons == ()


def test_pending_pods_without_nodes_say_so() -> None:
    pods = [pod("kafka-0"), pod("kafka-1"), pod("kafka-2")]
    h = evaluate_workload(STS, workload(3), pods, 0)
    assert not h.ok
    assert (
        h.line()
        == "StatefulSet mon/kafka 0/3 ready: 3 pending pods: no nodes: the cluster has no nodes to schedule them on"
    )


def test_unschedulable_pods_quote_the_scheduler() -> None:
    cond = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
    }
    h = evaluate_workload(DEPLOY, workload(1), [pod("proc-1", conditions=[cond])], 3)
    assert h.reasons == ("1 pending pod: unschedulable: 0/3 nodes are available: 3 Insufficient memory.",)


def test_unscheduled_without_condition_hints_at_scheduler() -> None:
    h = evaluate_workload(DEPLOY, workload(1), [pod("proc-1")], None)
    assert h.reasons == ("1 pending pod: not scheduled yet (is a scheduler running and are nodes Ready?)",)


def test_failing_probes_and_crash_loops_are_named() -> None:
    running = pod(
        "proc-a",
        "Running",
        "n1",
        containerStatuses=[{"name": "app", "ready": False, "restartCount": 4, "state": {"running": {}}}],
    )
    crashing = pod(
        "proc-b",
        "Running",
        "n1",
        containerStatuses=[
            {
                "name": "app",
                "ready": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m"}},
            }
        ],
    )
    pulling = pod(
        "proc-c",
        "Pending",
        "n1",
        containerStatuses=[{"name": "app", "ready": False, "state": {"waiting": {"reason": "ImagePullBackOff"}}}],
    )
    h = evaluate_workload(DEPLOY, workload(3, readyReplicas=0), [running, crashing, pulling], 2)
    assert h.reasons == (
        "pod proc-a container app running but not ready: readiness probe failing (restarts: 4)",
        "pod proc-b container app: CrashLoopBackOff back-off 5m",
        "pod proc-c container app: ImagePullBackOff",
    )


def test_no_pods_and_stale_generation() -> None:
    h = evaluate_workload(DEPLOY, workload(2, generation=3), [], 1)
    assert h.reasons == (
        "no pods created yet (see the warning events of its controller)",
        "the controller has not processed the latest spec yet",
    )


def test_missing_workload_and_daemonset_without_nodes() -> None:
    assert evaluate_workload(DEPLOY, None, [], 1).reasons == ("not found: run `obs apply`",)
    ds = {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 0}}
    h = evaluate_workload(DS, ds, [], 0)
    assert not h.ok and h.reasons == ("no nodes: the cluster has no nodes to run it on",)
    assert evaluate_workload(DS, ds, [], 2).ok  # nodes exist but none selected: nothing to wait for


def test_recent_warnings_only_for_our_objects_newest_first() -> None:
    def ev(name: str, reason: str, when: str, type_: str = "Warning") -> dict:
        return {
            "type": type_,
            "reason": reason,
            "message": f"{reason} msg",
            "lastTimestamp": when,
            "involvedObject": {"kind": "Pod", "name": name},
        }

    events = [
        ev("proc-abc-1", "FailedScheduling", "2024-01-01T00:00:01Z"),
        ev("proc", "Old", "2024-01-01T00:00:00Z"),
        ev("procurement-1", "NotOurs", "2024-01-01T00:00:05Z"),
        ev("proc-x", "Fine", "2024-01-01T00:00:09Z", "Normal"),
    ]
    assert recent_warnings(events, ["proc"]) == (
        "Pod proc-abc-1: FailedScheduling: FailedScheduling msg",
        "Pod proc: Old: Old msg",
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _health(component: str, ok: bool) -> ComponentHealth:
    return ComponentHealth(
        component, (WorkloadHealth(DEPLOY, 1, int(ok), ok, () if ok else ("1 pending pod: no nodes",)),)
    )


def test_wait_returns_when_everything_is_ready() -> None:
    clock, polls = Clock(), []

    def probe(component: str) -> ComponentHealth:
        polls.append(component)
        return _health(component, component == "a" or clock.now >= 4)

    result = wait_until_ready(probe, ["a", "b"], 30, interval=2, clock=clock, sleep=clock.sleep)
    assert [h.component for h in result.ready] == ["a", "b"] and result.not_ready == ()
    assert polls == ["a", "b", "b", "b"] and clock.sleeps == [2, 2]


def test_wait_times_out_naming_component_and_reason() -> None:
    clock, updates = Clock(), []
    result = wait_until_ready(
        lambda c: _health(c, c == "a"),
        ["a", "kafka"],
        5,
        interval=2,
        on_update=updates.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [h.component for h in result.not_ready] == ["kafka"] and clock.now == 5
    assert clock.sleeps == [2, 2, 1]  # never sleeps past the deadline
    assert result.timeout_message(5) == (
        "not ready after 5s:\n  kafka not ready: Deployment mon/proc 0/1 ready: 1 pending pod: no nodes"
    )
    assert len(updates) == 1 + 4
