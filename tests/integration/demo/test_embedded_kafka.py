"""The embedded Kafka (librdkafka's mock cluster) survives signals sent to the demo while it runs."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer

from observability.demo.kafka import start_embedded_kafka

pytestmark = pytest.mark.integration


def thread_ids(name: str) -> list[int]:
    tasks = Path("/proc/self/task")
    return [int(t.name) for t in tasks.iterdir() if (t / "comm").read_text().strip() == name]


def brokers_answer(bootstrap: str) -> bool:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe", "socket.timeout.ms": 2000})
    try:
        consumer.list_topics(timeout=5)
        return True
    except KafkaException:
        return False
    finally:
        consumer.close()


def test_a_signal_landing_on_the_mock_cluster_thread_does_not_stop_the_brokers():
    # The kernel hands a process signal to any thread that does not block it; send it to the mock
    # cluster's thread directly, as an unlucky Ctrl-C or SIGTERM would.
    handled = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda *_: handled.set())
    try:
        kafka = start_embedded_kafka(brokers=1, topics=("logs",))
        try:
            (mock_thread,) = thread_ids("rdk:mock")
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.tgkill(os.getpid(), mock_thread, signal.SIGUSR1) == 0, ctypes.get_errno()
            time.sleep(0.5)
            assert brokers_answer(kafka.bootstrap_servers)
            # the signal waits, blocked, on that thread; the main thread's handlers are untouched
            os.kill(os.getpid(), signal.SIGUSR1)
            assert handled.wait(5)
            producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
            producer.produce("logs", b"still here")
            assert producer.flush(10) == 0
        finally:
            kafka.stop()
    finally:
        signal.signal(signal.SIGUSR1, previous)
