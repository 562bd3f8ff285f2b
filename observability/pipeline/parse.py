"""Pipeline layer, PURE: recognise the Go log line in a Filebeat event's `message` and split it into parts.

`parse_message(text, reference)` never raises and never does I/O. `reference` is the event's own time
(Filebeat's @timestamp, ISO 8601), used for what a line leaves out (klog writes no year). It returns a plain
dict (the hot path avoids objects) with these keys, all optional except `format` and `message`:

  format      one of FORMATS, naming the library that wrote the line
  message     the human message (for unrecognised text: the text itself, without terminal escapes)
  timestamp   ISO 8601 in UTC with milliseconds, e.g. "2026-11-23T04:37:22.123Z"
  level       the level as written by the library (normalised later by enrich)
  logger, caller ("file:line"), function, stack_trace, error
  stream      "stdout"/"stderr" when a CRI or docker json-file wrapper was unwrapped
  labels      docker json-file `attrs` (string values)
  fields      the remaining structured key/values (a new dict)
  http        for access logs: method, path, status_code, duration_ns, client_ip

Terminal escapes (ANSI colours) are removed before anything else. Detection looks at the first characters
only; the text formats live in parse_text, the shared scanners in textscan. docs/processor.md lists every
format with a real example line.
"""

from __future__ import annotations

from typing import Any

import orjson

from observability.pipeline.jsonexact import loads_exact
from observability.pipeline.parse_text import parse_text, slog_level
from observability.pipeline.textscan import HEAD as _HEAD
from observability.pipeline.textscan import (
    go_duration_ns,
    iso_utc,
    normalise_timestamp,
    strip_ansi,
)

__all__ = ["FORMATS", "go_duration_ns", "iso_utc", "normalise_timestamp", "parse_message"]

FORMATS = (
    "zap_json", "zap_console", "slog_json", "slog_text", "slog_default", "logrus_json", "logrus_text",
    "logrus_tty", "zerolog_json", "json", "logfmt", "go_log", "klog", "klog_structured", "gin", "gin_debug",
    "go_panic", "plain",
)  # fmt: skip

_MAX_JSON_DEPTH = 16
_DOCKER_KEYS = frozenset(("log", "stream", "time", "attrs"))
_LOGRUS_LEVELS = frozenset(("trace", "debug", "info", "warning", "warn", "error", "fatal", "panic"))


def _depth_ok(value: Any, depth: int = 0) -> bool:
    if depth > _MAX_JSON_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_ok(v, depth + 1) for v in value)
    return True


def _pop_str(data: dict[str, Any], *keys: str) -> str | None:
    """Remove the first present key and return its value as text (non-strings are JSON-encoded)."""
    for key in keys:
        if key in data:
            value = data.pop(key)
            if value is None:
                return None
            if isinstance(value, str):
                return value
            return orjson.dumps(value).decode()
    return None


def _json_format(fields: dict[str, Any]) -> str:
    level = fields.get("level")
    if "ts" in fields and "msg" in fields:
        return "zap_json"
    if "msg" in fields and "time" in fields and isinstance(level, str):
        if slog_level(level):
            return "slog_json"
        if level in _LOGRUS_LEVELS:
            return "logrus_json"
    if "message" in fields and ("time" in fields or "level" in fields) and "msg" not in fields:
        return "zerolog_json"
    if "level" in fields and "time" in fields and "msg" not in fields:
        return "zerolog_json"  # zerolog writes no `message` key for an empty message
    return "json"


def _parse_json(text: str, reference: str | None) -> dict[str, Any] | None:
    try:
        data = loads_exact(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if text.count("{") + text.count("[") > _MAX_JSON_DEPTH and not _depth_ok(data):
        return None
    if "log" in data and "stream" in data and isinstance(data["log"], str) and data.keys() <= _DOCKER_KEYS:
        return _docker_json_file(data, reference)
    fields = dict(data)
    out: dict[str, Any] = {"format": _json_format(fields)}
    fmt = out["format"]
    if fmt == "zap_json":
        ts = fields.pop("ts")
        msg = _pop_str(fields, "msg")
        out["stack_trace"] = _pop_str(fields, "stacktrace")
    elif fmt == "zerolog_json":
        ts = fields.pop("time", None)
        msg = _pop_str(fields, "message")
        out["stack_trace"] = _pop_str(fields, "stack", "stacktrace")
    elif fmt in ("logrus_json", "slog_json"):
        ts = fields.pop("time", None)
        msg = _pop_str(fields, "msg")
        out["stack_trace"] = _pop_str(fields, "stacktrace", "stack")
        source = fields.pop("source", None) if fmt == "slog_json" else None
        if isinstance(source, dict):  # slog AddSource: {"function": ..., "file": ..., "line": ...}
            if isinstance(source.get("function"), str):
                out["function"] = source["function"]
            if isinstance(source.get("file"), str):
                line = source.get("line")
                out["caller"] = f"{source['file']}:{line}" if isinstance(line, int) else source["file"]
        elif source is not None:
            fields["source"] = source
        if fmt == "logrus_json":
            out["function"] = _pop_str(fields, "func", "function")
            out["caller"] = _pop_str(fields, "file")
    else:
        ts = fields.pop("@timestamp", None) or fields.pop("timestamp", None) or fields.pop("time", None)
        msg = _pop_str(fields, "msg", "message")
        out["stack_trace"] = _pop_str(fields, "stacktrace", "stack", "stack_trace")
    out["message"] = msg if msg is not None else ""
    timestamp = normalise_timestamp(ts)
    if timestamp:
        out["timestamp"] = timestamp
    level = _pop_str(fields, "level", "severity", "lvl")
    if level is not None:
        out["level"] = level
    logger = _pop_str(fields, "logger")
    if logger is not None:
        out["logger"] = logger
    if "caller" in fields:
        out["caller"] = _pop_str(fields, "caller")
    error = _pop_str(fields, "error", "err")
    if error is not None:
        out["error"] = error
    out["fields"] = fields
    return {k: v for k, v in out.items() if v is not None}


def _docker_json_file(data: dict[str, Any], reference: str | None) -> dict[str, Any]:
    """docker json-file: {"log": "...\\n", "stream": "stdout", "attrs": {...}, "time": "..."}."""
    wrapper_time = normalise_timestamp(data.get("time"))
    inner = parse_message(data["log"].rstrip("\r\n"), wrapper_time or reference)
    inner.setdefault("stream", str(data["stream"]))
    if "timestamp" not in inner and wrapper_time:
        inner["timestamp"] = wrapper_time
    attrs = data.get("attrs")
    if isinstance(attrs, dict):
        labels = {str(k): v for k, v in attrs.items() if isinstance(v, str)}
        if labels:
            inner["labels"] = labels
    return inner


def _unwrap_cri(text: str, reference: str | None) -> dict[str, Any] | None:
    """CRI (containerd, CRI-O): '<RFC3339Nano> <stdout|stderr> <F|P> <line>'."""
    head = text[:64]
    space = head.find(" ")
    if space < 20 or head[space + 1 : space + 8] not in ("stdout ", "stderr "):
        return None
    tag = head[space + 8 : space + 9]
    if tag not in ("F", "P") or head[space + 9 : space + 10] not in (" ", ""):
        return None
    ts = normalise_timestamp(head[:space])
    if ts is None:
        return None
    inner = parse_message(text[space + 10 :], ts)
    inner.setdefault("stream", head[space + 1 : space + 7])
    if "timestamp" not in inner:
        inner["timestamp"] = ts
    return inner


def parse_message(text: str, reference: str | None = None) -> dict[str, Any]:
    """Recognise one log line (see the module docstring for the result); never raises."""
    try:
        if not isinstance(text, str):
            return {"format": "plain", "message": str(text)}
        if "\x1b" in text:
            text = strip_ansi(text)
        first = text[:1]
        if first == "{":
            parsed = _parse_json(text.strip(), reference)
            if parsed is not None:
                return parsed
        elif first.isdigit() and text[4:5] == "-" and (" stdout " in text[:_HEAD] or " stderr " in text[:_HEAD]):
            cri = _unwrap_cri(text, reference)
            if cri is not None:
                return cri
        return parse_text(text, reference)
    except Exception:  # parse must never take the processor down; unknown shapes are kept verbatim
        return {"format": "plain", "message": text if isinstance(text, str) else repr(text)}
