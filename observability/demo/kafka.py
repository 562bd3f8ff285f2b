"""Demo layer (I/O): an embedded Kafka — librdkafka's mock cluster — that other local processes can use.

A client created with `test.mock.num.brokers` starts that many in-memory brokers on 127.0.0.1 inside this
process; the shipper (a thread here) and `obs process` (a child process) connect to them like to any Kafka.
Topics are auto-created (4 partitions); data lives in memory and disappears with the demo.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from observability.errors import PipelineError


@dataclass
class EmbeddedKafka:
    """The mock cluster's owner client; keep it alive as long as the brokers are needed."""

    bootstrap_servers: str
    _owner: Any

    def stop(self) -> None:
        # The brokers live as long as the owning client; dropping the last reference shuts them down.
        self._owner.flush(1)
        self._owner = None


def start_embedded_kafka(brokers: int = 3, topics: tuple[str, ...] = (), timeout: float = 15.0) -> EmbeddedKafka:
    """Start `brokers` mock brokers and pre-create `topics` (by producing metadata requests for them)."""
    from confluent_kafka import KafkaException

    try:
        # log_level 4 hides librdkafka's "mock cluster enabled" notice on the terminal.
        owner = mock_cluster_owner(brokers, **{"client.id": "obs-demo-kafka", "log_level": 4})
        metadata = owner.list_topics(timeout=timeout)
        for topic in topics:
            owner.list_topics(topic, timeout=timeout)  # auto-creates it, so consumers can subscribe at once
    except KafkaException as e:
        raise PipelineError(f"cannot start the embedded Kafka (librdkafka mock cluster): {e}") from e
    addresses = sorted(f"{b.host}:{b.port}" for b in metadata.brokers.values())
    if not addresses:
        raise PipelineError("the embedded Kafka started without brokers; is confluent-kafka >= 2.4 installed?")
    return EmbeddedKafka(bootstrap_servers=",".join(addresses), _owner=owner)


def mock_cluster_owner(brokers: int, **config: Any) -> Any:
    """A producer that starts `brokers` mock brokers in this process; they live as long as it does."""
    from confluent_kafka import Producer

    with _signals_blocked():
        return Producer({"test.mock.num.brokers": brokers, **config})


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    # librdkafka blocks every signal in the threads it starts, except the mock cluster's, whose poll loop
    # ends for good when a signal interrupts it: a Ctrl-C or SIGTERM that landed on that thread stopped
    # the embedded Kafka, and the demo then hung while stopping its clients. A new thread inherits its
    # creator's signal mask, so the cluster is started with every signal blocked here; Python's handlers
    # keep running on the main thread, whose mask is restored at once.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
