"""Pipeline layer, PURE: a Filebeat event plus its parsed Go log line → one ECS 8.x document.

`enrich_envelope` builds a NEW document from an envelope (pipeline.envelope; its inputs are never mutated),
`encode_document` turns it into JSON and `drop_reason` applies the drop rules. Nothing here raises on odd
input or does I/O. Field choices are listed in docs/processor.md.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from observability.pipeline.envelope import (
    OBJECT_FIELDS,
    PASSTHROUGH,
    Envelope,
    EnvelopeReader,
    InvalidEnvelope,
    envelope_from_event,
)
from observability.pipeline.jsonexact import loads_exact
from observability.pipeline.parse import go_duration_ns
from observability.pipeline.redact import Redactor

ECS_VERSION = "8.11.0"
MAX_FIELD_CHARS = 8191
"""Longest string kept in go.fields (32,766 bytes, Elasticsearch's keyword limit, over 4 bytes a character)."""
_ECS = {"version": ECS_VERSION}
_encoder = msgspec.json.Encoder()
_DICT_READER = EnvelopeReader(max_bytes=2**62)  # enrich()'s memo (a pure cache: same text, same answer)

LEVELS = {
    "trace": "trace", "debug": "debug", "dbg": "debug", "d": "debug", "info": "info", "information": "info",
    "i": "info", "notice": "info", "warn": "warn", "warning": "warn", "w": "warn", "error": "error",
    "err": "error", "e": "error", "dpanic": "error", "critical": "fatal", "crit": "fatal", "fatal": "fatal",
    "f": "fatal", "panic": "panic", "-1": "trace", "0": "debug", "1": "info", "2": "warn", "3": "error",
    "4": "fatal", "5": "panic", "trac": "trace", "debu": "debug", "erro": "error", "fata": "fatal", "pani": "panic",
}  # fmt: skip
# slog levels are numbers (DEBUG=-4, INFO=0, WARN=4, ERROR=8) printed as the nearest name below plus the rest.
_SLOG_BASE = {"debug": -4, "info": 0, "warn": 4, "error": 8}

_TRACE_KEYS = ("trace_id", "traceId", "traceID", "trace.id", "dd.trace_id", "trace-id", "x-b3-traceid")
_SPAN_KEYS = ("span_id", "spanId", "spanID", "span.id", "dd.span_id", "span-id", "x-b3-spanid")
_METHOD_KEYS = ("method", "http.method", "http_method", "request_method")
_STATUS_KEYS = ("status", "status_code", "statusCode", "http.status_code", "http_status", "code")
_PATH_KEYS = ("path", "url", "uri", "request_uri", "http.path", "url.path", "route")
_DURATION_KEYS = ("latency", "duration", "elapsed", "took", "latency_ms", "duration_ms", "elapsed_ms")
_IP_KEYS = ("client_ip", "clientIP", "clientIp", "remote_addr", "remote_ip", "ip", "client.ip")
_UA_KEYS = ("user_agent", "userAgent", "user-agent", "ua", "http.user_agent", "user_agent.original")
_HTTP_KEYS = frozenset(
    (*_METHOD_KEYS, *_STATUS_KEYS, *_PATH_KEYS, *_DURATION_KEYS, *_IP_KEYS, *("user_agent", "userAgent", "ua",
     "user-agent", "http.user_agent", "user_agent.original"))
)  # fmt: skip
_ID_KEYS = frozenset((*_TRACE_KEYS, *_SPAN_KEYS, "traceparent"))
_SERVICE_LABELS = ("app_kubernetes_io/name", "app.kubernetes.io/name", "app", "k8s-app", "name")
_VERSION_LABELS = ("app_kubernetes_io/version", "app.kubernetes.io/version", "version")
# The lookahead only admits positions where some alternative can start: the same matches, twice as fast.
_FINGERPRINT_NOISE = re.compile(
    r"(?=[\da-fA-F\"'])(?:0x[0-9a-fA-F]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{16,}\b|\d+(?:\.\d+)*|\"[^\"]*\"|'[^']*')"
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
                # zap encodes durations as float seconds by default, or integer nanoseconds; floats are
                # rounded half up to whole nanoseconds (1.0621e-3 s is 1062100 ns, not 1062099).
                return math.floor(value * 1_000_000_000 + 0.5) if isinstance(value, float) else int(value)
            if isinstance(value, str):
                return go_duration_ns(value)
            return None
    return None


class _PodMeta(msgspec.Struct):
    """The few fields of Filebeat's `kubernetes` object enrich reads; the rest is skipped, not decoded."""

    namespace: Any = None
    labels: Any = None
    deployment: Any = None
    container: Any = None


class _ContainerMeta(msgspec.Struct):
    image: Any = None


_pod_meta = msgspec.json.Decoder(_PodMeta | None)
_container_meta = msgspec.json.Decoder(_ContainerMeta | None)


def _pod_service(text: bytes) -> tuple[str | None, str | None, str | None, str]:
    """From a pod's Kubernetes metadata: (name from labels, name from deployment/container, version, namespace)."""
    try:
        meta = _pod_meta.decode(text) if text else None
    except msgspec.DecodeError:
        meta = None  # not an object: the envelope check in enrich_envelope reports it
    if meta is None:
        return None, None, None, ""
    labels = meta.labels if isinstance(meta.labels, dict) else {}
    name = next((labels[key] for key in _SERVICE_LABELS if isinstance(labels.get(key), str)), None)
    fallback = None
    deployment, kcontainer = meta.deployment, meta.container
    if isinstance(deployment, dict) and isinstance(deployment.get("name"), str):
        fallback = deployment["name"]
    elif isinstance(kcontainer, dict) and isinstance(kcontainer.get("name"), str):
        fallback = kcontainer["name"]
    version = next((labels[key] for key in _VERSION_LABELS if isinstance(labels.get(key), str)), None)
    return name, fallback, version, meta.namespace if isinstance(meta.namespace, str) else ""


def _image_version(text: bytes) -> str | None:
    try:
        meta = _container_meta.decode(text) if text else None
    except msgspec.DecodeError:
        return None
    image = meta.image if meta is not None else None
    name = image.get("name") if isinstance(image, dict) else None
    if isinstance(name, str) and ":" in name.rsplit("/", 1)[-1]:
        return name.rsplit(":", 1)[1]
    return None


def _service(envelope: Envelope, reader: EnvelopeReader, fields: dict[str, Any]) -> tuple[dict[str, str], str]:
    """service.{name,version} (labels first; the line's own `service` field; the workload's name) and namespace."""
    label_name, fallback, version, namespace = reader.derive(envelope.kubernetes, _pod_service, memo=False)
    service: dict[str, str] = {}
    app_service = fields.get("service")
    name = label_name if label_name is not None else app_service if isinstance(app_service, str) else fallback
    if name is not None:
        service["name"] = name
    if version is None:
        version = reader.derive(envelope.container, _image_version, memo=False)
    if version is not None:
        service["version"] = version
    return service, namespace


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


def normalise_level(raw: str) -> str:
    """A level as a library writes it → trace/debug/info/warn/error/fatal/panic, else "unknown".

    slog's in-between levels: below DEBUG is trace, ERROR+4 (12) and above is fatal (DEBUG-4 → trace,
    INFO+2 → info, WARN+3 → warn, ERROR+4 → fatal)."""
    low = raw.strip().lower()
    known = LEVELS.get(low)
    if known is not None:
        return known
    sign = max(low.rfind("+"), low.rfind("-"))
    if sign > 0 and low[:sign] in _SLOG_BASE and low[sign + 1 :].isdigit() and len(low) - sign <= 4:
        number = _SLOG_BASE[low[:sign]] + int(low[sign:])
        for bound, name in ((-4, "trace"), (0, "debug"), (4, "info"), (8, "warn"), (12, "error")):
            if number < bound:
                return name
        return "fatal"
    return "unknown"


def _level(parsed: dict[str, Any], http: dict[str, Any], stream: str | None) -> str:
    raw = parsed.get("level")
    if isinstance(raw, str):
        return normalise_level(raw)
    status = http.get("status_code")
    if isinstance(status, int):
        return "error" if status >= 500 else "warn" if status >= 400 else "info"
    return "error" if stream == "stderr" and parsed.get("format") == "plain" and parsed.get("error") else "info"


def enrich(event: dict[str, Any], parsed: dict[str, Any], settings: EnrichSettings) -> dict[str, Any]:
    """The ECS document for one decoded event (a plain dict; for tests and callers holding dicts).

    The same code as the processor's hot path (`enrich_envelope`), reached through a slower door."""
    doc, _ = enrich_envelope(envelope_from_event(event), parsed, settings, _DICT_READER)
    result: dict[str, Any] = orjson.loads(encode_document(doc))
    return result


def encode_document(doc: dict[str, Any]) -> bytes:
    """The document as JSON; its pass-through parts (msgspec.Raw) are copied verbatim."""
    return _encoder.encode(doc)


def enrich_envelope(
    envelope: Envelope, parsed: dict[str, Any], settings: EnrichSettings, reader: EnvelopeReader
) -> tuple[dict[str, Any], str]:
    """The ECS document for one event, and its Kubernetes namespace ("" if unknown).

    The document holds the envelope's pass-through objects as msgspec.Raw: encode it with encode_document.
    `parsed` is left untouched."""
    fields_in = parsed.get("fields")
    fields: dict[str, Any] = dict(fields_in) if isinstance(fields_in, dict) else {}
    stream = parsed.get("stream") or envelope.stream
    http = _http_from_fields(fields, parsed.get("http"))
    level = _level(parsed, http, stream if isinstance(stream, str) else None)
    timestamp = parsed.get("timestamp") or envelope.timestamp
    redactor = settings.redactor
    message = redactor.text(str(parsed.get("message", "")))

    log: dict[str, Any] = {"level": level}
    log_in = envelope.log
    if log_in is not None:
        if len(memoryview(log_in.file)):
            log["file"] = log_in.file
        if len(memoryview(log_in.offset)):
            log["offset"] = log_in.offset
        if len(memoryview(log_in.flags)):
            log["flags"] = log_in.flags
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
        "ecs": _ECS,
        "event": {"kind": "event", "dataset": settings.dataset},
        "data_stream": {"type": "logs", "dataset": settings.dataset, "namespace": settings.namespace},
    }
    if isinstance(stream, str):
        log["stream"] = stream  # not ECS, but Filebeat's own 'stream' field moved under log
    service, namespace = _service(envelope, reader, fields)
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
    for key in PASSTHROUGH:
        value = getattr(envelope, key)
        view = memoryview(value)
        if len(view):
            if view[0] == 0x7B:  # an object ('{')
                doc[key] = value
            elif key in OBJECT_FIELDS and bytes(view) != b"null":
                raise InvalidEnvelope(f"{key} is not an object")
    custom = reader.derive(envelope.fields, _custom_fields, redactor)
    if custom is not None:
        doc["fields"] = custom
    labels = parsed.get("labels")
    if isinstance(labels, dict) and labels:
        doc["labels"] = redactor.mapping(labels)
    go: dict[str, Any] = {"format": parsed.get("format", "plain")}
    if fields:
        go["fields"] = _bounded(redactor.mapping(fields))
    doc["go"] = go
    return doc, namespace


def _bounded(value: Any, depth: int = 0) -> Any:
    """go.fields with every string cut to MAX_FIELD_CHARS: Elasticsearch rejects the whole document when one
    keyword value is over 32,766 bytes (a character is at most 4 bytes in UTF-8)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS]
    if isinstance(value, dict):
        return {k: _bounded(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v, depth + 1) for v in value]
    return value


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


def drop_reason(
    doc: dict[str, Any], rules: tuple[CompiledDropRule, ...], reader: EnvelopeReader | None = None
) -> str | None:
    """The name of the first drop rule matching the document, else None.

    `reader` resolves the pass-through parts of a document from `enrich_envelope` (msgspec.Raw)."""
    for rule in rules:
        value: Any = doc
        for part in rule.path:
            if isinstance(value, msgspec.Raw) and reader is not None:
                value = reader.value(value)
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if isinstance(value, msgspec.Raw) and reader is not None:
            value = reader.value(value)
        if value is None or isinstance(value, dict | list):
            continue
        text = str(value)
        if (rule.equals is not None and text == rule.equals) or (rule.matches and rule.matches.search(text)):
            return rule.name
    return None


def index_name(doc: dict[str, Any], settings: EnrichSettings) -> str:
    """Target of a (plain) document: 'logs-<dataset>-<namespace>' or the configured pattern, filled in."""
    kubernetes = doc.get("kubernetes") or {}
    return index_for(
        settings, str(kubernetes.get("namespace") or ""), str((doc.get("service") or {}).get("name") or ""),
        str(doc.get("@timestamp") or ""),
    )  # fmt: skip


def index_for(settings: EnrichSettings, namespace: str, service: str, timestamp: str) -> str:
    """Target of a document: 'logs-<dataset>-<namespace>' or the configured pattern, filled in."""
    if settings.index is None:
        return f"logs-{settings.dataset}-{settings.namespace}"
    return (
        settings.index.replace("{namespace}", namespace or "unknown")
        .replace("{service}", service or "unknown")
        .replace("{date}", timestamp[:10].replace("-", ".") if len(timestamp) >= 10 else "unknown")
        .lower()
    )


def _custom_fields(text: bytes, redactor: Redactor) -> msgspec.Raw | None:
    """Filebeat's custom `fields` object, redacted (memoised per distinct object by EnvelopeReader.derive)."""
    value = loads_exact(text) if text else None
    if value is not None and not isinstance(value, dict):
        raise InvalidEnvelope("fields is not an object")
    if not value:
        return None
    return msgspec.Raw(orjson.dumps(redactor.mapping(value)))
