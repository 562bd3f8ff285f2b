"""`obs demo --smoke` end to end, and that the demo leaves no process behind however it ends.

Every process the demo starts inherits its environment, so a unique marker variable in that environment
finds all of them — including any that outlived the demo — by reading /proc/<pid>/environ.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

MARKER = "OBS_DEMO_TEST_MARKER"


def marked_processes(marker: str) -> list[str]:
    """'pid cmdline' of every live (non-zombie) process whose environment carries the marker."""
    found = []
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().split(") ")[1].startswith("Z"):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        found.append(f"{entry.name} {cmdline.strip()}")
    return found


def start_demo(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker, "COLUMNS": "200"}
    env.pop("ES_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "observability", "demo", "--workdir", str(tmp_path / "demo"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,  # its own process group, like a shell job: Ctrl-C goes to the whole group
    )
    return proc, marker


def assert_nothing_left(marker: str) -> None:
    deadline = time.monotonic() + 5
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marked_processes(marker) == []


@pytest.mark.timeout(420)
def test_smoke_passes_within_three_minutes_and_leaves_nothing_behind(tmp_path):
    proc, marker = start_demo(tmp_path, "--smoke", "--timeout", "180")
    try:
        output, _ = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, output[-4000:]
    for step in ("logs searchable with parsed fields", "alerts reached Alertmanager and the webhook",
                 "every dashboard query returns data", "smoke passed"):
        assert step in output, output[-4000:]
    assert "GoServiceHighErrorRate" in output and "GoServiceHighErrorLogRate" in output
    assert_nothing_left(marker)


def wait_until_running(proc: subprocess.Popen[str], timeout: float = 120.0) -> str:
    """Read the demo's output until the last part (traffic) has started."""
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "traffic" in line and "req/s" in line:
            return "".join(seen)
    raise AssertionError("the demo did not finish starting:\n" + "".join(seen)[-3000:])


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("how", "sig"), [("ctrl-c to the terminal's group", signal.SIGINT),
                                          ("ctrl-c twice", signal.SIGINT),
                                          ("SIGTERM to the demo", signal.SIGTERM)])
def test_stopping_the_live_demo_stops_every_process(tmp_path, how, sig):
    proc, marker = start_demo(tmp_path)
    try:
        wait_until_running(proc)
        running = marked_processes(marker)
        # the demo itself plus the Go service, processor, node-exporter (if installed), Alertmanager, Prometheus
        assert len(running) >= 5, running
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
            if how == "ctrl-c twice":
                time.sleep(0.5)  # an impatient second Ctrl-C while the demo is stopping its children
                os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            raise AssertionError(f"the demo did not stop within 60 s of {how}:\n{output[-3000:]}") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "stopped every demo process" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert_nothing_left(marker)
