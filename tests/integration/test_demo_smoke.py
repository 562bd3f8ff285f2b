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
from collections.abc import Callable
from pathlib import Path

import pytest

from observability.local.filebeat import filebeat_available

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


REPO = Path(__file__).resolve().parents[2]


def start_demo(tmp_path: Path | None, *args: str, cwd: Path | None = None,
               argv0: tuple[str, ...] = (sys.executable, "-m", "observability")) -> tuple[subprocess.Popen[str], str]:
    """The demo as a child process; with tmp_path None it runs with its default --workdir (.demo in cwd)."""
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker}
    env.pop("ES_URL", None)
    env.pop("COLUMNS", None)  # no terminal and no width: what `make demo | tee log` or a CI log gets
    workdir = () if tmp_path is None else ("--workdir", str(tmp_path / "demo"))
    proc = subprocess.Popen(
        [*argv0, "demo", *workdir, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
        start_new_session=True,  # its own process group, like a shell job: Ctrl-C goes to the whole group
    )
    return proc, marker


def assert_nothing_left(marker: str) -> None:
    deadline = time.monotonic() + 5
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marked_processes(marker) == []


def run_smoke(proc: subprocess.Popen[str], marker: str) -> str:
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
    shipper = "real Filebeat" if filebeat_available() else "Filebeat stand-in"
    assert any(line.split()[:2] == ["log", "shipper"] and shipper in line for line in output.splitlines()), shipper
    assert "Traceback" not in output, output[-4000:]
    assert_nothing_left(marker)
    return output


@pytest.mark.timeout(420)
def test_smoke_as_the_readme_says_from_the_project_root():
    """`obs demo --smoke` typed in the project root: the default, relative --workdir .demo."""
    obs = Path(sys.executable).parent / "obs"
    proc, marker = start_demo(None, "--smoke", "--timeout", "180", cwd=REPO, argv0=(str(obs),))
    output = run_smoke(proc, marker)
    assert f"kept in {REPO / '.demo'}/" in output, output[-2000:]
    assert (REPO / ".demo" / "alertmanager" / "alertmanager.yml").is_file()
    # the printed search command stays on one line, however long the path (no 80-column wrapping)
    search = f"obs logs search --level error --store {REPO / '.demo' / 'logs.sqlite'}"
    assert any(line.rstrip().endswith(search) for line in output.splitlines()), output[-2000:]


@pytest.mark.timeout(420)
def test_smoke_from_a_fresh_git_clone(tmp_path):
    """A new user's checkout: nothing but what git tracks, the demo started from its root with the defaults."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, capture_output=True, timeout=120)
    proc, marker = start_demo(None, "--smoke", "--timeout", "180", cwd=clone)
    output = run_smoke(proc, marker)
    assert f"kept in {clone / '.demo'}/" in output, output[-2000:]


def read_until(proc: subprocess.Popen[str], done: Callable[[str], bool], timeout: float, what: str) -> list[str]:
    """The demo's output lines up to and including the first for which `done` is true; fails naming `what`."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if done(line):
            return seen
    raise AssertionError(f"{what}:\n" + "".join(seen)[-3000:])


def wait_until_running(proc: subprocess.Popen[str], timeout: float = 120.0) -> str:
    """Read the demo's output until the last part (traffic) has started."""
    lines = read_until(proc, lambda line: "traffic" in line and "req/s" in line, timeout,
                       "the demo did not finish starting")
    return "".join(lines)


def wait_for_status_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """Without a terminal the live summary is a plain line every few seconds: read until one arrives."""
    lines = read_until(
        proc,
        lambda line: line.startswith("running for ") and "; traffic " in line and "; processed " in line,
        timeout,
        "no plain status line without a terminal",
    )
    return lines[-1]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("how", "sig"), [("ctrl-c to the terminal's group", signal.SIGINT),
                                          ("ctrl-c twice", signal.SIGINT),
                                          ("SIGTERM to the demo", signal.SIGTERM)])
def test_stopping_the_live_demo_stops_every_process(tmp_path, how, sig):
    proc, marker = start_demo(tmp_path)
    try:
        started = wait_until_running(proc)
        assert "Traceback" not in started, started
        wait_for_status_line(proc)
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
