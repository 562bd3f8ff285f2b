"""Pipeline layer: what the processor's log says about the sink going down and coming back.

Without it a wrong password, a 413 and a dead cluster all looked the same ("pausing consumption … sink
up=False") and the reason sat unread in the sink. Every up→down change is logged with the reason; while the
sink stays down the reason is repeated at most once per `repeat_every` seconds (a 30-minute outage must not
write a line per retry), and the recovery is logged with how long it lasted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SinkHealthLog:
    """Feed it `observe(up, reason, detail)` after every flush; it logs only the changes (and rare reminders)."""

    log: logging.Logger
    repeat_every: float = 60.0
    """Seconds between two reminders while the sink stays down."""
    clock: Callable[[], float] = time.monotonic
    _down_since: float | None = field(default=None, init=False)
    _last_line: float = field(default=0.0, init=False)

    def observe(self, up: bool, reason: str, detail: str) -> None:
        now = self.clock()
        if up:
            if self._down_since is not None:
                self.log.warning("sink up again after %.0f s down", now - self._down_since)
            self._down_since = None
            return
        if self._down_since is None:
            self._down_since = self._last_line = now
            self.log.error("sink down (%s): %s; events are kept and retried, consumption pauses", reason,
                           detail)  # fmt: skip
        elif now - self._last_line >= self.repeat_every:
            self._last_line = now
            self.log.error("sink still down after %.0f s (%s): %s", now - self._down_since, reason, detail)

    @property
    def down(self) -> bool:
        return self._down_since is not None
