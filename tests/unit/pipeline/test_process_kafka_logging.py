"""librdkafka's messages reach Python logging, not raw `%N|...` lines on stderr."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from confluent_kafka import Producer

from observability.pipeline.source import producer_config
from observability.spec.processor import KafkaSettings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_client_errors_are_logged_through_python_logging(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = KafkaSettings(bootstrap_servers=[f"127.0.0.1:{_closed_port()}"])
    caplog.set_level(logging.DEBUG, logger="observability.processor.kafka")
    producer = Producer(producer_config(settings))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not caplog.records:
        producer.poll(0.2)
    assert any("Connect to" in r.getMessage() or "refused" in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    assert "|FAIL|" not in capfd.readouterr().err
