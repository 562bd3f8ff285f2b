"""Pipeline layer (I/O): the processor's main loop — Kafka → transform → sink, at least once, never duplicated.

One thread does everything that touches the consumer (librdkafka callbacks run inside `consume()`):

1. `consume()` a batch; each message is tracked, transformed (pure) and either added to the sink,
   dead-lettered (acknowledged by Kafka before it counts as handled) or dropped by a rule (handled now).
2. The sink is flushed when a batch is full or `flush_interval` passed, without waiting: the sink's
   request runs on its own worker thread and its answer is picked up by a later flush. Confirmed events
   advance the per-partition safe offset, which is stored for librdkafka's auto-commit.
3. While the sink is failing or too many events are in flight, the assigned partitions are paused (the
   loop keeps calling `consume()` so the group membership and rebalances stay healthy) and resumed later.
4. On revoke: flush (waiting for every answer), store and commit synchronously for the revoked
   partitions, then forget them.
   On SIGTERM: stop consuming, drain within the grace period, commit, close.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import signal
import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from elasticsearch import Elasticsearch

from observability.pipeline.metrics import MetricsServer, ProcessorMetrics
from observability.pipeline.sink import Position, Sink
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink
from observability.pipeline.sink_health import SinkHealthLog
from observability.pipeline.source import DeadLetterProducer, OffsetTracker, open_consumer
from observability.pipeline.transform import DEAD, DROPPED, STORE, Transformer
from observability.spec.processor import ProcessorConfig

log = logging.getLogger("observability.processor")

_REVOKE_FLUSH_SECONDS = 10.0
_LAG_EVERY_SECONDS = 5.0
_GC_GEN0_THRESHOLD = 20_000


class Processor:
    """The running processor; `run(stop)` returns after `stop` is set and the drain finished."""

    def __init__(self, config: ProcessorConfig, sink: Sink, metrics: ProcessorMetrics | None = None) -> None:
        self.config = config
        self.sink = sink
        self.metrics = metrics or ProcessorMetrics()
        self.transform = Transformer.from_config(config)
        self.tracker = OffsetTracker()
        self.batch_size = config.processing.batch_size
        self.max_in_flight = config.processing.max_in_flight
        self.flush_interval = config.flush_interval_s
        self._consume_timeout = max(0.005, min(0.05, self.flush_interval / 4))
        self.dead_letter = DeadLetterProducer(config.kafka, self._handled)
        self.consumer: Consumer | None = None
        self.paused = False
        self.assigned: set[tuple[str, int]] = set()
        self.joined = False
        self.last_loop = time.monotonic()
        self._retry_at = 0.0
        self._last_flush = time.monotonic()
        self._last_lag = 0.0
        self.sink_health = SinkHealthLog(log)

    # -- health ------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        return time.monotonic() - self.last_loop < 120

    def ready(self) -> bool:
        return not self.not_ready_because()

    def not_ready_because(self) -> str:
        """Why /readyz answers 503 ('' when ready): not in the group, or the sink is down."""
        if not self.joined:
            return "no partition assignment from the Kafka group yet (or it was lost)"
        if not getattr(self.sink, "up", True):
            return f"sink down ({getattr(self.sink, 'down_reason', '') or 'error'})"
        return ""

    # -- rebalance callbacks (run inside consume()) -----------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.tracker.assign((tp.topic, tp.partition))
            self.assigned.add((tp.topic, tp.partition))
        self.joined = True
        log.info("assigned %s", _names(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = {(tp.topic, tp.partition) for tp in partitions}
        deadline = time.monotonic() + _REVOKE_FLUSH_SECONDS
        # Finish what we hold for these partitions so the next owner starts after it, not before.
        while any(self.tracker.in_flight_of(k) for k in keys) and time.monotonic() < deadline:
            self._flush()
            self.dead_letter.poll(0.05)
            if any(self.tracker.in_flight_of(k) for k in keys) and self._retry_at > time.monotonic():
                time.sleep(min(0.1, self._retry_at - time.monotonic()))
        self._commit(keys, sync=True)
        for key in keys:
            self.tracker.forget(key)
            self.assigned.discard(key)
        log.info("revoked %s", _names(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.tracker.forget((tp.topic, tp.partition))
            self.assigned.discard((tp.topic, tp.partition))
        # Not ready until the group assigns partitions again: another member is reading them meanwhile.
        self.joined = False
        log.warning("lost %s (session timed out); their uncommitted events will be re-read", _names(partitions))

    # -- the loop ----------------------------------------------------------------------------------------

    def _handled(self, position: Position) -> None:
        self.tracker.confirm(position)

    def run(self, stop: threading.Event) -> None:
        self.consumer = open_consumer(
            self.config.kafka, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        log.info("consuming %s as group %s", self.config.kafka.topic, self.config.kafka.group)
        _tune_gc()
        try:
            while not stop.is_set():
                self._step()
            self._drain()
        finally:
            self.consumer.close()
            self.dead_letter.flush(5)
            log.info("stopped; %d events were in flight and will be re-read", self.tracker.in_flight)

    def _step(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        self.last_loop = now = time.monotonic()
        self._apply_pause()
        # consume() waits for a full batch or the whole timeout, so a long timeout is added latency at
        # low rates; a short one costs nothing at high rates (the batch fills first).
        messages = consumer.consume(num_messages=self.batch_size, timeout=self._consume_timeout)
        if messages:
            self._process(messages)
        now = time.monotonic()
        pending = self.sink.pending()
        if pending and (
            (pending >= self.batch_size and now >= self._retry_at)
            or (now - self._last_flush >= self.flush_interval and now >= self._retry_at)
        ):
            self._flush(wait=False)
        self.dead_letter.poll(0)
        self._commit(None, sync=False)
        self.metrics.in_flight.set(self.tracker.in_flight)
        if now - self._last_lag >= _LAG_EVERY_SECONDS:
            self._last_lag = now
            self._update_lag()

    def _process(self, messages: list[Any]) -> None:
        tracker, transform, sink = self.tracker, self.transform, self.sink
        formats: dict[str, int] = {}
        levels: dict[tuple[str, str, str], int] = {}
        topics: dict[str, int] = {}
        dropped: dict[str, int] = {}
        for msg in messages:
            if msg.error() is not None:
                log.warning("consumer error: %s", msg.error())
                continue
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if not tracker.track((topic, partition), offset):
                continue
            topics[topic] = topics.get(topic, 0) + 1
            position = Position(topic, partition, offset)
            outcome = transform(msg.value(), position, msg.timestamp()[1])
            if outcome.kind == STORE and outcome.item is not None:
                sink.add(outcome.item)
                formats[outcome.format] = formats.get(outcome.format, 0) + 1
                levels[outcome.labels] = levels.get(outcome.labels, 0) + 1
            elif outcome.kind == DEAD:
                self.metrics.dead_lettered.labels(outcome.reason).inc()
                self.dead_letter.send(msg.value() or b"", outcome.reason, outcome.detail, position)
            elif outcome.kind == DROPPED:
                dropped["drop_rule"] = dropped.get("drop_rule", 0) + 1
                formats[outcome.format] = formats.get(outcome.format, 0) + 1
                tracker.confirm(position)
        m = self.metrics
        for topic, n in topics.items():
            m.consumed.labels(topic).inc(n)
        for fmt, n in formats.items():
            m.parsed.labels(fmt).inc(n)
        for (service, namespace, level), n in levels.items():
            m.log_events.labels(service, namespace, level).inc(n)
        for reason, n in dropped.items():
            m.dropped.labels(reason).inc(n)

    def _flush(self, wait: bool = True) -> None:
        result = self.sink.flush(wait=wait)
        self._last_flush = time.monotonic()
        self.tracker.confirm_all([item.position for item in result.confirmed])
        if result.confirmed:
            self.metrics.indexed.inc(len(result.confirmed))
        for item, reason in result.rejected:
            self.metrics.dead_lettered.labels("rejected").inc()
            self.dead_letter.send(item.original, "rejected", reason, item.position)
        self._retry_at = self._last_flush + result.retry_after if result.retry_after is not None else 0.0
        up = getattr(self.sink, "up", True)
        self.sink_health.observe(up, getattr(self.sink, "down_reason", ""), getattr(self.sink, "last_error", ""))
        if not up:
            # A failed request leaves reference cycles (exception tracebacks) that hold whole request bodies;
            # with the raised gen-0 threshold and the loop idle while paused they would wait long to be freed.
            gc.collect()

    def _apply_pause(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        sink_down = not getattr(self.sink, "up", True)
        should_pause = self.tracker.in_flight >= self.max_in_flight or (sink_down and self.sink.pending() > 0)
        should_resume = self.tracker.in_flight < self.max_in_flight * 0.8 and not sink_down
        assignment = [TopicPartition(t, p) for t, p in self.assigned]
        if should_pause and assignment:
            # Re-applied every step: partitions assigned while paused must be paused too.
            consumer.pause(assignment)
            if not self.paused:
                log.warning("pausing consumption: %d events in flight, sink up=%s", self.tracker.in_flight,
                            not sink_down)  # fmt: skip
                _release_memory()
            self.paused = True
            self.metrics.paused.set(1)
        elif self.paused and should_resume:
            consumer.resume(assignment)
            self.paused = False
            self.metrics.paused.set(0)
            log.info("resuming consumption")

    def _commit(self, keys: set[tuple[str, int]] | None, sync: bool) -> None:
        consumer = self.consumer
        assert consumer is not None
        offsets = self.tracker.take_commits(keys)
        if offsets:
            try:
                consumer.store_offsets(offsets=offsets)
            except KafkaException as e:
                log.warning("cannot store offsets %s: %s", _names(offsets), e)
        if sync:
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as e:
                # _NO_OFFSET: nothing new to commit — not a problem.
                if "NO_OFFSET" not in str(e):
                    log.warning("commit failed: %s", e)

    def _drain(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        grace = self.config.shutdown_grace_s
        deadline = time.monotonic() + grace
        assignment = [TopicPartition(t, p) for t, p in self.assigned]
        if assignment:
            consumer.pause(assignment)
        log.info("draining %d in-flight events (grace %.0fs)", self.tracker.in_flight, grace)
        while self.tracker.in_flight and time.monotonic() < deadline:
            if self.sink.pending() and time.monotonic() >= self._retry_at:
                self._flush()
            self.dead_letter.poll(0.05)
            self._commit(None, sync=False)
            if self.sink.pending() and self._retry_at > time.monotonic():
                time.sleep(min(0.1, max(self._retry_at - time.monotonic(), 0)))
        self._commit(None, sync=True)

    def _update_lag(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        if not self.assigned:
            return
        try:
            positions = consumer.position([TopicPartition(t, p) for t, p in self.assigned])
            for tp in positions:
                _, high = consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:
                    self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(high - tp.offset, 0))
        except KafkaException as e:
            log.debug("lag update failed: %s", e)


def _tune_gc() -> None:
    """Fewer, cheaper garbage collections on the hot path (measured: −20 % CPU per event).

    Every event allocates dozens of short-lived dicts, so the default gen-0 threshold (700) runs a
    collection every few events and full collections keep re-walking everything imported at start-up.
    The pipeline creates no reference cycles per event, so collecting rarely loses nothing; `freeze()`
    moves the start-up objects out of the collector's view for good."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_GEN0_THRESHOLD, 20, 20)


def _release_memory() -> None:
    """Give freed heap back to the OS when consumption pauses (the in-flight peak has just been reached).

    Events are allocated and freed by the hundred thousand; glibc keeps the freed pages mapped unless asked,
    so without this the processor's RSS stays at its busiest moment's high-water mark."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"


def run_processor(config: ProcessorConfig, client: Elasticsearch | None, sink: Sink | None = None) -> None:
    """Run until SIGTERM/SIGINT: serve metrics, consume, index; drain within the grace period on stop.

    `sink` replaces the Elasticsearch sink (`obs process --store`: the local demo's embedded store)."""
    metrics = ProcessorMetrics()
    if sink is None:
        assert client is not None, "run_processor needs an Elasticsearch client or a sink"
        sink = ElasticsearchSink(client, BulkSettings(batch_size=config.processing.batch_size), metrics)
    processor = Processor(config, sink, metrics)
    server = MetricsServer(
        metrics, config.metrics.host, config.metrics.port, processor.healthy, processor.not_ready_because
    )
    server.start()
    log.info("metrics on http://%s:%d/metrics", config.metrics.host, server.port)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("received %s; draining", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        processor.run(stop)
    finally:
        server.stop()
        sink.close()
