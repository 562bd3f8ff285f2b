"""Pipeline layer, PURE: recognise the Go log line in a Filebeat event's `message` and split it into parts.

`parse_message(text)` never raises and never does I/O. It returns a plain dict (the hot path avoids
objects) with these keys, all optional except `format` and `message`:

  format      one of FORMATS (what was recognised)
  message     the human message (for unrecognised text: the text itself)
  timestamp   ISO 8601 in UTC with milliseconds, e.g. "2026-11-23T04:37:22.123Z"
  level       the level as written by the library (normalised later by enrich)
  logger, caller, function, stack_trace, error
  stream      "stdout"/"stderr" when a CRI or docker json-file wrapper was unwrapped
  fields      the remaining structured key/values of JSON and logfmt lines (a new dict)
  http        for access logs: method, path, status_code, duration_ns, client_ip

Detection is a fast path on the first character, so each line costs one or two checks.
Times without a zone (Go stdlib log, klog, Gin) are taken as UTC, which is what containers use.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson

FORMATS = (
    "zap_json", "zap_console", "logrus_json", "logrus_text", "zerolog_json", "json", "logfmt",
    "go_log", "klog", "gin", "go_panic", "plain",
)  # fmt: skip

_MAX_JSON_DEPTH = 16
_UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$")

_CRI = re.compile(r"^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) ?")
_ZAP_CONSOLE = re.compile(
    r"^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?)\t([A-Za-z]+)\t(.*)$", re.DOTALL
)
_GO_LOG = re.compile(
    r"^(?P<prefix>[^\n]{0,64}?)(?P<date>\d{4}/\d\d/\d\d) (?P<time>\d\d:\d\d:\d\d(?:\.\d{1,6})?) "
    r"(?:(?P<file>[\w./-]+\.go):(?P<line>\d+): )?(?P<msg>.*)$",
    re.DOTALL,
)
_GO_LOG_PLAIN = re.compile(
    r"^(?P<prefix>)(?P<date>\d{4}/\d\d/\d\d) (?P<time>\d\d:\d\d:\d\d(?:\.\d{1,6})?) "
    r"(?:(?P<file>[\w./-]+\.go):(?P<line>\d+): )?(?P<msg>.*)$",
    re.DOTALL,
)
_KLOG = re.compile(
    r"^([IWEF])(\d\d)(\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,6})?)\s+\d+ ([^:\]\s]+):(\d+)\] (.*)$", re.DOTALL
)
_GIN = re.compile(
    r"^\[GIN\] (\d{4})/(\d\d)/(\d\d) - (\d\d:\d\d:\d\d) \|\s*(\d{3})\s*\|\s*(\S+)\s*\|\s*(\S*)\s*\|"
    r"\s*([A-Z]+)\s+\"((?:[^\"\\]|\\.)*)\"\s*(.*)$",
    re.DOTALL,
)
_LOGFMT_PAIR = re.compile(r'([\w.@/-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))')
_PANIC = re.compile(r"^(panic|fatal error): (.*?)(?:\n|$)(.*)$", re.DOTALL)
_GOROUTINE = re.compile(r"\n\s*goroutine \d+ \[")
_FRAME = re.compile(r"\n([\w./*()\[\]-]+)\(.*?\)\n\t(\S+\.go:\d+)")
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}  # fmt: skip


def iso_utc(dt: datetime) -> str:
    """'2026-11-23T04:37:22.123Z': UTC, millisecond precision (what Elasticsearch `date` stores)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset():
        dt = dt.astimezone(UTC)
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}." \
           f"{dt.microsecond // 1000:03d}Z"


_epoch_cache: list[Any] = [None, ""]  # last whole second → its "YYYY-MM-DDTHH:MM:SS" (logs arrive in order)


def _epoch_iso(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    if _epoch_cache[0] != whole:
        _epoch_cache[0] = whole
        _epoch_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{_epoch_cache[1]}.{millis:03d}Z"


def normalise_timestamp(value: Any) -> str | None:
    """An ISO 8601 string, RFC 3339 string or Unix epoch number (s, ms, µs or ns) → iso_utc, else None."""
    try:
        if isinstance(value, str):
            # Fast path: already UTC, 'YYYY-MM-DDTHH:MM:SS[.fff…]Z' — only the fraction needs normalising.
            if len(value) >= 20 and value[-1] == "Z" and value[10] == "T" and _UTC_ISO.match(value):
                fraction = value[20:-1] if value[19] == "." else ""
                return f"{value[:19]}.{(fraction + '000')[:3]}Z"
            text = value.strip()
            if not text:
                return None
            if text[-1] in "Zz":
                text = text[:-1] + "+00:00"
            if " " in text and "T" not in text:
                text = text.replace(" ", "T", 1)
            return iso_utc(datetime.fromisoformat(text))
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        seconds = float(value)
        # Epoch scale by magnitude: zerolog/zap may use s, ms, µs or ns.
        for scale in (1, 1e3, 1e6, 1e9):
            if abs(seconds / scale) < 1e11:
                if 0 <= seconds / scale < 253402300800:  # year 9999
                    return _epoch_iso(seconds / scale)
                return iso_utc(datetime.fromtimestamp(seconds / scale, tz=UTC))
    except (ValueError, OverflowError, OSError):
        return None
    return None


def go_duration_ns(text: str) -> int | None:
    """A Go duration string ('1.5ms', '2m3.5s', '850ns', '12µs') → nanoseconds, else None."""
    text = text.strip()
    if not text:
        return None
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _DURATION_NS[match.group(2)]
        pos = match.end()
    return int(total) if pos == len(text) and pos > 0 else None


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


def _parse_json(text: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if text.count("{") + text.count("[") > _MAX_JSON_DEPTH and not _depth_ok(data):
        return None
    if "log" in data and "stream" in data and isinstance(data["log"], str) and len(data) <= 4:
        # docker json-file wrapper: {"log": "...\n", "stream": "stdout", "time": "..."}
        inner = parse_message(data["log"].rstrip("\n"))
        inner.setdefault("stream", str(data["stream"]))
        if "timestamp" not in inner:
            ts = normalise_timestamp(data.get("time"))
            if ts:
                inner["timestamp"] = ts
        return inner
    fields = dict(data)
    out: dict[str, Any] = {}
    if "ts" in fields and "msg" in fields:
        out["format"] = "zap_json"
        ts = fields.pop("ts")
        msg = _pop_str(fields, "msg")
        out["stack_trace"] = _pop_str(fields, "stacktrace")
    elif "message" in fields and ("time" in fields or "level" in fields) and "msg" not in fields:
        out["format"] = "zerolog_json"
        ts = fields.pop("time", None)
        msg = _pop_str(fields, "message")
        out["stack_trace"] = _pop_str(fields, "stack", "stacktrace")
    elif "msg" in fields and ("time" in fields or "level" in fields):
        out["format"] = "logrus_json"
        ts = fields.pop("time", None)
        msg = _pop_str(fields, "msg")
        out["stack_trace"] = _pop_str(fields, "stacktrace", "stack")
        out["function"] = _pop_str(fields, "func")
        out["caller"] = _pop_str(fields, "file")
    else:
        out["format"] = "json"
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


def _parse_logfmt(text: str) -> dict[str, Any] | None:
    fields: dict[str, Any] = {}
    pos = 0
    for match in _LOGFMT_PAIR.finditer(text):
        if text[pos : match.start()].strip():
            return None  # free text between pairs: not logfmt
        quoted = match.group(2)
        fields[match.group(1)] = _unquote(quoted) if quoted is not None else match.group(3)
        pos = match.end()
    if text[pos:].strip() or ("level" not in fields and "msg" not in fields):
        return None
    out: dict[str, Any] = {"format": "logrus_text" if "time" in fields else "logfmt"}
    out["message"] = fields.pop("msg", "")
    timestamp = normalise_timestamp(fields.pop("time", None))
    if timestamp:
        out["timestamp"] = timestamp
    for key, target in (("level", "level"), ("error", "error"), ("func", "function"), ("file", "caller")):
        if key in fields:
            out[target] = fields.pop(key)
    out["fields"] = fields
    return out


def _unquote(value: str) -> str:
    if "\\" not in value:
        return value
    try:
        decoded = orjson.loads(f'"{value}"')
        return decoded if isinstance(decoded, str) else value
    except orjson.JSONDecodeError:
        return value


def _parse_zap_console(match: re.Match[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"format": "zap_console", "level": match.group(2)}
    timestamp = normalise_timestamp(match.group(1))
    if timestamp:
        out["timestamp"] = timestamp
    rest, _, stack = match.group(3).partition("\n")
    parts = rest.split("\t")
    fields: dict[str, Any] = {}
    if len(parts) > 1 and parts[-1].startswith("{"):
        try:
            decoded = orjson.loads(parts[-1])
            if isinstance(decoded, dict):
                fields = decoded
                parts.pop()
        except orjson.JSONDecodeError:
            pass
    # zap console: [logger]\t[caller]\tmessage — logger and caller are optional; a caller has "file.go:N".
    if len(parts) >= 3 and ".go:" in parts[1]:
        out["logger"], out["caller"], msg = parts[0], parts[1], "\t".join(parts[2:])
    elif len(parts) >= 2 and ".go:" in parts[0]:
        out["caller"], msg = parts[0], "\t".join(parts[1:])
    else:
        msg = "\t".join(parts)
    out["message"] = msg
    if stack:
        out["stack_trace"] = stack
    error = fields.pop("error", None)
    if error is not None:
        out["error"] = error if isinstance(error, str) else orjson.dumps(error).decode()
    out["fields"] = fields
    return out


def _parse_panic(text: str) -> dict[str, Any] | None:
    match = _PANIC.match(text)
    if match is None or not _GOROUTINE.search(text):
        return None
    kind, reason, rest = match.groups()
    out: dict[str, Any] = {
        "format": "go_panic",
        "level": "panic" if kind == "panic" else "fatal",
        "message": f"{kind}: {reason}",
        "error": reason,
        "stack_trace": rest.strip("\n"),
    }
    frames = [f for f in _FRAME.findall(text) if not f[0].startswith(("panic(", "runtime."))]
    if frames:
        out["function"], out["caller"] = frames[0]
    return out


def _parse_text(text: str) -> dict[str, Any]:
    first = text[:1]
    if first == "[" and text.startswith("[GIN] "):
        match = _GIN.match(text)
        if match:
            year, month, day, clock, status, latency, ip, method, path, tail = match.groups()
            http: dict[str, Any] = {"method": method, "path": _unquote(path), "status_code": int(status)}
            duration = go_duration_ns(latency)
            if duration is not None:
                http["duration_ns"] = duration
            if ip:
                http["client_ip"] = ip
            out: dict[str, Any] = {
                "format": "gin",
                "message": f"{method} {http['path']} {status}",
                "timestamp": f"{year}-{month}-{day}T{clock}.000Z",
                "http": http,
            }
            if tail.strip():
                out["error"] = tail.strip()
            return out
    if first in "IWEF" and len(text) > 21 and text[1:5].isdigit():
        match = _KLOG.match(text)
        if match:
            sev, month, day, clock, file, line, msg = match.groups()
            # klog omits the year; the current UTC year is the best available guess.
            year = time.gmtime().tm_year
            return {
                "format": "klog", "level": sev, "message": msg, "caller": f"{file}:{line}", "fields": {},
                "timestamp": f"{year}-{month}-{day}T{clock[:8]}.{(clock[9:12] + '000')[:3]}Z",
            }  # fmt: skip
    if first.isdigit():
        match = _ZAP_CONSOLE.match(text)
        if match:
            return _parse_zap_console(match)
    if first in "pf" and text.startswith(("panic: ", "fatal error: ")):
        panic = _parse_panic(text)
        if panic:
            return panic
    if "=" in text and (text.startswith(("time=", "level=", "ts=", "msg=")) or " level=" in text):
        logfmt = _parse_logfmt(text)
        if logfmt:
            return logfmt
    if "/" in text[:80]:
        match = _GO_LOG_PLAIN.match(text) if first.isdigit() else _GO_LOG.match(text)
        if match:
            out = {"format": "go_log", "message": match.group("msg")}
            clock = match.group("time")
            out["timestamp"] = f"{match.group('date').replace('/', '-')}T{clock[:8]}.{(clock[9:12] + '000')[:3]}Z"
            if match.group("file"):
                out["caller"] = f"{match.group('file')}:{match.group('line')}"
            prefix = match.group("prefix").strip().rstrip(":")
            if prefix:
                out["logger"] = prefix
            if match.group("msg").startswith(("panic: ", "fatal error: ")):
                panic = _parse_panic(match.group("msg"))
                if panic:
                    panic["timestamp"] = out.get("timestamp")
                    return {k: v for k, v in panic.items() if v is not None}
            return out
    return {"format": "plain", "message": text}


def parse_message(text: str) -> dict[str, Any]:
    """Recognise one log line (see the module docstring for the result); never raises."""
    try:
        if not isinstance(text, str):
            return {"format": "plain", "message": str(text)}
        if text[:1] == "{":
            parsed = _parse_json(text.strip())
            if parsed is not None:
                return parsed
        elif text[:4].isdigit() and text[4:5] == "-":
            cri = _CRI.match(text)
            if cri:
                inner = parse_message(text[cri.end() :])
                inner.setdefault("stream", cri.group(2))
                if "timestamp" not in inner:
                    ts = normalise_timestamp(cri.group(1))
                    if ts:
                        inner["timestamp"] = ts
                return inner
        return _parse_text(text)
    except Exception:  # parse must never take the processor down; unknown shapes are kept verbatim
        return {"format": "plain", "message": text if isinstance(text, str) else repr(text)}
