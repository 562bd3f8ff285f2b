"""Render layer (PURE): the log processor's processor.yaml, from the Stack.

The file follows `observability.spec.processor.ProcessorConfig`. It never contains credentials: the
processor Deployment mounts this file at /etc/processor/processor.yaml and passes them as env vars:

  OBS_PROCESSOR_ELASTICSEARCH_USERNAME  key 'username' of the Elasticsearch credentials Secret
  OBS_PROCESSOR_ELASTICSEARCH_PASSWORD  key 'password' of the same Secret
                                        (managed: names.elasticsearch_credentials(stack).name;
                                         external: logging.elasticsearch.external.credentials_secret)
  OBS_PROCESSOR_KAFKA_USERNAME / OBS_PROCESSOR_KAFKA_PASSWORD
                                        keys 'username'/'password' of logging.kafka.external.credentials_secret
                                        (only when sasl_mechanism is set)
"""

from __future__ import annotations

from typing import Any

from observability.render.names import elasticsearch_url, kafka_bootstrap_servers, routed_topic_pattern
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack

CONFIG_MOUNT_PATH = "/etc/processor/processor.yaml"
ENV_ELASTICSEARCH_USERNAME = "OBS_PROCESSOR_ELASTICSEARCH_USERNAME"
ENV_ELASTICSEARCH_PASSWORD = "OBS_PROCESSOR_ELASTICSEARCH_PASSWORD"
ENV_KAFKA_USERNAME = "OBS_PROCESSOR_KAFKA_USERNAME"
ENV_KAFKA_PASSWORD = "OBS_PROCESSOR_KAFKA_PASSWORD"


def _kafka_security(stack: Stack) -> dict[str, Any]:
    ext = stack.logging.kafka.external
    if stack.logging.kafka.mode != "external" or ext is None:
        return {"security_protocol": "PLAINTEXT"}
    if ext.sasl_mechanism:
        protocol = "SASL_SSL" if ext.tls else "SASL_PLAINTEXT"
        return {"security_protocol": protocol, "sasl_mechanism": ext.sasl_mechanism}
    return {"security_protocol": "SSL" if ext.tls else "PLAINTEXT"}


def render_processor_settings(stack: Stack) -> dict[str, Any]:
    """processor.yaml as a mapping (validated by ProcessorConfig in tests)."""
    logging = stack.logging
    proc = logging.processor
    es = logging.elasticsearch
    elasticsearch: dict[str, Any] = {
        "url": elasticsearch_url(stack),
        "tls_skip_verify": bool(es.external.tls_skip_verify) if es.mode == "external" and es.external else False,
        "index": proc.index,
        "data_stream_dataset": proc.data_stream_dataset,
        "data_stream_namespace": proc.data_stream_namespace,
        "retention": es.retention,
        "setup": True,
    }
    return {
        "kafka": {
            "bootstrap_servers": kafka_bootstrap_servers(stack),
            "topic": logging.kafka.topics.logs.name,
            "topic_pattern": routed_topic_pattern(stack),
            "group": proc.consumer_group,
            "dead_letter_topic": logging.kafka.topics.dead_letter.name,
            **_kafka_security(stack),
            "max_message_bytes": logging.filebeat.max_message_bytes,
        },
        "elasticsearch": elasticsearch,
        "processing": {
            "batch_size": proc.batch_size,
            "flush_interval": proc.flush_interval,
            "max_in_flight": proc.max_in_flight,
            "environment": proc.environment,
            "drop": [rule.model_dump(exclude_none=True) for rule in proc.drop],
            "redact_fields": list(proc.redact_fields),
        },
        "metrics": {"host": "0.0.0.0", "port": proc.metrics_port},
    }


def render_processor_config(stack: Stack) -> str:
    return dump_yaml(render_processor_settings(stack))
