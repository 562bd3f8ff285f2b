"""The demo's Supervisor stops every child and grandchild, in any order of events, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from observability.demo.supervisor import Supervisor


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as gone: it holds no resources and only waits for its parent to reap it
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def grandchild_pid(log) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = log.read_text()
        if text.strip():
            return int(text.split()[0])
        time.sleep(0.05)
    raise AssertionError("the child did not report its grandchild")


def test_stop_all_ends_children_and_their_children(tmp_path):
    supervisor = Supervisor(grace=2)
    log = tmp_path / "child.log"
    # the child starts a grandchild that ignores SIGTERM, prints its pid, then waits
    script = "trap '' TERM; sleep 300 & echo $!; wait"
    child = supervisor.spawn("shell", ["sh", "-c", script], log)
    grandchild = grandchild_pid(log)
    assert alive(child.process.pid) and alive(grandchild)
    assert child.own_group
    started = time.monotonic()
    supervisor.stop_all()
    assert time.monotonic() - started < 10
    assert child.process.poll() is not None
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_stop_all_runs_cleanups_once_in_reverse_order_and_reports_exited_children(tmp_path):
    supervisor = Supervisor(grace=2)
    calls: list[str] = []
    supervisor.on_stop("first", lambda: calls.append("first"))
    supervisor.on_stop("second", lambda: calls.append("second"))
    supervisor.on_stop("broken", lambda: 1 / 0)  # one failing cleanup must not stop the others
    quick = supervisor.spawn("quick", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "q.log")
    quick.process.wait(timeout=10)
    assert [c.name for c in supervisor.exited()] == ["quick"]
    supervisor.stop_all()
    supervisor.stop_all()
    assert calls == ["second", "first"]


def test_adopted_child_without_its_own_group_is_stopped(tmp_path):
    supervisor = Supervisor(grace=2)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    child = supervisor.adopt("adopted", process)
    assert not child.own_group
    supervisor.stop_all()
    assert process.poll() == -signal.SIGTERM
