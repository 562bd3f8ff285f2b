"""Pipeline layer, PURE: the lexical pieces every log parser shares, each in bounded time on any input.

Nothing here backtracks over an unbounded input: ANSI escapes are removed with RE2 (a linear-time engine);
logfmt pairs, Go-quoted strings and trailing `key=value` fields are read by hand-written scanners that move
forward only and stop after MAX_TOKENS tokens; every Python `re` pattern in the parsers is anchored and
applied to a bounded head of the line (HEAD characters). docs/processor.md ("Bounded time per event")
states the rules; tests/unit/pipeline/test_process_adversarial.py holds them to it.

Time rules (the reference behaviour the Rust port is tested against):
- a time with a zone is converted to UTC; a time without one is UTC (what containers use);
- fractions are truncated to milliseconds (`.9999` → `.999`), epoch numbers too: floor(seconds × 1000);
- epoch numbers are seconds, milliseconds, microseconds or nanoseconds, chosen by magnitude.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import re2

HEAD = 256
"""Characters of a line that format detection and header patterns look at."""
MAX_TOKENS = 512
"""Tokens a logfmt/trailing-fields scan reads; the rest of a longer line is kept as text (`_unparsed`)."""

# CSI (ESC [ params intermediates final), OSC (ESC ] ... BEL | ESC \ | end) and two-character escapes.
_ANSI = re2.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]?)")
_UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')  # deterministic: each character matches exactly one branch
_KEY = re.compile(r'[^\s="]+|"(?:[^"\\\n]|\\.)*"')
_SPACES = re.compile(r"[ \t]*")
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}  # fmt: skip
UNPARSED = "_unparsed"


def strip_ansi(text: str) -> str:
    """The text without terminal escape sequences (colours, cursor moves, window titles)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def iso_utc(dt: datetime) -> str:
    """'2026-11-23T04:37:22.123Z': UTC, millisecond precision (what Elasticsearch `date` stores)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset():
        dt = dt.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}."
        f"{dt.microsecond // 1000:03d}Z"
    )


_epoch_cache: list[Any] = [None, ""]  # last whole second → its "YYYY-MM-DDTHH:MM:SS" (logs arrive in order)


def _epoch_iso(seconds: float) -> str:
    whole, millis = divmod(math.floor(seconds * 1000.0), 1000)
    if _epoch_cache[0] != whole:
        _epoch_cache[0] = whole
        _epoch_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{_epoch_cache[1]}.{millis:03d}Z"


def normalise_timestamp(value: Any) -> str | None:
    """An ISO 8601 string, RFC 3339 string or Unix epoch number (s, ms, µs or ns) → iso_utc, else None."""
    try:
        if isinstance(value, str):
            # Fast path: already UTC, 'YYYY-MM-DDTHH:MM:SS[.fff…]Z' — only the fraction needs normalising.
            if 20 <= len(value) <= 40 and value[-1] == "Z" and value[10] == "T" and _UTC_ISO.fullmatch(value):
                fraction = value[20:-1] if value[19] == "." else ""
                return f"{value[:19]}.{(fraction + '000')[:3]}Z"
            text = value.strip()
            if not text or len(text) > 40:
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
    """A Go duration string ('1.5ms', '2m3.5s', '850ns', '12µs') → nanoseconds, exactly (no float), else None."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    pos, total = 0, 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or match.end() == pos or not (match.group(1) or match.group(2)):
            return None
        unit = _DURATION_NS[match.group(3)]
        fraction = match.group(2) or ""
        total += int(match.group(1) or "0") * unit + (int(fraction) * unit // 10 ** len(fraction) if fraction else 0)
        pos = match.end()
    return total


def go_unquote(quoted: str) -> str:
    """A Go/JSON double-quoted literal (with its quotes) → its text; undecodable escapes are kept as written."""
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    try:
        decoded = orjson.loads(quoted)
        return decoded if isinstance(decoded, str) else body
    except orjson.JSONDecodeError:
        # Go's %q also writes \a \v \xNN and \UNNNNNNNN, which JSON lacks: keep the common ones readable.
        return body.replace('\\"', '"').replace("\\\\", "\\")


def read_quoted(text: str, pos: int) -> int:
    """End of the double-quoted literal starting at text[pos] ('"'), or -1 when it is not closed on this line."""
    match = _QUOTED.match(text, pos)
    return match.end() if match else -1


def scan_pairs(text: str, pos: int = 0) -> tuple[list[tuple[str, str]], int]:
    """logfmt `key=value key="quoted value"` pairs from pos; returns the pairs and where scanning stopped
    (len(text) when the whole rest was pairs). Keys may be quoted (slog quotes keys that need it)."""
    pairs: list[tuple[str, str]] = []
    end = len(text)
    while len(pairs) < MAX_TOKENS:
        pos = _SPACES.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            return pairs, end
        key_match = _KEY.match(text, pos)
        if key_match is None or key_match.end() >= end or text[key_match.end()] != "=":
            return pairs, pos
        key = key_match.group()
        if key[0] == '"':
            key = go_unquote(key)
        value_start = key_match.end() + 1
        if value_start < end and text[value_start] == '"':
            value_end = read_quoted(text, value_start)
            if value_end < 0:
                return pairs, pos
            value = go_unquote(text[value_start:value_end])
        else:
            value_end = _next_space(text, value_start)
            value = text[value_start:value_end]
        if value_end < end and text[value_end] not in " \t":
            return pairs, pos  # `a="b"c`: not a pair boundary
        pairs.append((key, value))
        pos = value_end
    return pairs, pos


def _next_space(text: str, pos: int) -> int:
    space, tab = text.find(" ", pos), text.find("\t", pos)
    found = min(i for i in (space, tab, len(text)) if i >= 0)
    return found


def scan_pairs_tolerant(text: str, pos: int = 0) -> tuple[list[tuple[str, str]], str]:
    """scan_pairs, where an unquoted value may run over spaces up to the next `key=` (old logrus writes
    `err=&{0x2082280c0 map[a:b] ...}` unquoted); returns the pairs and the text it could not read ("" if none)."""
    pairs, stop = scan_pairs(text, pos)
    for _ in range(MAX_TOKENS):
        if stop >= len(text) or not pairs or not _after_unquoted_value(text, stop) or _is_pair_start(text, stop):
            break  # a broken pair (`k="unterminated`) is not the continuation of the previous value
        next_pair = _next_pair_start(text, stop)
        if next_pair < 0:
            break
        key, value = pairs[-1]
        pairs[-1] = (key, f"{value} {text[stop:next_pair].strip()}")
        more, stop = scan_pairs(text, next_pair)
        pairs.extend(more)
    rest = text[stop:].strip() if stop < len(text) else ""
    return pairs, rest


def _after_unquoted_value(text: str, stop: int) -> bool:
    """Whether the pair that ends just before stop (and the spaces after it) had an unquoted value."""
    i = stop - 1
    while i > 0 and text[i] in " \t" and stop - i < 64:
        i -= 1
    return i < stop - 1 and text[i] != '"'


def _is_pair_start(text: str, pos: int) -> bool:
    key = _KEY.match(text, pos)
    return key is not None and key.end() < len(text) and text[key.end()] == "=" and key.group()[0] != '"'


def _next_pair_start(text: str, pos: int) -> int:
    """The start of the next ` key=` token after pos, or -1 (looks at most MAX_TOKENS words ahead)."""
    for _ in range(MAX_TOKENS):
        space = _next_space(text, pos)
        if space >= len(text):
            return -1
        pos = _SPACES.match(text, space).end()  # type: ignore[union-attr]
        if _is_pair_start(text, pos):
            return pos
    return -1


def split_trailing_pairs(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Free text followed by `key=value` fields (logrus TTY, slog's default logger) → (text, fields).

    The fields are the longest run of pairs that reaches the end of the line; a line whose tail is not all
    pairs keeps everything as text. Scans words forward once (at most MAX_TOKENS words)."""
    pos, end = 0, len(text)
    suffix_start = -1
    pairs: list[tuple[str, str]] = []
    for _ in range(MAX_TOKENS):
        pos = _SPACES.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        key = _KEY.match(text, pos)
        is_pair = key is not None and key.group()[0] != '"' and key.end() < end and text[key.end()] == "="
        token_end = -1
        if is_pair and key is not None:
            value_start = key.end() + 1
            if value_start < end and text[value_start] == '"':
                token_end = read_quoted(text, value_start)
                value = go_unquote(text[value_start:token_end]) if token_end > 0 else ""
            else:
                token_end = _next_space(text, value_start)
                value = text[value_start:token_end]
            if token_end < 0 or (token_end < end and text[token_end] not in " \t"):
                is_pair, token_end = False, -1
        if is_pair and key is not None:
            if suffix_start < 0:
                suffix_start, pairs = pos, []
            pairs.append((key.group(), value))
            pos = token_end
        else:
            suffix_start, pairs = -1, []
            pos = _next_space(text, pos)
    else:
        return text.rstrip(), []  # too many words to tell: all text
    if suffix_start < 0:
        return text.rstrip(), []
    return text[:suffix_start].rstrip(), pairs
