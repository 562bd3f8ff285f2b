"""Real Filebeat events, as the real Filebeat wrote them to Kafka — the truth the processor's envelope is held to.

real_events/filebeat-9.0.0-SNAPSHOT.ndjson, one event per line: a zap JSON line on stdout written by containerd
(CRI), a Go panic on stderr (CRI) whose lines the rendered multiline settings joined (`log.flags: ["multiline"]`),
and a log/slog JSONHandler line on stdout written by dockerd (json-file).

Source: produced by Filebeat 9.0.0-SNAPSHOT (the `filebeat` real part: github.com/elastic/beats/v7 at
d2e6603d82fb, tools/filebeat/part.toml) in tests/integration/filebeat/test_filebeat_node_logs.py on
2026-12-02: the rendered filebeat.yml (example spec, `hints: false`: container input, add_kubernetes_metadata
against a real kube-apiserver v1.35.4, drop_event, add_fields) reading a node's container logs, shipped to a
real Kafka 4.4 broker and copied from the topic byte for byte. One edit: the test's temporary node root in
`log.file.path` (`/tmp/pytest-of-root/pytest-82/filebeat-node0/node`) was removed, so the path is the node's
`/var/log/containers/…` as in a cluster. Keys are in the order Filebeat wrote them (it walks Go maps, so the
order changes from event to event); `orchestrator.cluster.url` is the test's API server.

The integration test checks that live events have exactly these key paths, so a Filebeat that changes its
event shape fails there, with the new events to record here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

FILEBEAT_VERSION = "9.0.0-SNAPSHOT"
_FILE = Path(__file__).parent / "real_events" / f"filebeat-{FILEBEAT_VERSION}.ndjson"
NAMES = ("cri_zap_line", "cri_go_panic", "docker_slog_line")


def recorded_raw(name: str) -> bytes:
    """The event `name` (one of NAMES) exactly as Kafka delivered it."""
    return _FILE.read_bytes().splitlines()[NAMES.index(name)]


def recorded_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(recorded_raw(name))
    return event


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every dotted path to a value that is not an object (`log.file.path`, `kubernetes.labels.app`, …)."""
    if not isinstance(value, dict):
        return {prefix}
    paths: set[str] = set()
    for key, item in value.items():
        paths |= key_paths(item, f"{prefix}.{key}" if prefix else key)
    return paths
