"""Stop signals are recorded by the handler and raised at safe points, promptly."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from observability.demo.supervisor import DemoStopped, StopRequest


def test_nothing_happens_until_a_stop_is_requested() -> None:
    stop = StopRequest()
    stop.check()
    started = time.monotonic()
    stop.sleep(0.05)
    assert time.monotonic() - started >= 0.05


def test_sigterm_and_sighup_raise_demo_stopped_naming_the_signal() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        stop = StopRequest()
        stop.request(sig, None)
        with pytest.raises(DemoStopped, match=f"stopped by {sig.name}"):
            stop.check()


def test_ctrl_c_raises_keyboard_interrupt_and_the_first_signal_wins() -> None:
    stop = StopRequest()
    stop.request(signal.SIGINT, None)
    stop.request(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt):
        stop.check()


def test_a_wait_wakes_at_once_when_a_stop_arrives() -> None:
    stop = StopRequest()
    threading.Timer(0.1, stop.request, args=(signal.SIGTERM, None)).start()
    started = time.monotonic()
    with pytest.raises(DemoStopped):
        stop.sleep(30)
    assert time.monotonic() - started < 5
