"""Demo layer (I/O): start child processes in their own process groups and stop every one of them.

The demo runs several programs (the Go service, `obs process`, Prometheus, Alertmanager). Whatever ends the
demo — Ctrl-C, SIGTERM, SIGHUP (terminal closed), an exception, a normal return — every child and its own
children must go. So each child gets its own process group (`start_new_session`), which `stop_all()` signals
as a whole: SIGTERM, a grace period, then SIGKILL. `stop_all()` is idempotent and also registered with
atexit; `install_signal_handlers()` turns SIGTERM/SIGHUP into the same clean exit path as Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from observability.errors import ObservabilityError


class DemoStopped(ObservabilityError):
    """The demo was asked to stop by a signal (SIGTERM/SIGHUP)."""

    exit_code = 130


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None
    own_group: bool
    """True when the child leads its own process group (signals go to the whole group)."""


class Supervisor:
    """Owns the demo's children and cleanups; `stop_all()` ends them in reverse start order, so each part
    stops while what it talks to is still there (traffic before the service, the processor before Kafka)."""

    def __init__(self, grace: float = 8.0) -> None:
        self.grace = grace
        self.children: list[Child] = []
        self._entries: list[Child | tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop_all)

    def spawn(self, name: str, argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> Child:
        """Start `argv` in a new session (its own process group), output appended to `log_path`."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True,
            )
        return self.adopt(name, process, log_path)

    def adopt(self, name: str, process: subprocess.Popen[bytes], log_path: Path | None = None) -> Child:
        """Take over a child started elsewhere (e.g. by observability.local) so it is stopped with the rest."""
        try:
            own_group = os.getpgid(process.pid) == process.pid
        except ProcessLookupError:
            own_group = False
        child = Child(name, process, log_path, own_group)
        with self._lock:
            self.children.append(child)
            self._entries.append(child)
        return child

    def on_stop(self, name: str, cleanup: Callable[[], None]) -> None:
        """Run `cleanup` during stop_all (threads, servers), at its place in reverse start order."""
        with self._lock:
            self._entries.append((name, cleanup))

    def exited(self) -> list[Child]:
        """Children that are no longer running (the demo reports them instead of pretending all is well)."""
        return [c for c in self.children if c.process.poll() is not None]

    def stop_all(self) -> None:
        """Stop everything in reverse start order: a cleanup is called, a child gets SIGTERM (its whole
        group), `grace` seconds, then SIGKILL. Safe to call twice; a failing cleanup does not stop the rest."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            entries = list(self._entries)
        # A second Ctrl-C while stopping must not abandon the children not yet stopped.
        with _signals_ignored():
            for entry in reversed(entries):
                if isinstance(entry, Child):
                    _stop_child(entry, self.grace)
                else:
                    with contextlib.suppress(Exception):
                        entry[1]()


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stopping}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_child(child: Child, grace: float) -> None:
    _signal(child, signal.SIGTERM)
    try:
        child.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal(child, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=5)
    if child.own_group:
        # The leader is gone; SIGKILL whatever it left in its group (a grandchild ignoring SIGTERM). Linux
        # does not hand out a pid while a process group with that id has members, so this hits only them.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signal.SIGKILL)


def _signal(child: Child, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # Only while the leader is unreaped: after that its pid (= the group id) may belong to someone else.
        if child.process.poll() is not None:
            return
        if child.own_group:
            os.killpg(child.process.pid, sig)
        else:
            child.process.send_signal(sig)


class StopRequest:
    """Ctrl-C, SIGTERM and SIGHUP, delivered at safe points (`check`, `sleep`) instead of in the handler.

    An exception raised straight from a signal handler lands on whatever bytecode runs; inside a library's
    `Thread.start()` CPython then prints a KeyError traceback from the half-started thread. Waits here wake
    at once when a stop arrives, so stopping stays prompt.
    """

    def __init__(self) -> None:
        self._requested = threading.Event()
        self._signum = signal.SIGINT

    def request(self, signum: int, _frame: FrameType | None) -> None:
        if not self._requested.is_set():
            self._signum = signal.Signals(signum)
            self._requested.set()

    def check(self) -> None:
        """Raise KeyboardInterrupt for Ctrl-C, DemoStopped for SIGTERM/SIGHUP, if a stop was requested."""
        if not self._requested.is_set():
            return
        if self._signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise DemoStopped(f"stopped by {self._signum.name}")

    def sleep(self, seconds: float) -> None:
        self._requested.wait(seconds)
        self.check()


def install_signal_handlers() -> StopRequest:
    """Ctrl-C, SIGTERM and SIGHUP end the demo the same way: unwind, run `finally`, stop every child."""
    stop = StopRequest()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop.request)
    return stop
