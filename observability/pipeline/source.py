"""Pipeline layer (I/O): the Kafka side of the processor — consumer, offset tracking and dead-letter producer.

Offsets are stored by hand (`enable.auto.offset.store=false`) and only up to the first event the sink has
not yet confirmed; librdkafka's auto-commit then commits what was stored, and the runner commits
synchronously on partition revoke and on shutdown. So a committed offset never passes an unconfirmed event.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from observability.errors import PipelineError
from observability.pipeline.sink import Position
from observability.spec.processor import KafkaSettings

log = logging.getLogger("observability.processor")
# librdkafka's own messages (broker disconnects, retries) go through Python logging like ours, instead of
# raw `%6|...` lines on stderr that no log pipeline parses.
kafka_log = logging.getLogger("observability.processor.kafka")

# The dead-letter value must fit the broker's default message.max.bytes (1 MB) with headers.
_DLQ_MAX_VALUE = 900_000


def _security(settings: KafkaSettings) -> dict[str, Any]:
    conf: dict[str, Any] = {"security.protocol": settings.security_protocol}
    if settings.sasl_mechanism:
        if settings.username is None or settings.password is None:
            raise PipelineError(
                f"kafka.sasl_mechanism is {settings.sasl_mechanism} but no credentials were given",
                hint="set OBS_PROCESSOR_KAFKA_USERNAME and OBS_PROCESSOR_KAFKA_PASSWORD",
            )
        conf["sasl.mechanism"] = settings.sasl_mechanism
        conf["sasl.username"] = settings.username.get_secret_value()
        conf["sasl.password"] = settings.password.get_secret_value()
    return conf


def consumer_config(settings: KafkaSettings) -> dict[str, Any]:
    """librdkafka consumer settings implementing the delivery contract in the module docstring."""
    conf: dict[str, Any] = {
        "bootstrap.servers": ",".join(settings.bootstrap_servers),
        "group.id": settings.group,
        "client.id": "obs-processor",
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        # Bound librdkafka's prefetch so memory stays predictable (per-process, not per partition).
        "queued.max.messages.kbytes": 16384,
        "fetch.max.bytes": 16 * 1024 * 1024,
        "max.partition.fetch.bytes": max(4 * 1_048_576, settings.max_message_bytes + 65536),
        "receive.message.max.bytes": max(100_000_000, settings.max_message_bytes * 2 + 65536),
        # A caught-up consumer must not sit on an empty fetch for long: this bounds the added latency.
        "fetch.wait.max.ms": 20,
        # Once the prefetch queue above is full librdkafka postpones the next fetch by this much (default
        # 1 s); a consumer draining 16 MB faster than that then sits idle. Measured: up to 2.5x throughput.
        "fetch.queue.backoff.ms": 20,
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 300_000,
        "logger": kafka_log,
        **_security(settings),
    }
    conf.update(settings.client_config)
    if conf.get("group.protocol") == "consumer":
        # KIP-848: the broker owns assignment and the session (group.consumer.* settings); librdkafka refuses
        # to create a consumer that still sets these.
        for key in _CLASSIC_PROTOCOL_ONLY:
            if key in settings.client_config:
                raise PipelineError(
                    f"kafka.client_config.{key}: not supported with group.protocol=consumer (KIP-848), "
                    f"got {settings.client_config[key]!r}",
                    hint="remove it; with the consumer protocol the broker sets it (group.consumer.* settings)",
                )
            conf.pop(key, None)
    return conf


# Classic-protocol consumer settings that librdkafka 2.16 refuses with the KIP-848 consumer protocol
# ("`session.timeout.ms` is not supported for `group.protocol=consumer` … It is defined broker side").
_CLASSIC_PROTOCOL_ONLY = ("partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms")


def producer_config(settings: KafkaSettings) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": ",".join(settings.bootstrap_servers),
        "client.id": "obs-processor-dead-letter",
        "acks": "all",
        "linger.ms": 20,
        "message.timeout.ms": 30_000,
        "logger": kafka_log,
        **_security(settings),
    }
    return conf


class OffsetTracker:
    """Per partition: offsets consumed in order, which are confirmed, and the next offset safe to commit."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], deque[int]] = {}
        self._done: dict[tuple[str, int], set[int]] = {}
        self._safe: dict[tuple[str, int], int] = {}
        self._dirty: set[tuple[str, int]] = set()
        self.in_flight = 0

    def assign(self, key: tuple[str, int]) -> None:
        self._pending.setdefault(key, deque())
        self._done.setdefault(key, set())

    def forget(self, key: tuple[str, int]) -> None:
        pending = self._pending.pop(key, None)
        if pending is not None:
            self.in_flight -= len(pending)
        self._done.pop(key, None)
        self._safe.pop(key, None)
        self._dirty.discard(key)

    def track(self, key: tuple[str, int], offset: int) -> bool:
        """Remember a consumed offset; False for an offset already tracked (a re-delivery after a resume)."""
        pending = self._pending.get(key)
        if pending is None:
            self.assign(key)
            pending = self._pending[key]
        if pending and offset <= pending[-1]:
            return False
        pending.append(offset)
        self.in_flight += 1
        return True

    def confirm(self, position: Position) -> None:
        self.confirm_all((position,))

    def confirm_all(self, positions: Iterable[Position]) -> None:
        """Mark events handled; each partition's safe offset then advances once, past its confirmed prefix."""
        touched: set[tuple[str, int]] = set()
        done_of = self._done
        for topic, partition, offset in positions:
            key = (topic, partition)
            done = done_of.get(key)
            if done is None:
                continue  # the partition was revoked meanwhile; its new owner re-reads the event
            done.add(offset)
            touched.add(key)
        for key in touched:
            self._advance(key)

    def _advance(self, key: tuple[str, int]) -> None:
        pending, done = self._pending[key], self._done[key]
        last = -1
        while pending and pending[0] in done:
            last = pending.popleft()
            done.discard(last)
            self.in_flight -= 1
        if last >= 0:
            self._safe[key] = last + 1
            self._dirty.add(key)

    def in_flight_of(self, key: tuple[str, int]) -> int:
        pending = self._pending.get(key)
        return len(pending) if pending else 0

    def take_commits(self, keys: set[tuple[str, int]] | None = None) -> list[TopicPartition]:
        """TopicPartitions with the next safe offset for partitions that advanced since the last call."""
        chosen = self._dirty if keys is None else self._dirty & keys
        out = [TopicPartition(k[0], k[1], self._safe[k]) for k in chosen]
        self._dirty -= set(chosen)
        return out


class DeadLetterProducer:
    """Produces original events plus the reason to the dead-letter topic; `on_done` fires after the ack."""

    def __init__(self, settings: KafkaSettings, on_done: Callable[[Position], None]) -> None:
        self.topic = settings.dead_letter_topic
        self._producer = Producer(producer_config(settings))
        self._on_done = on_done
        self._retry: list[tuple[bytes, str, str, Position]] = []
        self.outstanding = 0

    def send(self, original: bytes, reason: str, detail: str, position: Position) -> None:
        value = original
        headers: list[tuple[str, str | bytes | None]] = [
            ("obs.error.reason", reason.encode()),
            ("obs.error.detail", detail.encode("utf-8", "replace")[:4000]),
            ("obs.source.topic", position.topic.encode()),
            ("obs.source.partition", str(position.partition).encode()),
            ("obs.source.offset", str(position.offset).encode()),
        ]
        if len(value) > _DLQ_MAX_VALUE:
            value = value[:_DLQ_MAX_VALUE]
            headers.append(("obs.original.truncated_from", str(len(original)).encode()))

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            self.outstanding -= 1
            if err is None:
                self._on_done(position)
            else:
                log.warning("dead-letter produce failed (%s); will retry offset %s", err, position)
                self._retry.append((original, reason, detail, position))

        self.outstanding += 1
        try:
            key = f"{position.topic}-{position.partition}-{position.offset}".encode()
            self._producer.produce(self.topic, value=value, key=key, headers=headers, on_delivery=delivered)
        except (BufferError, KafkaException) as e:
            self.outstanding -= 1
            log.warning("dead-letter queue full or failing (%s); will retry", e)
            self._retry.append((original, reason, detail, position))

    def poll(self, timeout: float = 0.0) -> None:
        self._producer.poll(timeout)
        if self._retry:
            retry, self._retry = self._retry, []
            for args in retry:
                self.send(*args)

    def flush(self, timeout: float) -> None:
        self.poll(0)
        self._producer.flush(timeout)
        self.poll(0)


def open_consumer(settings: KafkaSettings, **callbacks: Any) -> Consumer:
    """A subscribed consumer; raises PipelineError when Kafka cannot be reached within 15 s."""
    consumer = Consumer(consumer_config(settings))
    try:
        consumer.list_topics(timeout=15)
    except KafkaException as e:
        consumer.close()
        raise PipelineError(
            f"cannot reach Kafka at {','.join(settings.bootstrap_servers)}: {e.args[0] if e.args else e}",
            hint="check kafka.bootstrap_servers (or OBS_PROCESSOR_KAFKA_BOOTSTRAP_SERVERS) and the credentials",
        ) from None
    # librdkafka treats a topic starting with '^' as a regex; routed topics appear as Filebeat creates them
    topics = [settings.topic] + ([settings.topic_pattern] if settings.topic_pattern else [])
    consumer.subscribe(topics, **callbacks)
    return consumer
