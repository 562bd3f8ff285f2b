"""Render layer (PURE): filebeat.yml."""

from __future__ import annotations

from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack


def render_filebeat_config(stack: Stack) -> str:
    kafka = stack.logging.kafka
    config = {
        "filebeat.inputs": [{"type": "container", "paths": ["/var/log/containers/*.log"]}],
        "output.kafka": {"hosts": ["kafka:9092"], "topic": kafka.topics.logs.name},
    }
    return dump_yaml(config)
