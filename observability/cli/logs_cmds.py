"""CLI layer: `obs logs search` — find log events in Elasticsearch or in the demo's embedded store.

Where it searches: `--store PATH` (the embedded SQLite store), else `--es-url` / `$ES_URL` (Elasticsearch,
through the official client), else the demo's default store ./.demo/logs.sqlite. Output is a table for
people, or one JSON document per line with `--json` for scripts. `--follow` keeps polling for new events.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from observability.apply.logsearch import (
    DEFAULT_INDEX,
    ElasticsearchLogSearch,
    LogHit,
    LogQuery,
    QueryError,
    StoreLogSearch,
    levels_at_or_above,
    parse_time_bound,
)
from observability.cli import app
from observability.cli.params import http_url, positive
from observability.pipeline.store_sqlite import (
    DEFAULT_STORE_PATH,
    LEVEL_FIELD,
    NAMESPACE_FIELD,
    SERVICE_FIELD,
    SqliteLogStore,
    field_value,
)

logs_app = typer.Typer(help="Search the log events the processor stored.", no_args_is_help=True)
app.add_typer(logs_app, name="logs")

# Where the processor's ECS documents keep the request details shown next to the message; the first
# present path wins, so raw zap keys still show when a document was stored without enrichment.
_DETAIL_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("method", ("http.request.method", "method")),
    ("route", ("http.route", "labels.route", "route")),
    ("path", ("url.path", "path")),
    ("status", ("http.response.status_code", "status")),
    ("trace", ("trace.id", "trace_id")),
    ("error", ("error.message",)),
)
_LEVEL_STYLES = {"error": "bold red", "panic": "bold magenta", "fatal": "bold magenta", "warn": "yellow",
                 "info": "green", "debug": "dim", "trace": "dim"}


@dataclass(frozen=True)
class EventSummary:
    """The columns one event shows as: time, level, service, namespace, message and key=value details."""

    time: str
    level: str
    service: str
    namespace: str
    message: str
    details: tuple[str, ...]


def summarize_event(document: dict[str, Any], timestamp: str) -> EventSummary:
    """What a person needs to see of one stored document, in fixed columns."""
    moment = _display_time(timestamp)
    details = []
    for label, paths in _DETAIL_FIELDS:
        value = next(
            (v for v in (field_value(document, p) for p in paths) if v not in (None, "") and not isinstance(v, dict)),
            None,
        )
        if value is not None:
            details.append(f"{label}={value}")
    message = field_value(document, "message")
    return EventSummary(
        time=moment,
        level=str(field_value(document, LEVEL_FIELD) or "-").lower(),
        service=str(field_value(document, SERVICE_FIELD) or "-"),
        namespace=str(field_value(document, NAMESPACE_FIELD) or "-"),
        message=str(message).splitlines()[0] if message else "",
        details=tuple(details),
    )


def _display_time(timestamp: str) -> str:
    try:
        parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp or "-"
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def events_table(hits: list[LogHit], *, header: bool) -> Table:
    """A table of events; fixed column widths so the batches of `--follow` line up without a header."""
    table = Table(show_header=header, header_style="bold", box=None, pad_edge=False, expand=False)
    table.add_column("time (UTC)", no_wrap=True, width=23)
    table.add_column("level", no_wrap=True, width=5)
    table.add_column("service", no_wrap=True, width=18, overflow="ellipsis")
    table.add_column("namespace", no_wrap=True, width=12, overflow="ellipsis")
    table.add_column("message", overflow="fold")
    for hit in hits:
        s = summarize_event(hit.document, hit.timestamp)
        style = _LEVEL_STYLES.get(s.level, "")
        text = escape(s.message) + ("  [dim]" + escape(" ".join(s.details)) + "[/dim]" if s.details else "")
        table.add_row(s.time, f"[{style}]{escape(s.level)}[/]" if style else escape(s.level),
                      escape(s.service), escape(s.namespace), text)
    return table


def hit_json(hit: LogHit) -> bytes:
    """One line of `--json` output: the stored document plus its `_id`."""
    return orjson.dumps({"_id": hit.doc_id, **hit.document}, option=orjson.OPT_SORT_KEYS)


def build_query(
    text: str, services: list[str], namespaces: list[str], level: str | None, since: str | None,
    until: str | None, limit: int, now: datetime,
) -> LogQuery:
    """The LogQuery for the command-line options; QueryError names the option that is wrong."""
    if limit < 1:
        raise QueryError(f"--limit must be at least 1, got {limit}")
    start = parse_time_bound(since, now, "--since") if since else None
    end = parse_time_bound(until, now, "--until") if until else None
    if start and end and start > end:
        raise QueryError(f"--since ({since}) is after --until ({until}); nothing can match")
    return LogQuery(
        text=text,
        services=tuple(services),
        namespaces=tuple(namespaces),
        levels=levels_at_or_above(level) if level else (),
        since=start,
        until=end,
        limit=limit,
    )


@logs_app.command("search")
def search(
    words: Annotated[
        list[str] | None, typer.Argument(metavar="QUERY", help='words or "quoted phrases" that must all appear')
    ] = None,
    service: Annotated[list[str], typer.Option("--service", "-s", help="service.name (repeatable)")] = [],  # noqa: B006
    namespace: Annotated[
        list[str], typer.Option("--namespace", "-n", help="Kubernetes namespace (repeatable)")
    ] = [],  # noqa: B006
    level: Annotated[
        str | None, typer.Option("--level", "-l", help="this level or more severe: debug|info|warn|error|fatal")
    ] = None,
    since: Annotated[str | None, typer.Option(help="start: a duration ago (15m, 2h, 7d) or an ISO time")] = None,
    until: Annotated[str | None, typer.Option(help="end: a duration ago or an ISO time")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many (the newest) events")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep showing new events until Ctrl-C")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document per line")] = False,
    store: Annotated[
        Path | None, typer.Option(help=f"search this embedded store (default {DEFAULT_STORE_PATH} without ES_URL)")
    ] = None,
    es_url: Annotated[str | None, typer.Option(envvar="ES_URL", callback=http_url, help="Elasticsearch URL")] = None,
    es_api_key: Annotated[str | None, typer.Option(envvar="ES_API_KEY", help="Elasticsearch API key")] = None,
    index: Annotated[str, typer.Option(help="Elasticsearch index or pattern")] = DEFAULT_INDEX,
    interval: Annotated[float, typer.Option(callback=positive, help="seconds between polls with --follow")] = 1.0,
) -> None:
    """Search stored log events, newest last; e.g. `obs logs search timeout --level error --since 15m`."""
    if follow and until:
        raise QueryError("--until cannot be combined with --follow (new events are always later)")
    now = datetime.now(UTC)
    # `obs logs search payment rejected` is two words, both required: the same as the one argument
    # "payment rejected" (a phrase needs its own quotes inside: '"payment rejected"').
    log_query = build_query(" ".join(words or []), service, namespace, level, since, until, limit, now)
    backend: ElasticsearchLogSearch | StoreLogSearch
    if store is None and es_url:
        backend = ElasticsearchLogSearch(es_url, index=index, api_key=es_api_key)
    else:
        backend = StoreLogSearch(SqliteLogStore(store or DEFAULT_STORE_PATH))
    # Piped output keeps one event per line instead of folding messages at the default 80 columns.
    console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 240)
    try:
        if not follow:
            hits = backend.search(log_query)
            if hits:
                _emit(console, hits, as_json=as_json, header=True)
            else:
                print("no matching events", file=sys.stderr)
            return
        batches = backend.follow(log_query, now)
        _emit(console, next(batches), as_json=as_json, header=True)
        while True:
            time.sleep(interval)
            _emit(console, next(batches), as_json=as_json, header=False)
    except KeyboardInterrupt:
        return
    finally:
        backend.close()


def _emit(console: Console, hits: list[LogHit], *, as_json: bool, header: bool) -> None:
    if as_json:
        for hit in hits:
            sys.stdout.buffer.write(hit_json(hit) + b"\n")
        sys.stdout.flush()
    elif hits or header:
        console.print(events_table(hits, header=header))
