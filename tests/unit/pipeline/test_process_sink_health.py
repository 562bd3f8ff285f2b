"""The processor's log says why the sink is down, once per change, and reminds at most once a minute."""

from __future__ import annotations

import logging

import pytest

from observability.pipeline.sink_health import SinkHealthLog


def test_down_up_changes_are_logged_with_the_reason_and_reminders_are_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    health = SinkHealthLog(logging.getLogger("test.sink"), repeat_every=60, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="test.sink")
    health.observe(True, "", "")
    assert caplog.messages == []  # up and staying up is not news
    for _ in range(50):  # 50 failed flushes within 30 s: one line
        now[0] += 0.6
        health.observe(False, "unauthorized", "AuthenticationException(401, 'security_exception')")
    assert caplog.messages == [
        "sink down (unauthorized): AuthenticationException(401, 'security_exception'); "
        "events are kept and retried, consumption pauses"
    ]
    now[0] += 31  # 60.4 s after the first line
    health.observe(False, "http_413", "ApiError(413)")
    now[0] += 10
    health.observe(False, "http_413", "ApiError(413)")
    assert caplog.messages[1:] == ["sink still down after 60 s (http_413): ApiError(413)"]
    assert health.down
    now[0] += 9
    health.observe(True, "", "")
    assert caplog.messages[2:] == ["sink up again after 79 s down"] and not health.down
