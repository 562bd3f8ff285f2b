"""Test/bench helper: Filebeat events exactly as Filebeat's Kafka output (codec.json) emits them.

Shapes follow Filebeat's documented exported fields: `@timestamp`, `@metadata`, `message`, `log.offset`,
`log.file.path`, `stream`, `input.type`, `container.{id,runtime,image.name}`, `kubernetes.{pod.{name,uid,ip},
namespace, namespace_uid, node.{name,uid,hostname}, labels.*, deployment.name, replicaset.name,
container.name}` (labels de-dotted: '.' → '_', Filebeat's default), `host.name`, `agent.*`, `ecs.version`
and custom `fields`.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

# One line per format the processor recognises, realistic for Go services.
LINES: dict[str, str] = {
    "zap_json": '{"level":"info","ts":1795408642.123456,"logger":"http","caller":"server/handler.go:88",'
    '"msg":"request handled","method":"GET","path":"/api/v1/orders/8812","status":200,"latency":0.004213,'
    '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","user_agent":"curl/8.5.0"}',
    "zap_json_error": '{"level":"error","ts":1795408642.5,"caller":"db/pool.go:141","msg":"query failed",'
    '"error":"pq: canceling statement due to user request (query id 77812)","attempt":3,'
    '"stacktrace":"main.(*Store).Get\\n\\t/app/db/pool.go:141\\nmain.handler\\n\\t/app/server/handler.go:90"}',
    "zap_console": "2026-11-23T04:37:22.123Z\tINFO\tworker\tjobs/runner.go:51\tjob finished\t"
    '{"job":"reindex","duration":"1.52s","items":1200}',
    "logrus_json": '{"level":"warning","msg":"cache miss ratio high","time":"2026-11-23T05:37:22+01:00",'
    '"ratio":0.42,"cache":"sessions"}',
    "logrus_text": 'time="2026-11-23T04:37:22Z" level=error msg="payment declined" order=8812 '
    'error="card expired" password=hunter2',
    "zerolog_json": '{"level":"debug","service":"inventory","time":"2026-11-23T04:37:22Z",'
    '"message":"stock reserved","sku":"A-1","qty":2}',
    "go_log": "2026/11/23 04:37:22 main.go:41: listening on :8080",
    "klog": "I1123 04:37:22.123456       1 leaderelection.go:250] attempting to acquire leader lease",
    "gin": '[GIN] 2026/11/23 - 04:37:22 | 503 |    12.5ms |      10.42.0.17 | POST     "/api/v1/pay?token=abc"',
    "go_panic": "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 42 [running]:\n"
    "main.lookup(0xc000012345, 0x3)\n\t/app/lookup.go:17 +0x1d\nmain.main()\n\t/app/main.go:12 +0x25\n"
    "exit status 2",
    "plain": "Starting checkout service version 1.4.2 in production mode",
}


def filebeat_event(message: str, *, namespace: str = "shop", app: str = "checkout", version: str = "1.4.2",
                   pod: str = "checkout-7d9f8c6b5-x2x9z", offset: int = 1024, node: str = "node-1",
                   stream: str = "stdout") -> dict[str, Any]:  # fmt: skip
    """One event of Filebeat's container input with add_kubernetes_metadata, as sent to Kafka."""
    return {
        "@timestamp": "2026-11-23T04:37:22.456Z",
        "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.15.3"},
        "message": message,
        "log": {"offset": offset, "file": {"path": f"/var/log/containers/{pod}_{namespace}_app-0a1b2c.log"}},
        "stream": stream,
        "input": {"type": "container"},
        "container": {
            "id": "0a1b2c3d4e5f",
            "runtime": "containerd",
            "image": {"name": f"ghcr.io/acme/{app}:{version}"},
        },
        "kubernetes": {
            "pod": {"name": pod, "uid": "5f7c1f4e-2f4b-4d1e-9a43-2b8c1e0d9a11"},
            "namespace": namespace,
            "node": {"name": node},
            "labels": {
                "app_kubernetes_io/name": app,
                "app_kubernetes_io/version": version,
                "pod-template-hash": "7d9f8c6b5",
            },
            "deployment": {"name": app},
            "replicaset": {"name": f"{app}-7d9f8c6b5"},
            "container": {"name": "app"},
        },
        "host": {"name": node},
        "agent": {
            "type": "filebeat",
            "version": "8.15.3",
            "name": "filebeat-abcde",
        },
        "ecs": {"version": "8.0.0"},
        "fields": {"cluster": "prod-eu-1"},
    }


def event_bytes(message: str, **kwargs: Any) -> bytes:
    return orjson.dumps(filebeat_event(message, **kwargs))


def compact_event(message: str, **kwargs: Any) -> dict[str, Any]:
    """An event after the common `drop_fields` of @metadata, host, agent ids and replicaset (500–1000 bytes)."""
    event = filebeat_event(message, **kwargs)
    for key in ("@metadata", "host"):
        event.pop(key)
    event["kubernetes"].pop("replicaset")
    event["kubernetes"]["pod"].pop("uid")
    event["agent"] = {"type": "filebeat", "version": "8.15.3"}
    return event


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    return value


def mixed_events(count: int, seed: int = 7, compact: bool = False, shuffle_keys: bool = False) -> list[bytes]:
    """`count` serialized events cycling through every format, with varied services and offsets.

    shuffle_keys: every object's keys in a new random order per event, as Filebeat writes them (its JSON
    encoder, go-structform, walks Go maps, whose iteration order Go randomises on every walk)."""
    rng = random.Random(seed)
    order = random.Random(seed + 1)  # its own generator: the same events with or without shuffled keys
    lines = list(LINES.values())
    apps = [("checkout", "shop"), ("payments", "shop"), ("inventory", "stock"), ("gateway", "edge")]
    out = []
    for i in range(count):
        app, namespace = apps[rng.randrange(len(apps))]
        kwargs: dict[str, Any] = {"app": app, "namespace": namespace, "offset": i * 300,
                                  "pod": f"{app}-7d9f8c6b5-{i % 7}x2z"}  # fmt: skip
        line = lines[i % len(lines)]
        event = compact_event(line, **kwargs) if compact else filebeat_event(line, **kwargs)
        out.append(orjson.dumps(_shuffled(event, order) if shuffle_keys else event))
    return out
