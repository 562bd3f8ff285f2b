"""Pipeline layer, PURE: one Kafka message value → what to do with it (store, dead-letter or drop).

This is the whole per-event hot path (decode → parse → enrich → drop rules → target index), shared by the
Kafka runner and the offline `obs process --input` mode. It never raises: an unexpected failure on one
event dead-letters that event with reason `internal_error` instead of stopping the processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from observability.pipeline.enrich import EnrichSettings, compile_drop_rules, decode_event, drop_reason, enrich
from observability.pipeline.enrich import index_name as _index_name
from observability.pipeline.parse import iso_utc, parse_message
from observability.pipeline.redact import Redactor
from observability.pipeline.sink import Position, SinkItem, document_id
from observability.spec.processor import ProcessorConfig

STORE = "store"
DEAD = "dead"
DROPPED = "dropped"


@dataclass(slots=True)
class Outcome:
    """STORE with `item`, DEAD with `reason`/`detail`, or DROPPED with `reason` (the drop rule)."""

    kind: str
    item: SinkItem | None = None
    reason: str = ""
    detail: str = ""
    format: str = ""


class Transformer:
    """Callable hot path with its settings precompiled."""

    def __init__(self, settings: EnrichSettings, max_bytes: int) -> None:
        self.settings = settings
        self.max_bytes = max_bytes
        # One shared name for every document of a data stream (not a new string per event).
        self._stream = _index_name({}, settings) if settings.index is None else None

    @classmethod
    def from_config(cls, config: ProcessorConfig) -> Transformer:
        return cls(settings_from_config(config), config.kafka.max_message_bytes)

    def __call__(self, raw: bytes | None, position: Position, received_ms: int | None = None) -> Outcome:
        """`received_ms`: the Kafka message timestamp, used when neither the line nor Filebeat gave a time."""
        try:
            event, reason, detail = decode_event(raw, self.max_bytes)
            if event is None:
                return Outcome(DEAD, reason=reason or "invalid_json", detail=detail)
            parsed = parse_message(event["message"])
            doc = enrich(event, parsed, self.settings)
            if not doc["@timestamp"] and received_ms and received_ms > 0:
                doc["@timestamp"] = iso_utc(datetime.fromtimestamp(received_ms / 1000, tz=UTC))
            fmt = parsed.get("format", "plain")
            if self.settings.drop:
                rule = drop_reason(doc, self.settings.drop)
                if rule is not None:
                    return Outcome(DROPPED, reason=rule, format=fmt)
            index = self._stream or _index_name(doc, self.settings)
            item = SinkItem(document_id(position), index, doc, position, raw or b"")
            return Outcome(STORE, item=item, format=fmt)
        except Exception as e:  # one bad event must not stop the stream; it is kept in the dead-letter topic
            return Outcome(DEAD, reason="internal_error", detail=f"{type(e).__name__}: {e}"[:500])


def settings_from_config(config: ProcessorConfig) -> EnrichSettings:
    proc = config.processing
    es = config.elasticsearch
    return EnrichSettings(
        dataset=es.data_stream_dataset,
        namespace=es.data_stream_namespace,
        index=es.index,
        environment=proc.environment,
        drop=compile_drop_rules(proc.drop),
        redactor=Redactor(proc.redact_fields),
    )


def default_settings(**overrides: Any) -> EnrichSettings:
    """Settings equal to a default processor.yaml (offline mode without --config)."""
    from observability.spec.processor import ProcessingSettings

    proc = ProcessingSettings()
    values: dict[str, Any] = {"redactor": Redactor(proc.redact_fields), **overrides}
    return EnrichSettings(**values)
