"""Apply layer: search stored log events — in Elasticsearch or the demo's embedded store (`obs logs search`).

The query model (`LogQuery`), time parsing and the query DSL builder (`build_search_body`) are pure and
unit-tested. Two backends answer a `LogQuery` with the same interface — `search()` for the newest matches,
`follow()` for a tail that yields new events batch by batch:
- `ElasticsearchLogSearch`: the thin I/O edge that sends the body through the official `elasticsearch` v8
  client and translates its errors;
- `StoreLogSearch`: the embedded SQLite store of the local demo (`pipeline.store_sqlite`), which defines the
  field names both backends filter on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from observability.errors import ObservabilityError, RemoteError, connection_failure
from observability.pipeline.store_sqlite import (
    FULL_TEXT_FIELDS,
    LEVEL_FIELD,
    NAMESPACE_FIELD,
    SERVICE_FIELD,
    TIMESTAMP_FIELD,
    SqliteLogStore,
    field_value,
)

DEFAULT_INDEX = "logs-*"
"""The processor writes data streams logs-<dataset>-<namespace>; this pattern covers all of them."""

# The processor's normalised levels (docs/processor.md), least to most severe. `--level X` means X or worse,
# which is what someone on call wants from `--level error` (panics and fatals included).
LEVELS = ("trace", "debug", "info", "warn", "error", "panic", "fatal")
_LEVEL_ALIASES = {"warning": "warn", "err": "error", "dpanic": "panic", "critical": "fatal"}

_RELATIVE = re.compile(r"^(\d+)(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class QueryError(ObservabilityError):
    """A search option cannot be understood (bad time, level, limit)."""


@dataclass(frozen=True)
class LogQuery:
    """What to search for; every filter is optional and filters combine with AND."""

    text: str = ""
    """Words or "quoted phrases" that must all appear in message / error.message / error.stack_trace."""
    services: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    """Exact normalised levels to match (already expanded from `--level`)."""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    """Most events returned (the newest ones)."""
    extra_filters: tuple[Mapping[str, Any], ...] = field(default=())
    """Further Elasticsearch filter clauses (used by follow mode to move the time window)."""


def levels_at_or_above(level: str) -> tuple[str, ...]:
    """The normalised levels at least as severe as `level` (`error` → error, panic, fatal)."""
    name = _LEVEL_ALIASES.get(level.strip().lower(), level.strip().lower())
    if name not in LEVELS:
        raise QueryError(f"--level: unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return LEVELS[LEVELS.index(name) :]


def parse_time_bound(text: str, now: datetime, option: str = "--since") -> datetime:
    """A point in time from a relative duration ("15m", "2h", "7d" ago), "now", or an ISO-8601 time.

    Times without a zone are UTC, because every stored @timestamp is UTC.
    """
    value = text.strip()
    if value == "now":
        return now
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"{option}: cannot read {text!r} as a time",
            hint="use a duration ago such as 30s, 15m, 2h, 7d, or an ISO time such as 2024-05-01T12:00:00Z",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_search_body(query: LogQuery, *, ascending: bool = False) -> dict[str, Any]:
    """The `_search` request body for a query: filters in filter context (cached, unscored), the text as a
    `simple_query_string` (AND of terms, quotes for phrases, never a syntax error), newest first."""
    filters: list[dict[str, Any]] = []
    for es_field, values in (
        (SERVICE_FIELD, query.services),
        (NAMESPACE_FIELD, query.namespaces),
        (LEVEL_FIELD, query.levels),
    ):
        if values:
            filters.append({"terms": {es_field: list(values)}})
    if query.since is not None or query.until is not None:
        bounds: dict[str, str] = {"format": "strict_date_optional_time"}
        if query.since is not None:
            bounds["gte"] = _iso(query.since)
        if query.until is not None:
            bounds["lte"] = _iso(query.until)
        filters.append({"range": {TIMESTAMP_FIELD: bounds}})
    filters.extend(dict(f) for f in query.extra_filters)
    boolean: dict[str, Any] = {"filter": filters}
    if query.text.strip():
        boolean["must"] = [
            {
                "simple_query_string": {
                    "query": query.text.strip(),
                    "fields": list(FULL_TEXT_FIELDS),
                    "default_operator": "and",
                    "lenient": True,
                }
            }
        ]
    order = "asc" if ascending else "desc"
    return {
        "query": {"bool": boolean},
        "sort": [{TIMESTAMP_FIELD: {"order": order, "format": "strict_date_optional_time_nanos"}}],
        "size": query.limit,
        "track_total_hits": False,
    }


@dataclass(frozen=True)
class LogHit:
    """One event found: its document id, its @timestamp as stored and the document itself."""

    doc_id: str
    timestamp: str
    document: dict[str, Any]
    seq: int | None = None
    """Insertion sequence in the embedded store (its follow cursor); None for Elasticsearch."""


FOLLOW_BATCH = 1000
"""Most events one `follow()` poll returns; a burst larger than this is shown over several polls."""


class ElasticsearchLogSearch:
    """Searches the processor's data streams through the official client."""

    def __init__(
        self,
        url: str,
        *,
        index: str = DEFAULT_INDEX,
        api_key: str | None = None,
        timeout: float = 30.0,
        client: Any = None,
    ) -> None:
        if client is None:
            from elasticsearch import Elasticsearch

            client = Elasticsearch(url, api_key=api_key, request_timeout=timeout)
        self.url = url
        self.index = index
        self._client = client

    def search(self, query: LogQuery) -> list[LogHit]:
        """The newest `query.limit` matching events, returned oldest first."""
        return self._run(build_search_body(query))[::-1]

    def follow(self, query: LogQuery, now: datetime) -> Iterator[list[LogHit]]:
        """First the newest matches (like `search`), then on every `next()` the matches stored since.

        Polls with `@timestamp >= the newest timestamp shown` and drops ids already shown at that instant:
        a strict `>` would skip events sharing a millisecond with the last one.
        """
        hits = self.search(query)
        last = hits[-1].timestamp if hits else _iso(now)
        seen = {h.doc_id for h in hits if h.timestamp == last}
        yield hits
        while True:
            window = {"range": {TIMESTAMP_FIELD: {"gte": last, "format": "strict_date_optional_time_nanos"}}}
            batch_query = replace(query, limit=FOLLOW_BATCH, extra_filters=(*query.extra_filters, window))
            fresh = [h for h in self._run(build_search_body(batch_query, ascending=True)) if h.doc_id not in seen]
            if fresh:
                if fresh[-1].timestamp != last:
                    last, seen = fresh[-1].timestamp, set()
                seen.update(h.doc_id for h in fresh if h.timestamp == last)
            yield fresh

    def close(self) -> None:
        self._client.close()

    def _run(self, body: dict[str, Any]) -> list[LogHit]:
        from elasticsearch import ApiError, TransportError

        try:
            response = self._client.search(index=self.index, ignore_unavailable=True, allow_no_indices=True, **body)
        except ApiError as e:
            raise RemoteError(
                f"Elasticsearch at {self.url} refused the search on {self.index}: {_error_reason(e.body)}",
                status=e.status_code,
                hint="check ES_URL, the credentials (ES_API_KEY) and --index",
            ) from e
        except TransportError as e:
            raise RemoteError(
                f"cannot reach Elasticsearch at {self.url}: {connection_failure(e)}",
                hint="check ES_URL (e.g. http://localhost:9200), or unset it to search the local store",
            ) from e
        hits = response["hits"]["hits"]
        return [
            LogHit(doc_id=h["_id"], timestamp=str((h.get("sort") or [""])[0]), document=h.get("_source") or {})
            for h in hits
        ]


class StoreLogSearch:
    """Searches the embedded SQLite log store of the local demo."""

    def __init__(self, store: SqliteLogStore) -> None:
        self.store = store

    def search(self, query: LogQuery) -> list[LogHit]:
        return self._hits(query, after_seq=None)

    def follow(self, query: LogQuery, now: datetime) -> Iterator[list[LogHit]]:
        """First the newest matches, then on every `next()` the matches stored since (by insertion order,
        so a late event with an old @timestamp is still shown)."""
        cursor = self.store.last_seq()
        hits = self.search(query)
        cursor = max([cursor, *(h.seq or 0 for h in hits)])
        yield hits
        while True:
            fresh = self._hits(replace(query, limit=FOLLOW_BATCH), after_seq=cursor)
            if fresh:
                cursor = max(h.seq or 0 for h in fresh)
            yield fresh

    def close(self) -> None:
        self.store.close()

    def _hits(self, query: LogQuery, after_seq: int | None) -> list[LogHit]:
        if query.extra_filters:
            raise QueryError("extra Elasticsearch filters cannot be applied to the embedded store")
        events = self.store.search(
            query.text,
            services=query.services,
            namespaces=query.namespaces,
            levels=query.levels,
            since=query.since,
            until=query.until,
            limit=query.limit,
            after_seq=after_seq,
        )
        return [
            LogHit(
                doc_id=e.doc_id,
                timestamp=str(field_value(e.document, TIMESTAMP_FIELD) or ""),
                document=e.document,
                seq=e.seq,
            )
            for e in events
        ]


def _error_reason(body: Any) -> str:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            root = error.get("root_cause") or [error]
            first = root[0] if isinstance(root, Sequence) and root else error
            if isinstance(first, Mapping):
                return f"{first.get('type', 'error')}: {str(first.get('reason', ''))[:300]}"
        return str(error)[:300]
    return str(body)[:300]
