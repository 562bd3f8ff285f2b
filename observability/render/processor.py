"""Render layer (PURE): the log processor's processor.yaml."""

from __future__ import annotations

from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack


def render_processor_config(stack: Stack) -> str:
    proc = stack.logging.processor
    return dump_yaml({"kafka": {"topic": stack.logging.kafka.topics.logs.name, "group": proc.consumer_group}})
