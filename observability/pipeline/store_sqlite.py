"""Pipeline layer (I/O): the embedded local log store — a `Sink` backed by SQLite with FTS5.

Used by the local demo (and `obs process --sink sqlite:PATH`) when no Elasticsearch is available: the
processor writes here through the same `setup()/add()/flush()` contract as the Elasticsearch sink, and
`obs logs search --store PATH` reads it back. One file under ./.demo/ by default.

Idempotence: `doc_id` (derived from the Kafka position) is a UNIQUE key and rows are written with
`INSERT ... ON CONFLICT DO NOTHING`, so a replay after a crash confirms the item without a second row — the
same guarantee `create` + 409 gives in Elasticsearch. The full-text index (FTS5) is only written when the row
was new, inside the same transaction, so the two never diverge.

Concurrency: the processor writes while the CLI and the demo read, from other processes. WAL mode lets
readers run during a write; a writer that finds the database locked keeps its items pending and asks the
runner to retry (`FlushResult.retry_after`) instead of failing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from observability.errors import PipelineError
from observability.pipeline.sink import FlushResult, SinkItem

DEFAULT_STORE_PATH = Path(".demo") / "logs.sqlite"

# ECS fields the store extracts into columns and the search filters on; `apply.logsearch` uses the same
# names for Elasticsearch (a unit test keeps the two in step).
TIMESTAMP_FIELD = "@timestamp"
SERVICE_FIELD = "service.name"
NAMESPACE_FIELD = "kubernetes.namespace"
LEVEL_FIELD = "log.level"
FULL_TEXT_FIELDS = ("message", "error.message", "error.stack_trace")

_BUSY_TIMEOUT_MS = 2000
_LOCKED_RETRY_AFTER = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id     TEXT    NOT NULL UNIQUE,
    ts_ms      INTEGER NOT NULL,
    service    TEXT,
    namespace  TEXT,
    level      TEXT,
    index_name TEXT    NOT NULL,
    document   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);
CREATE INDEX IF NOT EXISTS events_service ON events (service, ts_ms);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5 (text, tokenize = 'unicode61');
"""


def field_value(doc: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted ECS path, whether the document nests objects (`{"log": {"level": ..}}`) or uses
    dotted keys (`{"log.level": ..}`) or a mix; None when absent."""
    if path in doc:
        return doc[path]
    parts = path.split(".")
    for i in range(1, len(parts)):
        child = doc.get(".".join(parts[:i]))
        if isinstance(child, Mapping):
            found = field_value(child, ".".join(parts[i:]))
            if found is not None:
                return found
    return None


def timestamp_ms(value: Any) -> int | None:
    """Epoch milliseconds of an ISO-8601 `@timestamp` (a trailing Z is accepted); None if unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def fts_query(text: str) -> str:
    """Turn a user's search text into a safe FTS5 query: every word (or "quoted phrase") must appear.

    FTS5 has its own operators (AND, NEAR, column filters, `*`); quoting each term makes user input
    literal, so `status:500` or `a-b` search for those tokens instead of raising a syntax error.
    """
    terms = split_terms(text)
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def split_terms(text: str) -> list[str]:
    """Words and double-quoted phrases of a search text, in order; an unclosed quote runs to the end."""
    terms: list[str] = []
    rest = text.strip()
    while rest:
        if rest.startswith('"'):
            end = rest.find('"', 1)
            phrase, rest = (rest[1:], "") if end < 0 else (rest[1:end], rest[end + 1 :])
            if phrase.strip():
                terms.append(phrase.strip())
        else:
            word, _, rest = rest.partition(" ")
            if word:
                terms.append(word)
        rest = rest.strip()
    return terms


@dataclass(frozen=True)
class StoredEvent:
    """One stored document and its insertion sequence number (the cursor `--follow` uses)."""

    seq: int
    doc_id: str
    document: dict[str, Any]


class SqliteLogStore:
    """The embedded log store: a `pipeline.sink.Sink` for writing and `search()` for reading."""

    def __init__(self, path: Path | str = DEFAULT_STORE_PATH) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._buffer: list[SinkItem] = []

    # -- Sink protocol -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Create the directory, the database and its tables (idempotent)."""
        self._connect(create=True)

    def add(self, item: SinkItem) -> None:
        self._buffer.append(item)

    def flush(self, wait: bool = True) -> FlushResult:
        """Store every buffered item in one transaction; a locked database keeps them pending."""
        if not self._buffer:
            return FlushResult()
        conn = self._connect(create=True)
        result = FlushResult()
        rows: list[tuple[SinkItem, str, int]] = []
        for item in self._buffer:
            try:
                text = json.dumps(item.document, ensure_ascii=False, separators=(",", ":"))
            except (TypeError, ValueError) as e:
                result.rejected.append((item, f"document is not JSON-serialisable: {e}"))
                continue
            ts = timestamp_ms(field_value(item.document, TIMESTAMP_FIELD))
            if ts is None:
                result.rejected.append((item, f"document has no valid {TIMESTAMP_FIELD} (ISO-8601 expected)"))
                continue
            rows.append((item, text, ts))
        try:
            with conn:
                for item, text, ts in rows:
                    self._insert(conn, item, text, ts)
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                self._buffer = [item for item, _, _ in rows]
                result.retry_after = _LOCKED_RETRY_AFTER
                return result
            raise PipelineError(f"cannot write to the log store {self.path}: {e}") from e
        result.confirmed.extend(item for item, _, _ in rows)
        self._buffer = []
        return result

    def pending(self) -> int:
        return len(self._buffer)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- reading -----------------------------------------------------------------------------------

    def search(
        self,
        text: str = "",
        *,
        services: Sequence[str] = (),
        namespaces: Sequence[str] = (),
        levels: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after_seq: int | None = None,
    ) -> list[StoredEvent]:
        """Matching events. Without `after_seq`: the newest `limit`, returned oldest first (like a log
        tail). With `after_seq`: the next `limit` events stored after that sequence number, in order."""
        conn = self._connect(create=False)
        where: list[str] = []
        params: list[Any] = []
        if text.strip():
            where.append("seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
            params.append(fts_query(text))
        for column, values in (("service", services), ("namespace", namespaces), ("level", levels)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if since is not None:
            where.append("ts_ms >= ?")
            params.append(int(since.timestamp() * 1000))
        if until is not None:
            where.append("ts_ms <= ?")
            params.append(int(until.timestamp() * 1000))
        if after_seq is not None:
            where.append("seq > ?")
            params.append(after_seq)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        order = "seq ASC" if after_seq is not None else "ts_ms DESC, seq DESC"
        sql = f"SELECT seq, doc_id, document FROM events {clause} ORDER BY {order} LIMIT ?"
        try:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        except sqlite3.OperationalError as e:
            raise PipelineError(f"cannot search the log store {self.path}: {e}") from e
        events = [StoredEvent(seq=r[0], doc_id=r[1], document=json.loads(r[2])) for r in rows]
        return events if after_seq is not None else events[::-1]

    def count(self) -> int:
        """Number of stored events."""
        row = self._connect(create=False).execute("SELECT count(*) FROM events").fetchone()
        return int(row[0])

    def last_seq(self) -> int:
        """Sequence number of the newest stored event (0 when empty): start `--follow` after it."""
        row = self._connect(create=False).execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        return int(row[0])

    # -- internals ---------------------------------------------------------------------------------

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            raise PipelineError(
                f"no log store at {self.path}",
                hint="start `obs demo` (it creates ./.demo/logs.sqlite) or pass --store PATH / set ES_URL",
            )
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if not self.path.exists():
                    _create_file(self.path)
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            if create:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
            else:
                conn.execute("SELECT 1 FROM events LIMIT 1")
        except (sqlite3.Error, OSError) as e:
            raise PipelineError(
                f"cannot open the log store {self.path}: {e}",
                hint="check the path is writable and is a store created by `obs demo` / `obs process`",
            ) from e
        self._conn = conn
        return conn

    @staticmethod
    def _insert(conn: sqlite3.Connection, item: SinkItem, text: str, ts: int) -> None:
        doc = item.document
        level = field_value(doc, LEVEL_FIELD)
        cursor = conn.execute(
            "INSERT INTO events (doc_id, ts_ms, service, namespace, level, index_name, document) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (doc_id) DO NOTHING",
            (
                item.doc_id,
                ts,
                _as_text(field_value(doc, SERVICE_FIELD)),
                _as_text(field_value(doc, NAMESPACE_FIELD)),
                level.lower() if isinstance(level, str) else _as_text(level),
                item.index,
                text,
            ),
        )
        if cursor.rowcount == 1:
            conn.execute(
                "INSERT INTO events_fts (rowid, text) VALUES (?, ?)",
                (cursor.lastrowid, full_text(doc)),
            )


def full_text(doc: Mapping[str, Any]) -> str:
    """The text the full-text index holds for a document: its message, error message and stack trace."""
    return "\n".join(_strings(field_value(doc, f) for f in FULL_TEXT_FIELDS))


def _strings(values: Iterable[Any]) -> list[str]:
    return [v if isinstance(v, str) else json.dumps(v) for v in values if v is not None]


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _create_file(path: Path) -> None:
    """Create the store with its tables beside `path`, then link it into place.

    Readers (`obs logs search`, the demo) poll for the file while `obs process` starts; created in place,
    the file exists a moment before its tables do and such a reader failed with "no such table". A hard
    link never replaces a store another processor created meanwhile (it would hold their events).
    """
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".creating")
    os.close(fd)
    try:
        conn = sqlite3.connect(scratch)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
        finally:
            conn.close()
        # FileExistsError: another processor was first. Any other refusal (a filesystem without hard links):
        # the caller creates the store in place, as before, and a reader may then meet it without tables.
        with contextlib.suppress(OSError):
            os.link(scratch, path)
    finally:
        os.unlink(scratch)
