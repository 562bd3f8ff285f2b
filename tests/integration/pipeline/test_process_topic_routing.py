"""With Filebeat topic routing, the processor consumes every routed topic and never its dead-letter topic.

Real Kafka protocol (confluent-kafka's mock cluster); the subscription comes from the rendered config.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from observability.pipeline.source import open_consumer
from observability.render import Sources, render_config_files
from observability.spec import parse_stack
from observability.spec.processor import ProcessorConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from mock_kafka import mock_cluster

pytestmark = pytest.mark.integration


def test_routed_topics_are_consumed_and_dead_letters_are_not(example_spec_path) -> None:
    text = example_spec_path.read_text().replace("topic_routing: none", "topic_routing: namespace")
    stack = parse_stack(text)
    rendered = yaml.safe_load(render_config_files(stack, Sources()).files["processor/processor.yaml"])

    producer, brokers = mock_cluster()
    for topic in ("logs", "logs.shop", "logs.payments", "logs-dead-letter"):
        producer.produce(topic, f"to {topic}".encode())
    producer.flush(10)

    rendered["kafka"]["bootstrap_servers"] = brokers.split(",")
    rendered["kafka"]["client_config"] = {"auto.offset.reset": "earliest", "topic.metadata.refresh.interval.ms": 500}
    settings = ProcessorConfig.model_validate(rendered).kafka
    consumer = open_consumer(settings)
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and len(seen) < 3:
            for message in consumer.consume(100, timeout=0.5):
                if message.error() is None:
                    seen.add(message.topic())
        # give a wrongly matching subscription time to deliver the dead letter too
        for message in consumer.consume(100, timeout=2):
            if message.error() is None:
                seen.add(message.topic())
    finally:
        consumer.close()
    assert seen == {"logs", "logs.shop", "logs.payments"}
