"""Pipeline layer: the contract between the processor's runner and any document store.

A sink has the lifecycle `setup()` → many `add()` → `flush()` (repeated) → `close()`. The runner commits
a Kafka offset only after the sink has *confirmed* the event at that offset (or it was dead-lettered), so
every sink must report, per item, what happened in `flush()`:

- confirmed: durably stored (for Elasticsearch: 2xx, or 409 on `create` = stored by an earlier attempt);
- rejected: can never be stored as it is (permanent error) — the runner sends it to the dead-letter topic
  with `reason`, and only then treats the offset as handled;
- anything else stays inside the sink and is retried by a later `flush()`; `FlushResult.retry_after`
  says how long the runner should wait before trying again (backpressure), and `pending()` how many
  items the sink still holds (the runner pauses consumption while that is too high).

Implementations: `pipeline.sink_elasticsearch.ElasticsearchSink` (production), `pipeline.store_sqlite`
(the demo's embedded store) and the in-memory `ListSink` used by the offline mode and tests.
Items passed to `add()` are never mutated by a sink. Items a sink returns in `FlushResult` must keep
`doc_id`, `index` and `position`, and rejected items their `original`; a sink may return confirmed items
without document and original (the runner never reads them there), so that it need not keep large
values alive while items wait for a retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import orjson


class Position(NamedTuple):
    """Where an event came from: a Kafka (topic, partition, offset); the offline mode uses line numbers.

    A NamedTuple rather than a frozen dataclass: one is built per event, four times faster."""

    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class SinkItem:
    """One document to store, with everything needed to store it idempotently or dead-letter it.

    Never mutated once built (not frozen only because a frozen dataclass costs twice as much to build,
    and one is built per event)."""

    doc_id: str
    """Deterministic id derived from `position`; a replay writes the same id, so it cannot duplicate."""
    index: str
    """Target data stream or index name (sinks without indices may ignore it)."""
    source: bytes
    """The enriched ECS document as JSON (serialised once, by the transform)."""
    position: Position
    original: bytes
    """The Kafka message value exactly as consumed (what the dead-letter topic receives)."""

    @property
    def document(self) -> dict[str, Any]:
        """The document decoded (a new dict per call; the hot path never needs it)."""
        decoded: dict[str, Any] = orjson.loads(self.source)
        return decoded


@dataclass(slots=True)
class FlushResult:
    """Per-item outcome of one `Sink.flush()`; items in neither list are still pending in the sink."""

    confirmed: list[SinkItem] = field(default_factory=list)
    rejected: list[tuple[SinkItem, str]] = field(default_factory=list)
    """Permanently failed items and the store's reason (e.g. the Elasticsearch error), for the dead-letter topic."""
    retry_after: float | None = None
    """Seconds to wait before the next flush can make progress on pending items; None = no backpressure."""


class Sink(Protocol):
    """A document store the processor writes to; see the module docstring for the delivery contract."""

    def setup(self) -> None:
        """Prepare the store (idempotent: templates, tables). Raise PipelineError if it cannot be prepared."""

    def add(self, item: SinkItem) -> None:
        """Accept one item for the next flush; must not block on I/O and must not mutate the item."""

    def flush(self, wait: bool = True) -> FlushResult:
        """Try to store every accepted item; return what was confirmed and what was rejected for good.

        wait=False lets a sink answer later (a request still in flight stays pending); wait=True returns only
        once everything sent has been answered."""

    def pending(self) -> int:
        """Items accepted but neither confirmed nor rejected yet (buffered or waiting for a retry)."""

    def close(self) -> None:
        """Release connections; pending items are simply forgotten (their offsets were never committed)."""


def document_id(position: Position) -> str:
    """The deterministic `_id` of the event at a Kafka position: '<topic>-<partition>-<offset>'."""
    return f"{position.topic}-{position.partition}-{position.offset}"


class ListSink:
    """A Sink that keeps documents in a list and confirms everything at once (offline mode, tests)."""

    def __init__(self) -> None:
        self.stored: list[SinkItem] = []
        self._buffer: list[SinkItem] = []

    def setup(self) -> None:
        return None

    def add(self, item: SinkItem) -> None:
        self._buffer.append(item)

    def flush(self, wait: bool = True) -> FlushResult:
        done, self._buffer = self._buffer, []
        self.stored.extend(done)
        return FlushResult(confirmed=done)

    def pending(self) -> int:
        return len(self._buffer)

    def close(self) -> None:
        return None
