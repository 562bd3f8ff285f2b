"""Pipeline layer, PURE: a Filebeat event plus its parsed Go log line → one ECS 8.x document.

`decode_event` checks the Kafka message envelope (permanent problems are returned as a dead-letter reason),
`enrich` builds a NEW document (its inputs are never mutated) and `drop_reason` applies the drop rules.
Nothing here raises on odd input or does I/O. Field choices are listed in docs/processor.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from observability.pipeline.parse import go_duration_ns
from observability.pipeline.redact import Redactor

ECS_VERSION = "8.11.0"
# Envelope nesting guard: Elasticsearch rejects documents nested deeper than index.mapping.depth.limit (20).
_MAX_ENVELOPE_DEPTH = 20

LEVELS = {
    "trace": "trace", "debug": "debug", "dbg": "debug", "d": "debug", "info": "info", "information": "info",
    "i": "info", "notice": "info", "warn": "warn", "warning": "warn", "w": "warn", "error": "error",
    "err": "error", "e": "error", "dpanic": "error", "critical": "fatal", "crit": "fatal", "fatal": "fatal",
    "f": "fatal", "panic": "panic", "-1": "trace", "0": "debug", "1": "info", "2": "warn", "3": "error",
    "4": "fatal", "5": "panic",
}  # fmt: skip

_TRACE_KEYS = ("trace_id", "traceId", "traceID", "trace.id", "dd.trace_id", "trace-id", "x-b3-traceid")
_SPAN_KEYS = ("span_id", "spanId", "spanID", "span.id", "dd.span_id", "span-id", "x-b3-spanid")
_METHOD_KEYS = ("method", "http.method", "http_method", "request_method")
_STATUS_KEYS = ("status", "status_code", "statusCode", "http.status_code", "http_status", "code")
_PATH_KEYS = ("path", "url", "uri", "request_uri", "http.path", "url.path", "route")
_DURATION_KEYS = ("latency", "duration", "elapsed", "took", "latency_ms", "duration_ms", "elapsed_ms")
_IP_KEYS = ("client_ip", "clientIP", "clientIp", "remote_addr", "remote_ip", "ip", "client.ip")
_UA_KEYS = ("user_agent", "userAgent", "ua", "http.user_agent", "user_agent.original")
_HTTP_KEYS = frozenset(
    (*_METHOD_KEYS, *_STATUS_KEYS, *_PATH_KEYS, *_DURATION_KEYS, *_IP_KEYS, *("user_agent", "userAgent", "ua",
     "http.user_agent", "user_agent.original"))
)  # fmt: skip
_ID_KEYS = frozenset((*_TRACE_KEYS, *_SPAN_KEYS, "traceparent"))
_SERVICE_LABELS = ("app_kubernetes_io/name", "app.kubernetes.io/name", "app", "k8s-app", "name")
_VERSION_LABELS = ("app_kubernetes_io/version", "app.kubernetes.io/version", "version")
_FINGERPRINT_NOISE = re.compile(
    r"0x[0-9a-fA-F]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{16,}\b|\d+(?:\.\d+)*|\"[^\"]*\"|'[^']*'"
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


@dataclass(frozen=True)
class CompiledDropRule:
    path: tuple[str, ...]
    equals: str | None
    matches: re.Pattern[str] | None
    name: str


@dataclass(frozen=True)
class EnrichSettings:
    """Everything enrich needs, precompiled once at start."""

    dataset: str = "go"
    namespace: str = "default"
    index: str | None = None
    """Index name pattern ({namespace}, {service}, {date} placeholders); None = data stream."""
    environment: str | None = None
    drop: tuple[CompiledDropRule, ...] = ()
    redactor: Redactor = field(default_factory=lambda: Redactor(()))


def compile_drop_rules(rules: Iterable[Any]) -> tuple[CompiledDropRule, ...]:
    """spec DropRule models (field/equals/matches) → compiled rules."""
    out = []
    for rule in rules:
        pattern = re.compile(rule.matches) if rule.matches is not None else None
        name = f"{rule.field}={rule.equals}" if rule.equals is not None else f"{rule.field}~{rule.matches}"
        out.append(CompiledDropRule(tuple(rule.field.split(".")), rule.equals, pattern, name))
    return tuple(out)


def decode_event(raw: bytes | None, max_bytes: int) -> tuple[dict[str, Any] | None, str | None, str]:
    """Kafka value → (event, None, "") or (None, reason, detail) for the dead-letter topic."""
    if raw is None:
        return None, "invalid_json", "the Kafka message has no value (tombstone)"
    if len(raw) > max_bytes:
        return None, "too_large", f"{len(raw)} bytes exceeds kafka.max_message_bytes={max_bytes}"
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        return None, "invalid_json", f"not a JSON Filebeat event: {e}"
    if not isinstance(event, dict):
        return None, "not_an_object", f"a Filebeat event is a JSON object, got {type(event).__name__}"
    message = event.get("message")
    if message is None:
        return None, "missing_field", "the event has no 'message' field (Filebeat always sets it)"
    if not isinstance(message, str):
        return None, "invalid_field", f"'message' must be a string, got {type(message).__name__}"
    for key in ("kubernetes", "container", "host", "agent", "log", "fields", "input"):
        value = event.get(key)
        if value is not None and not isinstance(value, dict):
            return None, "invalid_field", f"'{key}' must be an object, got {type(value).__name__}"
    ts = event.get("@timestamp")
    if ts is not None and not isinstance(ts, str):
        return None, "invalid_field", f"'@timestamp' must be an ISO 8601 string, got {type(ts).__name__}"
    if raw.count(b"{") + raw.count(b"[") > _MAX_ENVELOPE_DEPTH and _depth(event) > _MAX_ENVELOPE_DEPTH:
        return None, "too_deep", f"the event is nested deeper than {_MAX_ENVELOPE_DEPTH} levels"
    return event, None, ""


def _depth(value: Any) -> int:
    # Iterative, so a hostile 1000-level document cannot exhaust the Python stack.
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > _MAX_ENVELOPE_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _pop_any(fields: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in fields:
            return fields.pop(key)
    return None


def _fields_duration_ns(fields: dict[str, Any]) -> int | None:
    for key in _DURATION_KEYS:
        if key in fields:
            value = fields.pop(key)
            if isinstance(value, bool):
                return None
            if isinstance(value, int | float):
                if key.endswith("_ms"):
                    return int(value * 1_000_000)
                # zap encodes durations as float seconds by default, or integer nanoseconds.
                return int(value * 1_000_000_000) if isinstance(value, float) else int(value)
            if isinstance(value, str):
                return go_duration_ns(value)
            return None
    return None


def _service(kubernetes: dict[str, Any], container: dict[str, Any], fields: dict[str, Any]) -> dict[str, str]:
    labels = kubernetes.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    service: dict[str, str] = {}
    for key in _SERVICE_LABELS:
        if isinstance(labels.get(key), str):
            service["name"] = labels[key]
            break
    else:
        app_service = fields.get("service")
        deployment = kubernetes.get("deployment")
        kcontainer = kubernetes.get("container")
        if isinstance(app_service, str):
            service["name"] = app_service
        elif isinstance(deployment, dict) and isinstance(deployment.get("name"), str):
            service["name"] = deployment["name"]
        elif isinstance(kcontainer, dict) and isinstance(kcontainer.get("name"), str):
            service["name"] = kcontainer["name"]
    for key in _VERSION_LABELS:
        if isinstance(labels.get(key), str):
            service["version"] = labels[key]
            break
    else:
        image = container.get("image")
        name = image.get("name") if isinstance(image, dict) else None
        if isinstance(name, str) and ":" in name.rsplit("/", 1)[-1]:
            service["version"] = name.rsplit(":", 1)[1]
    return service


def fingerprint(service: str, error_type: str, message: str, function: str) -> str:
    """Stable id for 'the same error': numbers, ids and quoted values are masked before hashing."""
    shape = _FINGERPRINT_NOISE.sub("_", message)[:300]
    return hashlib.sha1(f"{service}|{error_type}|{shape}|{function}".encode(), usedforsecurity=False).hexdigest()[:16]


def _http_from_fields(fields: dict[str, Any], parsed_http: dict[str, Any] | None) -> dict[str, Any]:
    http: dict[str, Any] = dict(parsed_http) if parsed_http else {}
    if not fields or fields.keys().isdisjoint(_HTTP_KEYS):
        return http  # fast path: most lines carry none of these fields
    if "method" not in http:
        method = fields.get("method") if "method" in fields else _pop_any(fields, _METHOD_KEYS[1:])
        if isinstance(method, str) and method.upper() in _METHODS:
            http["method"] = method.upper()
            fields.pop("method", None)
    if "status_code" not in http:
        for key in _STATUS_KEYS:
            value = fields.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                http["status_code"] = value
                del fields[key]
                break
            if isinstance(value, str) and len(value) == 3 and value.isdigit() and key != "code":
                http["status_code"] = int(value)
                del fields[key]
                break
    if "path" not in http:
        for key in _PATH_KEYS:
            value = fields.get(key)
            if isinstance(value, str) and value.startswith("/"):
                http["path"] = value
                del fields[key]
                break
    if "duration_ns" not in http:
        duration = _fields_duration_ns(fields)
        if duration is not None:
            http["duration_ns"] = duration
    if "client_ip" not in http:
        value = _pop_any(fields, _IP_KEYS)
        if isinstance(value, str) and value:
            http["client_ip"] = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    value = _pop_any(fields, _UA_KEYS)
    if isinstance(value, str):
        http["user_agent"] = value
    return http


def _level(parsed: dict[str, Any], http: dict[str, Any], stream: str | None) -> str:
    raw = parsed.get("level")
    if isinstance(raw, str):
        return LEVELS.get(raw.strip().lower(), "unknown")
    status = http.get("status_code")
    if isinstance(status, int):
        return "error" if status >= 500 else "warn" if status >= 400 else "info"
    return "error" if stream == "stderr" and parsed.get("format") == "plain" and parsed.get("error") else "info"


def enrich(event: dict[str, Any], parsed: dict[str, Any], settings: EnrichSettings) -> dict[str, Any]:
    """Build the ECS document for one event. Returns a new dict; `event` and `parsed` are left untouched."""
    fields_in = parsed.get("fields")
    fields: dict[str, Any] = dict(fields_in) if isinstance(fields_in, dict) else {}
    kubernetes = event.get("kubernetes") or {}
    container = event.get("container") or {}
    stream = parsed.get("stream") or event.get("stream")
    http = _http_from_fields(fields, parsed.get("http"))
    level = _level(parsed, http, stream if isinstance(stream, str) else None)
    timestamp = parsed.get("timestamp") or event.get("@timestamp")
    redactor = settings.redactor
    message = redactor.text(str(parsed.get("message", "")))

    log: dict[str, Any] = {"level": level}
    log_in = event.get("log")
    if isinstance(log_in, dict):
        for key in ("file", "offset"):
            if key in log_in:
                log[key] = log_in[key]
    if "logger" in parsed:
        log["logger"] = str(parsed["logger"])
    caller = parsed.get("caller")
    origin: dict[str, Any] = {}
    if isinstance(caller, str) and ":" in caller:
        file_name, _, line = caller.rpartition(":")
        origin["file"] = {"name": file_name, "line": int(line)} if line.isdigit() else {"name": caller}
    if "function" in parsed:
        origin["function"] = str(parsed["function"])
    if origin:
        log["origin"] = origin

    doc: dict[str, Any] = {
        "@timestamp": timestamp,
        "message": message,
        "log": log,
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": settings.dataset},
        "data_stream": {"type": "logs", "dataset": settings.dataset, "namespace": settings.namespace},
    }
    if isinstance(stream, str):
        doc["log"]["stream"] = stream  # not ECS, but Filebeat's own 'stream' field moved under log
    service = _service(kubernetes, container, fields)
    if settings.environment:
        service["environment"] = settings.environment
    if service:
        doc["service"] = service
    if fields and not fields.keys().isdisjoint(_ID_KEYS):  # one set test for the many lines without ids
        _put_trace(doc, fields)

    if http:
        _put_http(doc, http, redactor)
    error_message = parsed.get("error")
    stack_trace = parsed.get("stack_trace")
    if error_message is not None or stack_trace is not None or level in ("error", "fatal", "panic"):
        error: dict[str, Any] = {}
        if error_message is not None:
            error["message"] = redactor.text(str(error_message))
        if stack_trace is not None:
            error["stack_trace"] = str(stack_trace)
        if parsed.get("format") == "go_panic":
            error["type"] = "panic"
        error["fingerprint"] = fingerprint(
            service.get("name", ""), error.get("type", ""), error.get("message") or message,
            str(origin.get("function", "")),
        )  # fmt: skip
        doc["error"] = error
    for key in ("kubernetes", "container", "host", "agent", "cloud", "orchestrator"):
        value = event.get(key)
        if isinstance(value, dict):
            doc[key] = value
    input_ = event.get("input")
    if isinstance(input_, dict):
        doc["input"] = input_
    custom = event.get("fields")
    if isinstance(custom, dict) and custom:
        doc["fields"] = redactor.mapping(custom)
    go: dict[str, Any] = {"format": parsed.get("format", "plain")}
    if fields:
        go["fields"] = redactor.mapping(fields)
    doc["go"] = go
    return doc


def _put_trace(doc: dict[str, Any], fields: dict[str, Any]) -> None:
    for out_key, keys in (("trace", _TRACE_KEYS), ("span", _SPAN_KEYS)):
        value = _pop_any(fields, keys)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            doc[out_key] = {"id": str(value)}
    traceparent = fields.pop("traceparent", None)
    if isinstance(traceparent, str) and "trace" not in doc:
        parts = traceparent.split("-")
        if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
            doc["trace"], doc["span"] = {"id": parts[1]}, {"id": parts[2]}


def _put_http(doc: dict[str, Any], http: dict[str, Any], redactor: Redactor) -> None:
    request: dict[str, Any] = {}
    if "method" in http:
        request["method"] = http["method"]
    out: dict[str, Any] = {}
    if request:
        out["request"] = request
    if "status_code" in http:
        out["response"] = {"status_code": http["status_code"]}
    if out:
        doc["http"] = out
    if "path" in http:
        path, _, query = str(http["path"]).partition("?")
        doc["url"] = {"path": path}
        if query:
            doc["url"]["query"] = redactor.query(query)
    if "duration_ns" in http:
        doc["event"]["duration"] = http["duration_ns"]
    if "client_ip" in http:
        doc["client"] = {"ip": http["client_ip"]}
    if "user_agent" in http:
        doc["user_agent"] = {"original": http["user_agent"]}


def drop_reason(doc: dict[str, Any], rules: tuple[CompiledDropRule, ...]) -> str | None:
    """The name of the first drop rule matching the document, else None."""
    for rule in rules:
        value: Any = doc
        for part in rule.path:
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if value is None or isinstance(value, dict | list):
            continue
        text = str(value)
        if (rule.equals is not None and text == rule.equals) or (rule.matches and rule.matches.search(text)):
            return rule.name
    return None


def index_name(doc: dict[str, Any], settings: EnrichSettings) -> str:
    """Target of the document: 'logs-<dataset>-<namespace>' or the configured pattern, filled in."""
    if settings.index is None:
        return f"logs-{settings.dataset}-{settings.namespace}"
    kubernetes = doc.get("kubernetes") or {}
    ts = str(doc.get("@timestamp") or "")
    return (
        settings.index.replace("{namespace}", str(kubernetes.get("namespace") or "unknown"))
        .replace("{service}", str((doc.get("service") or {}).get("name") or "unknown"))
        .replace("{date}", ts[:10].replace("-", ".") if len(ts) >= 10 else "unknown")
        .lower()
    )
