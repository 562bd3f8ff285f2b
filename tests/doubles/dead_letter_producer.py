"""A failure-injection double for the dead-letter producer: a real confluent-kafka Producer behind a gate.

Not a model of Kafka: it only decides *whether* a produce is acknowledged. `mode`:
- "ok": every call goes straight to the real producer (real broker, real acknowledgement);
- "fail": each produce is answered, at the next poll, with the error librdkafka reports when a message could
  not be delivered in time (_MSG_TIMED_OUT), as with every broker of the topic down;
- "stall": produces are held and never answered (a broker that accepts connections and never replies);
  held messages go to the real producer once the mode is "ok" again.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from confluent_kafka import KafkaError, Producer


class GatedProducerDouble:
    """Replaces `confluent_kafka.Producer` in observability.pipeline.source for one test (monkeypatch)."""

    instances: ClassVar[list[GatedProducerDouble]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        self._real = Producer(config)
        self.mode = "ok"
        self.failed = 0
        self._lock = threading.Lock()
        self._failing: list[Any] = []
        self._held: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        GatedProducerDouble.instances.append(self)

    def produce(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            if self.mode == "fail":
                self._failing.append(kwargs.get("on_delivery"))
                return
            if self.mode == "stall":
                self._held.append((args, kwargs))
                return
        self._real.produce(*args, **kwargs)

    def poll(self, timeout: float = 0.0) -> int:
        with self._lock:
            failing, self._failing = self._failing, []
            released = self._held if self.mode == "ok" else []
            if released:
                self._held = []
        for callback in failing:
            self.failed += 1
            if callback is not None:
                callback(KafkaError(KafkaError._MSG_TIMED_OUT), None)
        for args, kwargs in released:
            self._real.produce(*args, **kwargs)
        return self._real.poll(timeout)

    def flush(self, timeout: float = -1) -> int:
        self.poll(0)
        return self._real.flush(timeout) + len(self._held)

    def __len__(self) -> int:
        return len(self._real) + len(self._held)
