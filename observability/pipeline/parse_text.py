"""Pipeline layer, PURE: the text (non-JSON) Go log formats, for parse.parse_message.

Each `_parse_*` takes a line whose first characters already look like its format and returns the parse
result (see parse's docstring) or None. Header patterns are anchored and run on text[:HEAD] only; the rest
of the line is cut with str methods and the scanners of textscan, so no line costs more than linear time.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import orjson

from observability.pipeline.jsonexact import loads_exact
from observability.pipeline.textscan import (
    HEAD,
    UNPARSED,
    go_duration_ns,
    go_unquote,
    normalise_timestamp,
    read_quoted,
    scan_pairs_tolerant,
    split_trailing_pairs,
)

_SLOG_LEVEL = re.compile(r"(?:DEBUG|INFO|WARN|ERROR)(?:[+-]\d{1,3})?")
_ZAP_CONSOLE = re.compile(
    r"(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?|\d{1,19}(?:\.\d+)?(?:[eE][+-]?\d{1,3})?)\t([A-Za-z]+)\t"
)
_GO_LOG = re.compile(
    r"(?P<prefix>[^\n]{0,64}?)(?P<date>\d{4}/\d\d/\d\d) (?P<time>\d\d:\d\d:\d\d(?:\.\d{1,6})?) "
    r"(?:(?P<file>[\w./@-]{1,160}\.go):(?P<line>\d+): )?"
)
_GO_LOG_NODATE = re.compile(r"(?P<prefix>[^\s:]{1,32}: )?(?P<file>[\w./@-]{1,160}\.go):(?P<line>\d+): ")
_KLOG = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,9})?) +\d+ ([^:\]\s]{1,160}):(\d+)\] ")
_GIN = re.compile(
    r"\[GIN\] (\d{4})/(\d\d)/(\d\d) - (\d\d:\d\d:\d\d) \| *(\d{3}) *\| *(\S{1,32}) *\| *(\S{0,64}) *\| *([A-Z]{3,7}) +"
)
_LOGRUS_TTY = re.compile(r"(TRAC|DEBU|INFO|WARN|ERRO|FATA|PANI)\[([^\]\n]{1,40})\] ?")
_LEVEL_PREFIXES = {"DEBUG": "debug", "INFO": "info", "WARN": "warn", "WARNING": "warn", "ERROR": "error",
                   "FATAL": "fatal", "PANIC": "panic", "TRACE": "trace"}  # fmt: skip
# Top-level packages of the Go standard library: frames in them are not "user code" for fingerprints.
_STD_PACKAGES = frozenset(
    [
        "archive",
        "bufio",
        "builtin",
        "bytes",
        "cmp",
        "compress",
        "container",
        "context",
        "crypto",
        "database",
        "debug",
        "embed",
        "encoding",
        "errors",
        "expvar",
        "flag",
        "fmt",
        "go",
        "hash",
        "html",
        "image",
        "index",
        "internal",
        "io",
        "iter",
        "log",
        "maps",
        "math",
        "mime",
        "net",
        "os",
        "path",
        "plugin",
        "reflect",
        "regexp",
        "runtime",
        "slices",
        "sort",
        "strconv",
        "strings",
        "structs",
        "sync",
        "syscall",
        "testing",
        "text",
        "time",
        "unicode",
        "unique",
        "unsafe",
        "weak",
        "vendor",
    ]
)
_LOGRUS_LEVELS = frozenset(("trace", "debug", "info", "warning", "error", "fatal", "panic"))
_MAX_FRAMES = 256


def slog_level(level: str) -> bool:
    """Whether `level` is how slog writes a level: DEBUG, INFO, WARN, ERROR, optionally ±N (DEBUG-4)."""
    return len(level) <= 9 and _SLOG_LEVEL.fullmatch(level) is not None


def _ms(clock: str) -> str:
    """'04:37:22.123456' → '04:37:22.123' (truncated; no fraction → .000)."""
    return f"{clock[:8]}.{(clock[9:12] + '000')[:3]}"


def _fields(pairs: list[tuple[str, str]], rest: str = "") -> dict[str, Any]:
    fields: dict[str, Any] = dict(pairs)
    if rest:
        fields[UNPARSED] = rest
    return fields


def _klog_year(month: int, day: int, reference: str | None) -> int | None:
    """klog writes no year: the event's own year, or the year before when that would put the line more than
    a day after the event (an I1231 line read on 1 January). No reference: the processor's UTC year."""
    ref = _reference_date(reference)
    try:
        candidate = date(ref.year, month, day)
    except ValueError:
        try:
            return date(ref.year - 1, month, day).year  # 29 February of the previous (leap) year
        except ValueError:
            return None
    return ref.year - 1 if candidate > ref + timedelta(days=1) else ref.year


def _reference_date(reference: str | None) -> date:
    if reference and len(reference) >= 10:
        try:
            return date(int(reference[:4]), int(reference[5:7]), int(reference[8:10]))
        except ValueError:
            pass
    return date.today()


def _parse_klog(text: str, reference: str | None) -> dict[str, Any] | None:
    match = _KLOG.match(text[:HEAD])
    if match is None:
        return None
    sev, month, day, clock, file, line = match.groups()
    year = _klog_year(int(month), int(day), reference)
    out: dict[str, Any] = {"format": "klog", "level": sev, "caller": f"{file}:{line}", "fields": {}}
    if year is not None:
        out["timestamp"] = f"{year:04d}-{month}-{day}T{_ms(clock)}Z"
    msg = text[match.end() :]
    end = read_quoted(msg, 0) if msg[:1] == '"' else -1
    if end > 0 and (end == len(msg) or msg[end] == " "):
        # Structured (InfoS/ErrorS): `"msg" key="value" ...`; klog quotes values with %q.
        out["format"] = "klog_structured"
        out["message"] = go_unquote(msg[:end])
        pairs, rest = scan_pairs_tolerant(msg, end)
        fields = _fields(pairs, rest)
        error = fields.pop("err", None)
        if error is not None:
            out["error"] = error
        out["fields"] = fields
    else:
        out["message"] = msg
    return out


def _parse_gin(text: str) -> dict[str, Any] | None:
    match = _GIN.match(text[:HEAD])
    if match is None:
        return None
    year, month, day, clock, status, latency, ip, method = match.groups()
    rest = text[match.end() :]
    if rest[:1] == '"':  # gin ≥ 1.4 quotes the path with %#v
        end = read_quoted(rest, 0)
        if end < 0:
            return None
        path, tail = go_unquote(rest[:end]), rest[end:]
    else:  # before 1.4: the path as is
        space = rest.find(" ")
        path, tail = (rest, "") if space < 0 else (rest[:space], rest[space:])
    http: dict[str, Any] = {"method": method, "path": path, "status_code": int(status)}
    duration = go_duration_ns(latency)
    if duration is not None:
        http["duration_ns"] = duration
    if ip:
        http["client_ip"] = ip
    out: dict[str, Any] = {
        "format": "gin",
        "message": f"{method} {path} {status}",
        "timestamp": f"{year}-{month}-{day}T{clock}.000Z",
        "http": http,
    }
    if tail.strip():
        out["error"] = tail.strip()  # gin appends c.Errors to the access line
    return out


def _parse_gin_debug(text: str) -> dict[str, Any]:
    rest = text[len("[GIN-debug] ") :]
    if rest.startswith("[WARNING] "):
        return {"format": "gin_debug", "level": "warn", "message": rest[len("[WARNING] ") :]}
    if rest.startswith("[ERROR] "):
        msg = rest[len("[ERROR] ") :]
        return {"format": "gin_debug", "level": "error", "message": msg, "error": msg}
    return {"format": "gin_debug", "level": "debug", "message": rest}


def _parse_zap_console(text: str) -> dict[str, Any] | None:
    match = _ZAP_CONSOLE.match(text[:HEAD])
    if match is None:
        return None
    ts = match.group(1)
    out: dict[str, Any] = {"format": "zap_console", "level": match.group(2)}
    # controller-runtime's zap console prints the epoch as a float (1.680257828361444e+09).
    timestamp = normalise_timestamp(float(ts) if "-" not in ts[:5] else ts)
    if timestamp:
        out["timestamp"] = timestamp
    rest, _, stack = text[match.end() :].partition("\n")
    parts = rest.split("\t")
    fields: dict[str, Any] = {}
    if len(parts) > 1 and parts[-1].startswith("{"):
        try:
            decoded = loads_exact(parts[-1])
            if isinstance(decoded, dict):
                fields = decoded
                parts.pop()
        except orjson.JSONDecodeError:
            pass
    # zap console: [logger]\t[caller]\tmessage — both optional; a caller looks like "file.go:N".
    if len(parts) >= 3 and _is_caller(parts[1]):
        out["logger"], out["caller"], msg = parts[0], parts[1], "\t".join(parts[2:])
    elif len(parts) >= 2 and _is_caller(parts[0]):
        out["caller"], msg = parts[0], "\t".join(parts[1:])
    elif len(parts) >= 2:
        out["logger"], msg = parts[0], "\t".join(parts[1:])
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


def _is_caller(part: str) -> bool:
    file, sep, line = part.rpartition(":")
    return bool(sep) and line.isdigit() and file.endswith(".go")


def _parse_panic(text: str) -> dict[str, Any]:
    first, _, rest = text.partition("\n")
    kind, _, reason = first.partition(": ")
    reason = reason.removesuffix(" [recovered]")
    out: dict[str, Any] = {
        "format": "go_panic",
        "level": "panic" if kind == "panic" else "fatal",
        "message": f"{kind}: {reason}",
        "error": reason,
    }
    stack = rest.strip("\n")
    if stack:
        out["stack_trace"] = stack
        frame = _panicking_frame(stack)
        if frame is not None:
            out["function"], out["caller"] = frame
    return out


def _panicking_frame(stack: str) -> tuple[str, str] | None:
    """The frame that panicked, in user code: after the last `panic(...)` call (a re-panic's recovery handler
    comes before it), the first frame outside the runtime and the standard library."""
    lines = stack.split("\n", 2 * _MAX_FRAMES)[: 2 * _MAX_FRAMES]
    frames: list[tuple[str, str]] = []
    for i in range(len(lines) - 1):
        call, location = lines[i], lines[i + 1]
        if call[:1] in (" ", "\t") or location[:1] not in (" ", "\t") or call.startswith("created by "):
            continue
        function = _function_name(call)
        where = location.strip().split(" ", 1)[0]
        if function and ".go:" in where:
            frames.append((function, where))
    if not frames:
        return None
    last_panic = max((i for i, (fn, _) in enumerate(frames) if fn in ("panic", "runtime.gopanic")), default=-1)
    after = frames[last_panic + 1 :] or frames
    for function, where in after:
        if not _is_std(function):
            return function, where
    return next(((fn, where) for fn, where in after if not fn.startswith("runtime.")), after[0])


def _function_name(call: str) -> str:
    """'main.(*T).run(0xc000012345, {0x1, 0x2})' → 'main.(*T).run' (the argument list is the last (...))."""
    call = call.strip()
    if not call.endswith(")"):
        return call
    depth = 0
    for i in range(len(call) - 1, -1, -1):
        if call[i] == ")":
            depth += 1
        elif call[i] == "(":
            depth -= 1
            if depth == 0:
                return call[:i]
    return call


def _is_std(function: str) -> bool:
    head = function.split("/", 1)[0] if "/" in function else function.split(".", 1)[0]
    return head in _STD_PACKAGES


def _parse_logfmt(text: str) -> dict[str, Any] | None:
    pairs, rest = scan_pairs_tolerant(text)
    fields = _fields(pairs, rest)
    if "level" not in fields and "msg" not in fields:
        return None
    level = fields.get("level", "")
    if slog_level(level):
        fmt = "slog_text"
    elif level in _LOGRUS_LEVELS or (level and "time" in fields):
        fmt = "logrus_text"
    else:
        fmt = "logfmt"
    out: dict[str, Any] = {"format": fmt, "message": fields.pop("msg", "")}
    timestamp = normalise_timestamp(fields.pop("time", None))
    if timestamp:
        out["timestamp"] = timestamp
    for key, target in (("level", "level"), ("error", "error"), ("err", "error"), ("func", "function"),
                        ("file", "caller"), ("source", "caller")):  # fmt: skip
        if key in fields and target not in out:
            out[target] = fields.pop(key)
    out["fields"] = fields
    return out


def _parse_logrus_tty(text: str) -> dict[str, Any] | None:
    match = _LOGRUS_TTY.match(text[:64])
    if match is None:
        return None
    message, pairs = split_trailing_pairs(text[match.end() :])
    fields = _fields(pairs)
    out: dict[str, Any] = {"format": "logrus_tty", "level": match.group(1), "message": message.strip()}
    stamp = match.group(2)
    if not stamp.isdigit():  # FullTimestamp: WARN[2015-03-26T01:27:38-04:00]
        timestamp = normalise_timestamp(stamp)
        if timestamp:
            out["timestamp"] = timestamp
    for key in ("error", "err"):
        if key in fields:
            out["error"] = fields.pop(key)
            break
    out["fields"] = fields
    return out


def _parse_go_log(text: str) -> dict[str, Any] | None:
    head = text[:HEAD]
    match = _GO_LOG_NODATE.match(head) if not head[:1].isdigit() else None
    dated = match is None
    if dated:
        match = _GO_LOG.match(head)
    if match is None:
        return None
    msg = text[match.end() :]
    out: dict[str, Any] = {"format": "go_log", "message": msg}
    if dated:
        out["timestamp"] = f"{match.group('date').replace('/', '-')}T{_ms(match.group('time'))}Z"
    if match.group("file"):
        out["caller"] = f"{match.group('file')}:{match.group('line')}"
    prefix = (match.group("prefix") or "").strip().rstrip(":").strip("[]")
    if prefix:
        if prefix.upper() in _LEVEL_PREFIXES and prefix.isupper():
            out["level"] = _LEVEL_PREFIXES[prefix.upper()]
        else:
            out["logger"] = prefix
    if msg.startswith(("panic: ", "fatal error: ")):
        panic = _parse_panic(msg)
        panic["timestamp"] = out.get("timestamp")
        return {k: v for k, v in panic.items() if v is not None}
    if dated and not match.group("prefix"):
        return _slog_default(out) or out
    return out


def _slog_default(out: dict[str, Any]) -> dict[str, Any] | None:
    """slog's default handler writes through package log: '2022/11/08 15:28:26 INFO hello count=3'."""
    msg = out["message"]
    level, _, rest = msg.partition(" ")
    if not slog_level(level):
        return None
    message, pairs = split_trailing_pairs(rest)
    fields = _fields(pairs)
    out.update(format="slog_default", level=level, message=message)
    for key in ("err", "error"):
        if key in fields:
            out["error"] = fields.pop(key)
            break
    if "source" in fields and "caller" not in out:
        out["caller"] = fields.pop("source")
    out["fields"] = fields
    return out


def parse_text(text: str, reference: str | None) -> dict[str, Any]:
    """A text line (ANSI escapes already removed) → the parse result; `plain` when nothing matches."""
    first = text[:1]
    parsed: dict[str, Any] | None = None
    if first == "[":
        if text.startswith("[GIN] "):
            parsed = _parse_gin(text)
        elif text.startswith("[GIN-debug] "):
            parsed = _parse_gin_debug(text)
    elif first in "IWEF" and text[1:5].isdigit():
        parsed = _parse_klog(text, reference)
    elif first in "TDIWEFP" and text[4:5] == "[":
        parsed = _parse_logrus_tty(text)
    if parsed is None and first.isdigit():
        parsed = _parse_zap_console(text)
    if parsed is None and first in "pf" and text.startswith(("panic: ", "fatal error: ")):
        parsed = _parse_panic(text)
    if parsed is None and "=" in text[:HEAD]:
        head = text[:HEAD]
        if head.startswith(("time=", "level=", "ts=", "msg=")) or " level=" in head:
            parsed = _parse_logfmt(text)
    if parsed is None and ((":" in text[:HEAD] and ".go:" in text[:HEAD]) or "/" in text[:32]):
        parsed = _parse_go_log(text)
    return parsed if parsed is not None else {"format": "plain", "message": text}
