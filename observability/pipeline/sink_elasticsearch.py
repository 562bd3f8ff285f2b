"""Pipeline layer (I/O): the Elasticsearch `_bulk` sink behind the Sink protocol.

Every document is written with `op_type: create` and the deterministic `_id` of its Kafka position, so a
replay after a crash can never duplicate: Elasticsearch answers 409 for an id it already has, which counts
as confirmed. Per item of a `_bulk` response:

  2xx, 409                 → confirmed
  429, 5xx                 → kept and retried (only those items) with exponential backoff and full jitter
  any other 4xx            → rejected with the Elasticsearch error (the runner dead-letters it)
  no usable status         → (a string that is not a number, missing, an answer of another shape) retried

A request that fails as a whole (connection refused or reset, timeout, 429/5xx, even 401/403 from a wrong
password) is never treated as permanent: all its items are retried and `FlushResult.retry_after` tells the
runner to back off and pause consumption. A whole request refused for what it contains (413 Request Entity
Too Large, 400 for a body Elasticsearch cannot parse, any 4xx in `BISECTED_STATUSES`) is split in halves,
sent again half by half, until the events that cause it are alone: an event refused alone is rejected with
Elasticsearch's answer, the others are indexed. A 413 also lowers the request size for the rest of the run.
Requests are bounded in items (`batch_size`) and in bytes (`max_body_bytes`); an event whose two `_bulk`
lines alone exceed the byte bound is rejected at once. Memory per pending item is kept small: the document's JSON goes
once, in `add()`, into its `_bulk` lines, and items waiting for a retry are held compressed in groups.
With `flush(wait=False)` one request at a time runs on a worker thread, so the runner consumes and transforms
the next events while Elasticsearch indexes these; results are still handled on the caller's thread.
"""

from __future__ import annotations

import random
import time
import zlib
from array import array
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import orjson
from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch
from elasticsearch import ConnectionError as TransportConnectionError

from observability.pipeline.metrics import ProcessorMetrics
from observability.pipeline.sink import FlushResult, Position, SinkItem

# filter_path keeps the response small: only what per-item outcome handling reads.
_FILTER_PATH = "errors,items.*.status,items.*.error.type,items.*.error.reason"
# Half of Elasticsearch's default http.max_content_length (100mb), which counts the uncompressed body.
_MAX_BODY_BYTES = 50 * 1024 * 1024
# Whole-request answers caused by the body itself, so retrying the same body can never help: the request is
# bisected. 401/403 (credentials), 404/405 (a wrong URL or proxy), 408 and 429 are not about the body and are
# retried like an outage: dead-lettering everything because of a wrong setting would empty the stream.
BISECTED_STATUSES = frozenset({400, 411, 413, 414, 415, 422, 431})
# The smallest byte bound a 413 can lower the requests to (an event larger than that is sent alone anyway).
_MIN_BODY_BYTES = 64 * 1024


@dataclass(slots=True)
class _Pending:
    item: SinkItem
    """The item without document and original (`lines` and `original` hold them as bytes)."""
    lines: bytes
    """The item's `_bulk` action and source lines (the document serialised once, in `add`)."""
    original: bytes
    """The Kafka value exactly as consumed, for the dead-letter topic should Elasticsearch reject the item."""
    attempts: int = 0


@dataclass(slots=True)
class _RetryGroup:
    """Items that wait for the same retry time, held as ONE zlib blob of their lines, originals and ids.

    Events of one stream are alike, so compressing a few thousand together takes ≈ 125 bytes per event
    instead of ≈ 700 one by one; with max_in_flight events waiting that is most of the processor's memory.
    Positions are kept as plain arrays and items are rebuilt when the group is unpacked for sending."""

    not_before: float
    attempts: int
    count: int
    names: list[str]
    """The distinct topics and index names of the items."""
    refs: array[int]
    """Per item: topic, partition, offset, index name (topics and index names as positions in `names`)."""
    sizes: array[int]
    """Per item: len(lines), len(original), len(doc_id), in order."""
    blob: bytes

    @classmethod
    def pack(cls, members: list[_Pending], attempts: int, not_before: float) -> _RetryGroup:
        parts: list[bytes] = []
        sizes = array("I")
        refs = array("q")
        names: dict[str, int] = {}
        for pending in members:
            item = pending.item
            doc_id = item.doc_id.encode()
            parts += (pending.lines, pending.original, doc_id)
            sizes += array("I", (len(pending.lines), len(pending.original), len(doc_id)))
            topic = names.setdefault(item.position.topic, len(names))
            index = names.setdefault(item.index, len(names))
            refs += array("q", (topic, item.position.partition, item.position.offset, index))
        return cls(not_before, attempts, len(members), list(names), refs, sizes, zlib.compress(b"".join(parts), 1))

    def unpack(self) -> list[_Pending]:
        data = zlib.decompress(self.blob)
        out, pos, sizes, refs, names = [], 0, self.sizes, self.refs, self.names
        for i in range(self.count):
            n_lines, n_original, n_id = sizes[3 * i], sizes[3 * i + 1], sizes[3 * i + 2]
            lines = data[pos : pos + n_lines]
            original = data[pos + n_lines : pos + n_lines + n_original]
            doc_id = data[pos + n_lines + n_original : pos + n_lines + n_original + n_id].decode()
            pos += n_lines + n_original + n_id
            topic, partition, offset, index = refs[4 * i], refs[4 * i + 1], refs[4 * i + 2], refs[4 * i + 3]
            item = SinkItem(doc_id, names[index], b"", Position(names[topic], partition, offset), b"")
            out.append(_Pending(item, lines, original, self.attempts))
        return out


@dataclass(frozen=True)
class BulkSettings:
    batch_size: int = 2000
    """Items per `_bulk` request; default 2000."""
    backoff_initial: float = 0.2
    """Seconds before the first retry of an item; doubles per attempt (with full jitter)."""
    backoff_max: float = 10.0
    """Upper bound of the retry delay in seconds; default 10."""
    max_body_bytes: int = _MAX_BODY_BYTES
    """Upper bound of one `_bulk` body in bytes; default 50 MiB (half of Elasticsearch's http.max_content_length)."""


def bulk_lines(index: str, doc_id: str, source: bytes) -> bytes:
    """The `_bulk` action and source lines of one document; the action is built by a JSON encoder, so any
    character in the index name or id is escaped (a `"` from a log line once broke a whole request)."""
    return b"%s\n%s\n" % (orjson.dumps({"create": {"_index": index, "_id": doc_id}}), source)


def item_status(outcome: Any) -> int | None:
    """The HTTP status of one `_bulk` item answer; None when it has none usable (missing, not a number)."""
    status = outcome.get("status") if isinstance(outcome, dict) else None
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    return status


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
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="obs-bulk")
        self._inflight: tuple[Future[Any], list[_Pending], float] | None = None
        """The chunk whose `_bulk` request is on the worker thread (flush(wait=False) only)."""
        self._retry: list[_RetryGroup] = []
        self._split: list[list[_Pending]] = []
        """Halves of a request refused as a whole for its body, each to be sent on its own (bisection)."""
        self._refused: list[tuple[SinkItem, str]] = []
        """Items rejected before any request (too large alone), returned by the next flush."""
        self._max_bytes = self.settings.max_body_bytes
        """The byte bound in use: `max_body_bytes`, lowered when Elasticsearch answers 413."""
        self._waiting = 0
        """Items inside `_retry` groups."""
        self.up = True
        """False while the last request failed as a whole (Elasticsearch unreachable or overloaded)."""
        self.last_error = ""
        """The last whole-request failure, for logs and /readyz."""
        self.down_reason = ""
        """`failure_reason` of the last whole-request failure: a short label, also on the failures metric."""

    def setup(self) -> None:
        return None  # templates and ILM policy are created by apply.elasticsearch before the runner starts

    def add(self, item: SinkItem) -> None:
        # Serialised once, straight into the two NDJSON lines of the `_bulk` body.
        lines = bulk_lines(item.index, item.doc_id, item.source)
        if len(lines) > self.settings.max_body_bytes:
            reason = (f"the document is {len(lines)} bytes as a _bulk operation, more than one request may carry "
                      f"(max_body_bytes={self.settings.max_body_bytes}); it was never sent")  # fmt: skip
            self._refused.append((item, reason))
            return
        # Only the lines are kept, not a second copy of the document inside the item.
        lean = SinkItem(item.doc_id, item.index, b"", item.position, b"")
        self._fresh.append(_Pending(lean, lines, item.original))
        if len(self._fresh) >= 3 * self.settings.batch_size:
            self._spill()

    def _spill(self) -> None:
        """Fresh items pile up while flush is not called (the runner waits out a backoff): the oldest chunk
        is held compressed like a retry group, due at once, so memory stays bounded by max_in_flight."""
        size = self.settings.batch_size
        chunk, self._fresh = self._fresh[:size], self._fresh[size:]
        attempts = max(p.attempts for p in chunk)
        self._retry.append(_RetryGroup.pack(chunk, attempts, self._clock()))
        self._waiting += len(chunk)

    def pending(self) -> int:
        split = sum(len(chunk) for chunk in self._split)
        inflight = len(self._inflight[1]) if self._inflight else 0
        return len(self._fresh) + self._waiting + split + inflight + len(self._refused)

    @property
    def held_uncompressed(self) -> int:
        """Pending items held one by one (fresh, or unpacked for sending); the others wait compressed or are in
        the request on the wire. At most three chunks, whatever happens, so memory stays ≈ 125 bytes per
        waiting event during an outage instead of ≈ 1 KB."""
        return len(self._fresh)

    def close(self) -> None:
        # An unanswered request's items are simply forgotten: their offsets were never committed.
        self._worker.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def flush(self, wait: bool = True) -> FlushResult:
        """Send what is due. wait=True: every chunk is sent and answered before this returns.

        wait=False (the runner's loop): at most one `_bulk` request is in flight, on a worker thread; a call
        collects its answer once it has arrived and sends the next chunk, so the runner goes on consuming and
        transforming while Elasticsearch indexes (the GIL is free while the request waits on the socket)."""
        result = FlushResult()
        if self._inflight is not None:
            future, chunk, started = self._inflight
            # Backpressure: once two chunks wait behind the request, wait for its answer. Fresh items are held
            # uncompressed, so this bounds their memory; the runner's max_in_flight pause does the rest.
            if not wait and not future.done() and len(self._fresh) < 2 * self.settings.batch_size:
                return self._retry_after(result)
            self._inflight = None
            if not self._complete(future, chunk, started, result):
                # Elasticsearch is down: everything waits for the backoff, as in the wait=True path.
                now = self._clock()
                for group in self._retry:
                    if group.not_before <= now:
                        group.not_before = self._not_before(group.attempts)
                self._schedule_retries(self._fresh, count=False)
                self._fresh = []
                return self._retry_after(result)
        if self._refused:
            result.rejected += self._refused
            self._refused = []
        while self._split:
            # Bisection first: these halves must go on their own, not merged back into a full chunk.
            chunk = self._split.pop()
            future = self._worker.submit(self._request, chunk)
            started = time.perf_counter()
            if not wait:
                self._inflight = (future, chunk, started)
                return self._retry_after(result)
            if not self._complete(future, chunk, started, result):
                return self._retry_after(result)
        now = self._clock()
        due = [g for g in self._retry if g.not_before <= now]
        if due:
            self._retry = [g for g in self._retry if g.not_before > now]
            self._waiting -= sum(g.count for g in due)
        fresh, self._fresh = self._fresh, []
        size = self.settings.batch_size
        # Groups are unpacked only as chunks need them, so a long outage's backlog is never all expanded.
        buffer: list[_Pending] = []
        next_group = 0
        fresh_taken = False
        while True:
            while len(buffer) < size and next_group < len(due):
                buffer += due[next_group].unpack()
                next_group += 1
            if len(buffer) < size and not fresh_taken:
                buffer += fresh
                fresh_taken = True
            if not buffer:
                break
            cut = self._chunk_length(buffer)
            chunk, buffer = buffer[:cut], buffer[cut:]
            future = self._worker.submit(self._request, chunk)
            started = time.perf_counter()
            if not wait:
                # One request at a time: what is not sent yet waits for a later call, in the same order.
                self._inflight = (future, chunk, started)
                self._fresh = buffer + ([] if fresh_taken else fresh)
                for group in due[next_group:]:
                    self._retry.append(group)
                    self._waiting += group.count
                # The rest of the last unpacked group joined the fresh items. While groups keep coming due
                # (an outage), fresh items are never reached, so without packing them again every request
                # would turn up to a chunk of compressed items into uncompressed ones (measured: 57k of
                # 100k waiting items, RSS 160 → 280 MiB).
                while len(self._fresh) >= 3 * size:
                    self._spill()
                break
            if not self._complete(future, chunk, started, result):
                # Elasticsearch is down: do not hammer it with the rest; everything waits for the backoff.
                for group in due[next_group:]:
                    group.not_before = self._not_before(group.attempts)
                    self._retry.append(group)
                    self._waiting += group.count
                self._schedule_retries(buffer + ([] if fresh_taken else fresh), count=False)
                break
        return self._retry_after(result)

    def _chunk_length(self, buffer: list[_Pending]) -> int:
        """How many of the first items of `buffer` make one request: at most batch_size and the byte bound."""
        total, limit = 0, self._max_bytes
        for n, pending in enumerate(buffer[: self.settings.batch_size]):
            total += len(pending.lines)
            if total > limit and n > 0:
                return n
        return min(len(buffer), self.settings.batch_size)

    def _retry_after(self, result: FlushResult) -> FlushResult:
        if self._retry:
            wait = min(g.not_before for g in self._retry) - self._clock()
            result.retry_after = max(wait, 0.0)
        return result

    def _request(self, chunk: list[_Pending]) -> Any:
        """On the worker thread: one `_bulk` request for the chunk (pre-encoded NDJSON, sent unchanged)."""
        body = b"".join([p.lines for p in chunk])
        return self.client.bulk(operations=body, filter_path=_FILTER_PATH)  # type: ignore[arg-type]

    def _complete(self, future: Future[Any], chunk: list[_Pending], started: float, result: FlushResult) -> bool:
        """The answer to a chunk's request, item by item; False when the request failed as a whole."""
        try:
            response = future.result()
            body = response.body
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list) or len(items) != len(chunk):
                raise _MalformedAnswer(f"_bulk answered {len(items) if isinstance(items, list) else 'no'} items "
                                       f"for {len(chunk)} operations")  # fmt: skip
        except ApiError as e:
            status = e.meta.status if isinstance(getattr(e.meta, "status", None), int) else 0
            if status in BISECTED_STATUSES:
                self._observe(started, ok=True)
                self._count_status(str(status), len(chunk))
                self._bisect(chunk, status, e, result)
                return True
            return self._failed(e, str(status or "error"), chunk, started)
        except Exception as e:  # any other failure of the request or of its answer: retried, never a crash
            return self._failed(e, "malformed" if isinstance(e, _MalformedAnswer) else "error", chunk, started)
        self.up = True
        self._observe(started, ok=True)
        if body.get("errors") is False:
            # Elasticsearch sets `errors` when any item failed (409 included), so all of these are stored.
            result.confirmed.extend([pending.item for pending in chunk])
            first: Any = next(iter(items[0].values()), {}) if chunk and isinstance(items[0], dict) else {}
            self._count_status(str(item_status(first) or 200), len(chunk))
            return True
        counts: dict[str, int] = {}
        retry: list[_Pending] = []
        for pending, entry in zip(chunk, items, strict=True):
            outcome: Any = next(iter(entry.values()), {}) if isinstance(entry, dict) and len(entry) == 1 else {}
            code = item_status(outcome)
            label = str(code) if code is not None else "malformed"
            counts[label] = counts.get(label, 0) + 1
            if code is None or code == 429 or code >= 500:
                retry.append(pending)
            elif 200 <= code < 300 or code == 409:
                result.confirmed.append(pending.item)
            else:
                error = outcome.get("error")
                if not isinstance(error, dict):
                    error = {"reason": str(error or "")}
                reason = f"Elasticsearch {code} {error.get('type', 'error')}: {error.get('reason', '')}"[:2000]
                result.rejected.append((self._with_original(pending), reason))
        self._schedule_retries(retry)
        for label, count in counts.items():
            self._count_status(label, count)
        return True

    def _failed(self, e: Exception, status: str, chunk: list[_Pending], started: float) -> bool:
        """A request that failed as a whole: every item is retried after the backoff; the sink is down."""
        self.up = False
        self._observe(started, ok=False)
        self._count_status(status, len(chunk))
        self._schedule_retries(chunk)
        self.last_error = f"{type(e).__name__}: {str(e)[:300]}"
        self.down_reason = failure_reason(e)
        if self.metrics is not None:
            self.metrics.sink_failures.labels(self.down_reason).inc()
        return False

    def _bisect(self, chunk: list[_Pending], status: int, e: ApiError, result: FlushResult) -> None:
        """A request refused for its body: halves are sent on their own until the culprits are alone."""
        if status == 413:
            size = sum(len(p.lines) for p in chunk)
            self._max_bytes = max(_MIN_BODY_BYTES, min(self._max_bytes, size // 2))
        if len(chunk) == 1:
            detail = _error_text(e.body)
            reason = f"Elasticsearch {status} for this event alone ({len(chunk[0].lines)} bytes): {detail}"[:2000]
            result.rejected.append((self._with_original(chunk[0]), reason))
            return
        middle = len(chunk) // 2
        self._split += [chunk[middle:], chunk[:middle]]  # popped from the end: the first half goes first

    @staticmethod
    def _with_original(pending: _Pending) -> SinkItem:
        item = pending.item
        return item if item.original is pending.original else replace(item, original=pending.original)

    def _schedule_retries(self, pendings: list[_Pending], count: bool = True) -> None:
        if not pendings:
            return
        if count:
            for pending in pendings:
                pending.attempts += 1
            if self.metrics is not None:
                self.metrics.retries.inc(len(pendings))
        by_attempts: dict[int, list[_Pending]] = {}
        for pending in pendings:
            by_attempts.setdefault(pending.attempts, []).append(pending)
        size = self.settings.batch_size
        for attempts, members in by_attempts.items():
            for start in range(0, len(members), size):
                group = members[start : start + size]
                self._retry.append(_RetryGroup.pack(group, attempts, self._not_before(attempts)))
                self._waiting += len(group)

    def _not_before(self, attempts: int) -> float:
        delay = min(self.settings.backoff_max, self.settings.backoff_initial * 2 ** max(attempts - 1, 0))
        return self._clock() + delay * (0.5 + 0.5 * self._rng())

    def _observe(self, started: float, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.bulk_duration.observe(time.perf_counter() - started)
            self.metrics.sink_up.set(1 if ok else 0)

    def _count_status(self, status: str, count: int) -> None:
        if self.metrics is not None:
            self.metrics.bulk_items.labels(status).inc(count)


class _MalformedAnswer(ValueError):
    """Elasticsearch (or a proxy in front of it) answered 2xx with something that is not a `_bulk` answer."""


def failure_reason(e: Exception) -> str:
    """A short, bounded label for why a whole `_bulk` request failed: the metric label and the log's summary.

    One of: `unauthorized` (401), `forbidden` (403), `too_many_requests` (429), `http_<status>` (any other
    answer), `timeout`, `connection` (refused, reset, DNS, TLS), `malformed_answer`, `error`."""
    if isinstance(e, ApiError):
        status = getattr(e.meta, "status", None)
        named = {401: "unauthorized", 403: "forbidden", 429: "too_many_requests"}
        return named.get(status, f"http_{status}") if isinstance(status, int) else "error"
    if isinstance(e, ConnectionTimeout):
        return "timeout"
    if isinstance(e, TransportConnectionError | OSError):
        return "connection"
    if isinstance(e, _MalformedAnswer):
        return "malformed_answer"
    return "error"


def _error_text(body: Any) -> str:
    """Elasticsearch's error (type: reason) from a whole-request answer, or the answer itself, shortened.

    A 413 from Elasticsearch has an empty body (elastic/elasticsearch#2902, #76705); a proxy's is HTML."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"[:500]
    text = body if isinstance(body, str) else orjson.dumps(body, default=str).decode() if body else ""
    return text[:500] or "(empty answer)"
