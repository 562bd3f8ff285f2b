"""Pipeline layer, PURE: one Kafka message value → what to do with it (store, dead-letter or drop).

This is the whole per-event hot path (decode → parse → enrich → drop rules → target index), shared by the
Kafka runner and the offline `obs process --input` mode. It never raises: an unexpected failure on one
event dead-letters that event with reason `internal_error` instead of stopping the processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from observability.pipeline.enrich import (
    EnrichSettings,
    compile_drop_rules,
    drop_reason,
    encode_document,
    enrich_envelope,
    index_for,
)
from observability.pipeline.envelope import Envelope, EnvelopeReader, InvalidEnvelope
from observability.pipeline.index_name import index_name_problem
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
    labels: tuple[str, str, str] = ("", "", "")
    """(service.name, kubernetes.namespace, log.level) of a stored event, for log_events_total."""


class Transformer:
    """Callable hot path with its settings precompiled."""

    def __init__(self, settings: EnrichSettings, max_bytes: int) -> None:
        self.settings = settings
        self.max_bytes = max_bytes
        self.reader = EnvelopeReader(max_bytes)
        # One shared name for every document of a data stream (not a new string per event).
        self._stream = index_for(settings, "", "", "") if settings.index is None else None
        self._names: dict[str, str | None] = {}
        """Index names met so far → their problem (None: valid); names repeat, the check runs once each."""

    @classmethod
    def from_config(cls, config: ProcessorConfig) -> Transformer:
        return cls(settings_from_config(config), config.kafka.max_message_bytes)

    def __call__(self, raw: bytes | None, position: Position, received_ms: int | None = None) -> Outcome:
        """`received_ms`: the Kafka message timestamp, used when neither the line nor Filebeat gave a time."""
        try:
            envelope = self.reader.decode(raw)
            if envelope is not None:
                try:
                    return self._outcome(envelope, raw or b"", position, received_ms)
                except InvalidEnvelope:
                    pass  # the thorough check below names what is wrong
            envelope, reason, detail = self.reader.check(raw)
            if envelope is None:
                return Outcome(DEAD, reason=reason or "invalid_json", detail=detail)
            return self._outcome(envelope, raw or b"", position, received_ms)
        except Exception as e:  # one bad event must not stop the stream; it is kept in the dead-letter topic
            return Outcome(DEAD, reason="internal_error", detail=f"{type(e).__name__}: {e}"[:500])

    def _outcome(self, envelope: Envelope, raw: bytes, position: Position, received_ms: int | None) -> Outcome:
        parsed = parse_message(envelope.message, envelope.timestamp)
        doc, namespace = enrich_envelope(envelope, parsed, self.settings, self.reader)
        if not doc["@timestamp"] and received_ms and received_ms > 0:
            doc["@timestamp"] = iso_utc(datetime.fromtimestamp(received_ms / 1000, tz=UTC))
        fmt = parsed.get("format", "plain")
        if self.settings.drop:
            rule = drop_reason(doc, self.settings.drop, self.reader)
            if rule is not None:
                return Outcome(DROPPED, reason=rule, format=fmt)
        service = doc["service"].get("name", "") if "service" in doc else ""
        index = self._stream or index_for(self.settings, namespace, service, str(doc["@timestamp"] or ""))
        problem = self._index_problem(index)
        if problem is not None:
            pattern = self.settings.index or "logs-<dataset>-<namespace>"
            detail = f"index name {index!r} (from elasticsearch.index {pattern!r}) {problem}"
            return Outcome(DEAD, reason="invalid_index", detail=detail[:2000], format=fmt)
        item = SinkItem(document_id(position), index, encode_document(doc), position, raw)
        return Outcome(STORE, item=item, format=fmt, labels=(service, namespace, doc["log"]["level"]))


    def _index_problem(self, index: str) -> str | None:
        if index in self._names:
            return self._names[index]
        if len(self._names) >= 4096:
            self._names.clear()
        problem = self._names[index] = index_name_problem(index)
        return problem


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
