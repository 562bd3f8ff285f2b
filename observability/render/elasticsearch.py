"""Render layer (PURE): the Elasticsearch index template and ILM policy for the processor's log data.

The template maps every field the processor writes (docs/processor.md) with its ECS 8.x type, declares
the data stream (`logs-<dataset>-*`, priority 200 so it wins over Elasticsearch's built-in `logs-*-*`
template at 100) and points at the ILM policy, which rolls over hot backing indices and deletes data
older than `logging.elasticsearch.retention`. With a configured index pattern (no data stream) the same
mappings apply to the pattern and the policy only deletes (rollover needs an alias those indices lack).
The processor creates both idempotently at start (apply/elasticsearch.py), from its processor.yaml.
"""

from __future__ import annotations

import re
from typing import Any

from observability.spec import Stack

TEMPLATE_PRIORITY = 200


def _kw(ignore_above: int = 1024) -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": ignore_above}


def log_mappings(data_stream: bool) -> dict[str, Any]:
    """ECS mappings of the document fields the processor produces."""
    text_kw = {"type": "match_only_text", "fields": {"keyword": _kw()}}
    properties: dict[str, Any] = {
        "@timestamp": {"type": "date"},
        "message": {"type": "match_only_text"},
        "ecs": {"properties": {"version": _kw()}},
        "log": {"properties": {
            "level": _kw(), "logger": _kw(), "stream": _kw(), "offset": {"type": "long"},
            "file": {"properties": {"path": _kw()}},
            "origin": {"properties": {
                "function": _kw(), "file": {"properties": {"name": _kw(), "line": {"type": "long"}}},
            }},
        }},
        "event": {"properties": {"kind": _kw(), "dataset": _kw(), "duration": {"type": "long"}}},
        "service": {"properties": {"name": _kw(), "version": _kw(), "environment": _kw()}},
        "trace": {"properties": {"id": _kw()}},
        "span": {"properties": {"id": _kw()}},
        "http": {"properties": {
            "request": {"properties": {"method": _kw()}},
            "response": {"properties": {"status_code": {"type": "long"}}},
        }},
        "url": {"properties": {"path": {"type": "wildcard"}, "query": _kw()}},
        "client": {"properties": {"ip": {"type": "ip", "ignore_malformed": True}}},
        "user_agent": {"properties": {
            "original": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}},
        }},
        "error": {"properties": {
            "message": text_kw, "stack_trace": {"type": "wildcard"}, "type": _kw(), "fingerprint": _kw(),
        }},
        "kubernetes": {"properties": {
            "namespace": _kw(), "pod": {"properties": {"name": _kw(), "uid": _kw(), "ip": _kw()}},
            "node": {"properties": {"name": _kw()}}, "container": {"properties": {"name": _kw()}},
            "deployment": {"properties": {"name": _kw()}}, "labels": {"type": "flattened"},
            "annotations": {"type": "flattened"},
        }},
        "container": {"properties": {"id": _kw(), "runtime": _kw(), "image": {"properties": {"name": _kw()}}}},
        "host": {"properties": {"name": _kw()}},
        "agent": {"properties": {"type": _kw(), "version": _kw(), "name": _kw(), "id": _kw()}},
        "input": {"properties": {"type": _kw()}},
        "fields": {"type": "flattened"},
        "go": {"properties": {"format": _kw(), "fields": {"type": "flattened", "depth_limit": 20}}},
    }  # fmt: skip
    if data_stream:
        properties["data_stream"] = {"properties": {
            "type": {"type": "constant_keyword"}, "dataset": {"type": "constant_keyword"},
            "namespace": {"type": "constant_keyword"},
        }}  # fmt: skip
    return {
        "dynamic_templates": [
            {"strings_as_keyword": {"match_mapping_type": "string", "mapping": _kw()}},
        ],
        "properties": properties,
    }


def ilm_policy_body(retention: str, rollover: bool = True) -> dict[str, Any]:
    """Hot phase with rollover (data streams), then delete once data is older than `retention`."""
    phases: dict[str, Any] = {}
    if rollover:
        phases["hot"] = {
            "min_age": "0ms",
            "actions": {"rollover": {"max_primary_shard_size": "50gb", "max_age": "1d"}},
        }
    phases["delete"] = {"min_age": retention, "actions": {"delete": {}}}
    return {"policy": {"_meta": {"managed_by": "observability"}, "phases": phases}}


def template_names(dataset: str, index: str | None) -> tuple[str, str, list[str]]:
    """(index template name, ILM policy name, index patterns) for a dataset or an index name pattern."""
    if index is None:
        return f"obs-logs-{dataset}", f"obs-logs-{dataset}", [f"logs-{dataset}-*"]
    pattern = re.sub(r"\{[a-z]+\}", "*", index).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", pattern.replace("*", "")).strip("-") or "custom"
    return f"obs-{slug}", f"obs-{slug}", [pattern]


def index_template_body(dataset: str, index: str | None, retention: str) -> dict[str, Any]:
    """The composable index template (PUT _index_template/<name>)."""
    data_stream = index is None
    _, policy, patterns = template_names(dataset, index)
    body: dict[str, Any] = {
        "index_patterns": patterns,
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {"index": {"lifecycle": {"name": policy}, "codec": "best_compression"}},
            "mappings": log_mappings(data_stream),
        },
        "_meta": {"managed_by": "observability", "retention": retention},
    }
    if data_stream:
        body["data_stream"] = {}
    return body


def render_ilm_policy(stack: Stack) -> dict[str, Any]:
    proc = stack.logging.processor
    return ilm_policy_body(stack.logging.elasticsearch.retention, rollover=proc.index is None)


def render_index_template(stack: Stack) -> dict[str, Any]:
    proc = stack.logging.processor
    return index_template_body(proc.data_stream_dataset, proc.index, stack.logging.elasticsearch.retention)
