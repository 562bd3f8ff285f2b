"""Pipeline layer, PURE: the Filebeat event around a log line, decoded only as far as the processor reads it.

A Filebeat event is about 1 KB of JSON. The processor reads a little of it (message, @timestamp, stream,
log.file/offset/flags and a few Kubernetes fields) and passes the rest into the document unchanged. Decoding
all of it into Python objects and encoding it again cost a third of the CPU per event, so the pass-through
objects stay as their JSON text (`msgspec.Raw`) and are written into the document verbatim.

`EnvelopeReader.decode` is strict and fast. Whatever it (or enrich, through InvalidEnvelope) refuses goes
through `check_event`, the thorough check that names the dead-letter reason, so unusual but valid events
(a non-string `stream`, say) are still accepted, through `envelope_from_event`. The fast path checks the
nesting depth of the objects it reads (kubernetes, container, fields); objects only passed through are
left to Elasticsearch's own depth limit, whose rejection dead-letters the event with Elasticsearch's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import orjson

from observability.pipeline.jsonexact import loads_exact

# Envelope nesting guard: Elasticsearch rejects documents nested deeper than index.mapping.depth.limit (20).
MAX_ENVELOPE_DEPTH = 20
# Filebeat's objects the document keeps as they are (kubernetes and container are also read, see enrich).
PASSTHROUGH = ("kubernetes", "container", "host", "agent", "cloud", "orchestrator", "input")
# Top-level fields that must be objects when present; anything else is a broken producer (dead-lettered).
OBJECT_FIELDS = ("kubernetes", "container", "host", "agent", "log", "fields", "input")
_EMPTY = msgspec.Raw()
T = TypeVar("T")


class LogMeta(msgspec.Struct):
    """Filebeat's `log` object: `file`, `offset` and `flags` are kept (the rest is the processor's own)."""

    file: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    offset: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    flags: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    """What the harvester did to the line: `multiline` (lines joined), `truncated` (cut at max_bytes)."""


class Envelope(msgspec.Struct):
    """One Filebeat event. Raw fields hold JSON text; an empty Raw means absent (or not an object)."""

    message: str
    timestamp: str | None = msgspec.field(default=None, name="@timestamp")
    stream: str | None = None
    log: LogMeta | None = None
    kubernetes: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    container: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    host: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    agent: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    cloud: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    orchestrator: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    input: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    fields: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


class InvalidEnvelope(ValueError):
    """The fast path met something only `check_event` can explain (raised by enrich, handled by transform)."""


class EnvelopeReader:
    """Decodes Kafka values into envelopes; remembers what it learnt about each distinct object it reads.

    Filebeat's custom fields are small and repeat verbatim, so what enrich derives from them is memoised
    by their text (bounded: the memo is emptied when it is full). Kubernetes and container metadata are
    decoded partially on every event: Filebeat writes their keys in a new order each time, so their text
    rarely repeats. Objects that are only passed through are never decoded."""

    def __init__(self, max_bytes: int, memo_size: int = 4096) -> None:
        self.max_bytes = max_bytes
        self._decoder = msgspec.json.Decoder(Envelope)
        self._memo: dict[bytes, dict[Any, Any]] = {}
        self._memo_size = memo_size

    def decode(self, raw: bytes | None) -> Envelope | None:
        """The fast path: an envelope, or None when `check` must decide. Objects are not checked yet:
        enrich raises InvalidEnvelope when one is not an object or nests too deep."""
        # Raw parts are copied verbatim into `_bulk` lines, so whitespace newlines must not reach them.
        if raw is None or len(raw) > self.max_bytes or b"\n" in raw or b"\r" in raw:
            return None
        try:
            envelope: Envelope = self._decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return None
        return envelope

    def check(self, raw: bytes | None) -> tuple[Envelope | None, str | None, str]:
        """The thorough path: (envelope, None, "") or (None, reason, detail) for the dead-letter topic."""
        event, reason, detail = check_event(raw, self.max_bytes)
        if event is None:
            return None, reason, detail
        return envelope_from_event(event), None, ""

    def value(self, raw: msgspec.Raw) -> Any:
        """The decoded JSON of an object of the envelope (None when absent). Shared: never mutate it."""
        return self.derive(raw, _decoded)

    def derive(self, raw: msgspec.Raw, fn: Callable[..., T], *args: Any, memo: bool = True) -> T:
        """fn(JSON text, *args), memoised with that text: fn must be pure, decode only what it needs, and its
        result must not be mutated. Raises InvalidEnvelope for an object nested deeper than allowed.

        memo=False for objects whose text changes from event to event (Filebeat writes each object's keys in
        a new order every time, so a large object's text rarely repeats): a miss costs more than no memo."""
        text = bytes(raw)
        derived = self._memo.get(text) if memo else None
        if derived is None:
            # Fewer brackets than the limit bound the depth: the value is walked only when there are more.
            brackets = text.count(b"{") + text.count(b"[")
            if brackets >= MAX_ENVELOPE_DEPTH and _depth(_decoded(text)) >= MAX_ENVELOPE_DEPTH:
                raise InvalidEnvelope("too deep")
            if not memo:
                return fn(text, *args)
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            derived = self._memo[text] = {}
        key = (fn, *args)
        if key in derived:
            return derived[key]  # type: ignore[no-any-return,unused-ignore]
        result = derived[key] = fn(text, *args)
        return result


def _decoded(text: bytes) -> Any:
    return orjson.loads(text) if text else None


def envelope_from_event(event: dict[str, Any]) -> Envelope:
    """An envelope from an event `check_event` accepted (the slow path, and callers holding dicts)."""
    log_in = event.get("log")
    log = None
    if isinstance(log_in, dict):
        log = LogMeta(*(_raw(log_in[key]) if key in log_in else _EMPTY for key in ("file", "offset", "flags")))
    stream = event.get("stream")
    objects = {name: _raw(event[name]) for name in (*PASSTHROUGH, "fields") if isinstance(event.get(name), dict)}
    return Envelope(
        message=event["message"], timestamp=event.get("@timestamp"),
        stream=stream if isinstance(stream, str) else None, log=log, **objects,
    )  # fmt: skip


def _raw(value: Any) -> msgspec.Raw:
    return msgspec.Raw(orjson.dumps(value))


def check_event(raw: bytes | None, max_bytes: int) -> tuple[dict[str, Any] | None, str | None, str]:
    """The thorough check: Kafka value → (event, None, "") or (None, reason, detail) naming what is wrong."""
    if raw is None:
        return None, "invalid_json", "the Kafka message has no value (tombstone)"
    if len(raw) > max_bytes:
        return None, "too_large", f"{len(raw)} bytes exceeds kafka.max_message_bytes={max_bytes}"
    try:
        event = loads_exact(raw)
    except orjson.JSONDecodeError as e:
        return None, "invalid_json", f"not a JSON Filebeat event: {e}"
    if not isinstance(event, dict):
        return None, "not_an_object", f"a Filebeat event is a JSON object, got {type(event).__name__}"
    message = event.get("message")
    if message is None:
        return None, "missing_field", "the event has no 'message' field (Filebeat always sets it)"
    if not isinstance(message, str):
        return None, "invalid_field", f"'message' must be a string, got {type(message).__name__}"
    for key in OBJECT_FIELDS:
        value = event.get(key)
        if value is not None and not isinstance(value, dict):
            return None, "invalid_field", f"'{key}' must be an object, got {type(value).__name__}"
    ts = event.get("@timestamp")
    if ts is not None and not isinstance(ts, str):
        return None, "invalid_field", f"'@timestamp' must be an ISO 8601 string, got {type(ts).__name__}"
    if raw.count(b"{") + raw.count(b"[") > MAX_ENVELOPE_DEPTH and _depth(event) > MAX_ENVELOPE_DEPTH:
        return None, "too_deep", f"the event is nested deeper than {MAX_ENVELOPE_DEPTH} levels"
    return event, None, ""


def _depth(value: Any) -> int:
    # Iterative, so a hostile 1000-level document cannot exhaust the Python stack.
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_ENVELOPE_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
