"""Unit tests: processor.yaml rendering from the Stack, validation and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from observability.cli.io import read_spec
from observability.errors import PipelineError
from observability.render.processor import render_processor_config
from observability.spec import parse_stack
from observability.spec.processor import parse_processor_config


def test_rendered_config_of_the_example_validates(example_spec_path: Path) -> None:
    stack = read_spec(example_spec_path)
    text = render_processor_config(stack)
    config = parse_processor_config(text, "processor.yaml", {})
    assert config.kafka.topic == stack.logging.kafka.topics.logs.name
    assert config.kafka.dead_letter_topic == stack.logging.kafka.topics.dead_letter.name
    assert config.kafka.group == stack.logging.processor.consumer_group
    assert config.elasticsearch.retention == stack.logging.elasticsearch.retention
    assert config.processing.batch_size == stack.logging.processor.batch_size
    assert "password" not in yaml.safe_load(text)["elasticsearch"]


def test_external_sasl_kafka_renders_security() -> None:
    stack = parse_stack(
        "cluster: {name: c}\nlogging:\n  kafka:\n    mode: external\n    external:\n"
        "      bootstrap_servers: ['k1:9093']\n      sasl_mechanism: SCRAM-SHA-512\n"
        "      credentials_secret: {name: kafka-creds, key: password}\n      tls: true\n"
    )
    config = parse_processor_config(render_processor_config(stack), "p.yaml", {})
    assert config.kafka.bootstrap_servers == ["k1:9093"]
    assert config.kafka.security_protocol == "SASL_SSL"
    assert config.kafka.sasl_mechanism == "SCRAM-SHA-512"


def test_env_overrides_and_credentials() -> None:
    text = "kafka: {bootstrap_servers: ['a:1']}\nelasticsearch: {url: 'http://es:9200'}\n"
    env = {
        "OBS_PROCESSOR_KAFKA_BOOTSTRAP_SERVERS": "b:2, c:3",
        "OBS_PROCESSOR_ELASTICSEARCH_USERNAME": "elastic",
        "OBS_PROCESSOR_ELASTICSEARCH_PASSWORD": "pw",
        "OBS_PROCESSOR_PROCESSING_BATCH_SIZE": "17",
        "OBS_PROCESSOR_PROCESSING_FLUSH_INTERVAL": "250ms",
    }
    config = parse_processor_config(text, "p.yaml", env)
    assert config.kafka.bootstrap_servers == ["b:2", "c:3"]
    assert config.elasticsearch.password is not None and config.elasticsearch.password.get_secret_value() == "pw"
    assert config.processing.batch_size == 17
    assert config.flush_interval_s == 0.25
    assert "pw" not in repr(config)


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("kafka: {bootstrap_servers: ['a:1']}\nelasticsearch: {url: 'http://es'}\nextra: 1\n", {}, "extra"),
        ("kafka: {bootstrap_servers: ['a:1']}\nelasticsearch: {url: 'es:9200'}\n", {}, "elasticsearch.url"),
        (
            "kafka: {bootstrap_servers: ['a:1']}\nelasticsearch: {url: 'http://es'}\n",
            {"OBS_PROCESSOR_PROCESSING_BATCH_SIZE": "lots"},
            "$OBS_PROCESSOR_PROCESSING_BATCH_SIZE",
        ),
        ("kafka: [\n", {}, "p.yaml:"),
        ("- 1\n", {}, "top level"),
    ],
)
def test_bad_config_names_the_field(text: str, env: dict[str, str], needle: str) -> None:
    with pytest.raises(PipelineError) as info:
        parse_processor_config(text, "p.yaml", env)
    assert needle in str(info.value)
