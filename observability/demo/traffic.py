"""Demo layer (I/O): a traffic generator for the sample Go service, with periodic error bursts.

Normal traffic is a realistic mix (list and fetch items, place orders, a slow report, a few 4xx). Every
`burst_every` seconds a burst of `burst_length` seconds makes the service fail: its fail ratio goes up and
requests to the always-failing and panicking endpoints are added — enough 5xx responses and error log lines
for the error-rate and error-log-rate alerts to fire. Several worker threads share the load so a slow
request never stalls the generator.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

NORMAL_MIX: tuple[tuple[str, str, int], ...] = (
    # (method, path, weight)
    ("GET", "/api/items", 40),
    ("GET", "/api/items/{id}", 30),
    ("POST", "/api/orders", 15),
    ("GET", "/api/slow", 5),
    ("GET", "/api/items/{bad}", 5),
    ("POST", "/api/orders#empty", 5),
)
BURST_MIX: tuple[tuple[str, str, int], ...] = (
    ("GET", "/api/items", 40),
    ("GET", "/api/fail", 40),
    ("GET", "/api/panic", 20),
)


@dataclass(frozen=True)
class TrafficPlan:
    """How hard and how often to push."""

    rate: float = 20.0
    """Requests per second across all workers."""
    burst_every: float = 90.0
    """Seconds from the start of one error burst to the next."""
    burst_length: float = 45.0
    """Seconds each burst lasts."""
    burst_fail_ratio: float = 0.8
    """Share of /api/items requests that fail during a burst (0 outside bursts)."""
    first_burst_after: float = 20.0
    """Seconds of normal traffic before the first burst."""
    workers: int = 4


def in_burst(plan: TrafficPlan, elapsed: float) -> bool:
    """Whether `elapsed` seconds after the start fall into an error burst (PURE)."""
    if elapsed < plan.first_burst_after:
        return False
    return (elapsed - plan.first_burst_after) % plan.burst_every < plan.burst_length


def pick_request(rng: random.Random, burst: bool) -> tuple[str, str, bytes | None]:
    """One (method, path, body) from the normal or burst mix (PURE given the rng)."""
    mix = BURST_MIX if burst else NORMAL_MIX
    method, path, _ = rng.choices(mix, weights=[w for _, _, w in mix])[0]
    body: bytes | None = None
    if path == "/api/orders#empty":
        path, body = "/api/orders", b""
    elif path == "/api/orders":
        body = b'{"item": 7, "quantity": 2}'
    path = path.replace("{id}", str(rng.randint(1, 1200))).replace("{bad}", "abc")
    return method, path, body


@dataclass
class TrafficStats:
    sent: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    """'2xx', '4xx', '5xx', 'error' (no response)."""
    burst: bool = False
    bursts: int = 0


class TrafficGenerator:
    """Sends requests to `base_url` until `stop()`, following `plan`."""

    def __init__(self, base_url: str, plan: TrafficPlan, *, seed: int | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.plan = plan
        self.stats = TrafficStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.Random(seed)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._control, name="demo-traffic-control", daemon=True)]
        self._threads += [
            threading.Thread(target=self._worker, args=(i,), name=f"demo-traffic-{i}", daemon=True)
            for i in range(self.plan.workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._set_fail_ratio(0.0)

    def _control(self) -> None:
        # Flip the service's fail ratio at burst edges; the workers read `stats.burst` for their mix.
        while not self._stop.is_set():
            burst = in_burst(self.plan, time.monotonic() - self._started)
            if burst != self.stats.burst:
                with contextlib.suppress(OSError):
                    self._set_fail_ratio(self.plan.burst_fail_ratio if burst else 0.0)
                with self._lock:
                    self.stats.burst = burst
                    self.stats.bursts += int(burst)
            self._stop.wait(0.5)

    def _worker(self, index: int) -> None:
        rng = random.Random(self._rng.random() + index)
        interval = self.plan.workers / self.plan.rate
        next_at = time.monotonic() + rng.random() * interval
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            next_at = max(next_at + interval, time.monotonic() - interval)
            method, path, body = pick_request(rng, self.stats.burst)
            outcome = self._send(method, path, body)
            with self._lock:
                self.stats.sent += 1
                self.stats.by_class[outcome] += 1

    def _send(self, method: str, path: str, body: bytes | None) -> str:
        request = urllib.request.Request(f"{self.base_url}{path}", data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return f"{response.status // 100}xx"
        except urllib.error.HTTPError as e:
            return f"{e.code // 100}xx"
        except OSError:
            return "error"

    def _set_fail_ratio(self, ratio: float) -> None:
        request = urllib.request.Request(f"{self.base_url}/admin/fail-ratio?ratio={ratio}", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass
