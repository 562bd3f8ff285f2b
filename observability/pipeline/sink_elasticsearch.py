"""Pipeline layer (I/O): the Elasticsearch `_bulk` sink behind the Sink protocol.

Every document is written with `op_type: create` and the deterministic `_id` of its Kafka position, so a
replay after a crash can never duplicate: Elasticsearch answers 409 for an id it already has, which counts
as confirmed. Per item of a `_bulk` response:

  2xx, 409                 → confirmed
  429, 5xx                 → kept and retried (only those items) with exponential backoff and full jitter
  any other 4xx            → rejected with the Elasticsearch error (the runner dead-letters it)

A request that fails as a whole (connection refused or reset, timeout, 429/5xx, even 401/403 from a wrong
password) is never treated as permanent: all its items are retried and `FlushResult.retry_after` tells the
runner to back off and pause consumption. Memory per pending item is kept small: the document is serialised
once in `add()` and only the bytes are held (compressed while an item waits for a retry).
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from elasticsearch import ApiError, Elasticsearch, TransportError

from observability.pipeline.metrics import ProcessorMetrics
from observability.pipeline.sink import FlushResult, SinkItem

_EMPTY: dict[str, Any] = {}
# filter_path keeps the response small: only what per-item outcome handling reads.
_FILTER_PATH = "errors,items.*.status,items.*.error.type,items.*.error.reason"
_MAX_BODY_BYTES = 50 * 1024 * 1024


@dataclass(slots=True)
class _Pending:
    item: SinkItem
    """The item; its document is dropped once it waits for a retry (`lines` has it serialised)."""
    lines: bytes
    """The item's `_bulk` action and source lines; zlib-compressed while `compressed` (waiting for a retry)."""
    original_z: bytes = b""
    """The compressed original Kafka value while `item.original` is emptied (waiting for a retry)."""
    attempts: int = 0
    not_before: float = 0.0
    compressed: bool = False

    def body_lines(self) -> bytes:
        return zlib.decompress(self.lines) if self.compressed else self.lines


@dataclass(frozen=True)
class BulkSettings:
    batch_size: int = 2000
    """Items per `_bulk` request; default 2000."""
    backoff_initial: float = 0.2
    """Seconds before the first retry of an item; doubles per attempt (with full jitter)."""
    backoff_max: float = 10.0
    """Upper bound of the retry delay in seconds; default 10."""


class ElasticsearchSink:
    """Sink writing to Elasticsearch data streams (or indices) through the official client's `_bulk`."""

    def __init__(
        self,
        client: Elasticsearch,
        settings: BulkSettings | None = None,
        metrics: ProcessorMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.settings = settings or BulkSettings()
        self.metrics = metrics
        self._clock = clock
        self._rng = rng
        self._fresh: list[_Pending] = []
        self._retry: list[_Pending] = []
        self.up = True
        """False while the last request failed as a whole (Elasticsearch unreachable or overloaded)."""
        self.last_error = ""
        """The last whole-request failure, for logs and /readyz."""

    def setup(self) -> None:
        return None  # templates and ILM policy are created by apply.elasticsearch before the runner starts

    def add(self, item: SinkItem) -> None:
        # Serialised once, straight into the two NDJSON lines of the `_bulk` body.
        self._fresh.append(_Pending(item, b'{"create":{"_index":"%s","_id":"%s"}}\n%s\n' % (
            item.index.encode(), item.doc_id.encode(), orjson.dumps(item.document))))  # fmt: skip

    def pending(self) -> int:
        return len(self._fresh) + len(self._retry)

    def close(self) -> None:
        self.client.close()

    def flush(self) -> FlushResult:
        result = FlushResult()
        now = self._clock()
        due = [p for p in self._retry if p.not_before <= now]
        if due:
            self._retry = [p for p in self._retry if p.not_before > now]
        queue = due + self._fresh
        self._fresh = []
        size = self.settings.batch_size
        for start in range(0, len(queue), size):
            chunk = queue[start : start + size]
            if not self._send(chunk, result):
                # Elasticsearch is down: do not hammer it with the rest; everything waits for the backoff.
                for pending in queue[start + size :]:
                    self._schedule_retry(pending, count=False)
                break
        if self._retry:
            wait = min(p.not_before for p in self._retry) - self._clock()
            result.retry_after = max(wait, 0.0)
        return result

    def _send(self, chunk: list[_Pending], result: FlushResult) -> bool:
        body = b"".join(p.body_lines() for p in chunk)
        started = time.perf_counter()
        try:
            # The client forwards pre-encoded NDJSON bytes unchanged (no second serialisation).
            response = self.client.bulk(operations=body, filter_path=_FILTER_PATH)  # type: ignore[arg-type]
            items = response.body.get("items") if isinstance(response.body, dict) else None
            if not isinstance(items, list) or len(items) != len(chunk):
                raise ValueError(f"_bulk answered {len(items) if isinstance(items, list) else 'no'} items "
                                 f"for {len(chunk)} operations")  # fmt: skip
        except (ApiError, TransportError, ValueError, OSError) as e:
            self.up = False
            self._observe(started, ok=False)
            status = getattr(getattr(e, "meta", None), "status", None) or getattr(e, "status_code", None)
            self._count_status(str(status) if isinstance(status, int) else "error", len(chunk))
            for pending in chunk:
                self._schedule_retry(pending)
            self.last_error = f"{type(e).__name__}: {str(e)[:300]}"
            return False
        self.up = True
        self._observe(started, ok=True)
        counts: dict[int, int] = {}
        for pending, entry in zip(chunk, items, strict=True):
            outcome: Any = next(iter(entry.values()), {}) if isinstance(entry, dict) else {}
            status = outcome.get("status", 0) if isinstance(outcome, dict) else 0
            counts[status] = counts.get(status, 0) + 1
            if 200 <= status < 300 or status == 409:
                result.confirmed.append(pending.item)
            elif status == 429 or status >= 500 or status == 0:
                self._schedule_retry(pending)
            else:
                error = outcome.get("error") or {}
                reason = f"Elasticsearch {status} {error.get('type', 'error')}: {error.get('reason', '')}"[:2000]
                item = pending.item
                if pending.original_z:
                    item = replace(item, original=zlib.decompress(pending.original_z))
                result.rejected.append((item, reason))
        for status, count in counts.items():
            self._count_status(str(status), count)
        return True

    def _schedule_retry(self, pending: _Pending, count: bool = True) -> None:
        if count:
            pending.attempts += 1
            if self.metrics is not None:
                self.metrics.retries.inc()
        delay = min(self.settings.backoff_max, self.settings.backoff_initial * 2 ** max(pending.attempts - 1, 0))
        pending.not_before = self._clock() + delay * (0.5 + 0.5 * self._rng())
        if not pending.compressed:
            # Waiting items may pile up to max_in_flight: keep only compressed bytes, not the document,
            # and the original Kafka value compressed too (it is only needed again if the item is rejected).
            pending.lines = zlib.compress(pending.lines, 1)
            pending.compressed = True
            pending.original_z = zlib.compress(pending.item.original, 1)
            pending.item = replace(pending.item, document=_EMPTY, original=b"")
        self._retry.append(pending)

    def _observe(self, started: float, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.bulk_duration.observe(time.perf_counter() - started)
            self.metrics.sink_up.set(1 if ok else 0)

    def _count_status(self, status: str, count: int) -> None:
        if self.metrics is not None:
            self.metrics.bulk_items.labels(status).inc(count)
