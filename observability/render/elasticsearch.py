"""Render layer (PURE): the Elasticsearch index template and ILM policy for log data."""

from __future__ import annotations

from typing import Any

from observability.spec import Stack


def render_ilm_policy(stack: Stack) -> dict[str, Any]:
    retention = stack.logging.elasticsearch.retention
    return {"policy": {"phases": {"delete": {"min_age": retention, "actions": {"delete": {}}}}}}


def render_index_template(stack: Stack) -> dict[str, Any]:
    return {"index_patterns": ["logs-*-*"], "data_stream": {}, "priority": 200}
