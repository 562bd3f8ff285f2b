"""The embedded SQLite log store: Sink contract (idempotent on doc_id, rejects, locks) and search."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from observability.errors import PipelineError
from observability.pipeline.sink import Position, SinkItem, document_id
from observability.pipeline.store_sqlite import (
    SqliteLogStore,
    _create_file,
    field_value,
    fts_query,
    split_terms,
    timestamp_ms,
)

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def item(offset: int, message: str, *, level: str = "info", service: str = "checkout", ns: str = "shop",
         at: datetime | None = None, **extra: object) -> SinkItem:
    position = Position("logs", 0, offset)
    when = at or T0 + timedelta(seconds=offset)
    doc = {
        "@timestamp": when.isoformat().replace("+00:00", "Z"),
        "message": message,
        "log": {"level": level},
        "service": {"name": service},
        "kubernetes": {"namespace": ns, "pod": {"name": f"{service}-abc"}},
        **extra,
    }
    return SinkItem(doc_id=document_id(position), index="logs-go-default", source=orjson.dumps(doc), position=position,
                    original=b"{}")


@pytest.fixture
def store(tmp_path):
    s = SqliteLogStore(tmp_path / "nested" / "logs.sqlite")
    s.setup()
    yield s
    s.close()


def write(store: SqliteLogStore, *items: SinkItem):
    for i in items:
        store.add(i)
    return store.flush()


def test_flush_confirms_every_item_and_empties_the_buffer(store):
    items = [item(n, f"request {n}") for n in range(5)]
    result = write(store, *items)
    assert result.confirmed == items
    assert result.rejected == []
    assert result.retry_after is None
    assert store.pending() == 0
    assert store.count() == 5


def test_replayed_items_are_confirmed_but_never_duplicated(store, tmp_path):
    first = [item(n, f"request {n}") for n in range(3)]
    write(store, *first)
    replay = [item(n, f"request {n}") for n in range(5)]
    result = write(store, *replay)
    assert result.confirmed == replay
    assert store.count() == 5
    # the full-text index was not duplicated either: each word matches exactly one row
    assert [e.doc_id for e in store.search("request 1")] == ["logs-0-1"]
    # a second store object on the same file (a restarted processor) keeps the guarantee
    other = SqliteLogStore(store.path)
    assert write(other, *first).confirmed == first
    assert other.count() == 5
    other.close()


def test_documents_without_a_valid_timestamp_are_rejected_with_a_reason(store):
    good = item(1, "fine")
    bad = SinkItem(doc_id="logs-0-2", index="i", source=b'{"message":"no ts"}', position=Position("logs", 0, 2),
                   original=b"x")
    result = write(store, good, bad)
    assert result.confirmed == [good]
    assert result.rejected == [(bad, "document has no valid @timestamp (ISO-8601 expected)")]
    assert store.pending() == 0


def test_add_does_not_mutate_the_document(store):
    it = item(1, "hello")
    before = it.source
    write(store, it)
    assert it.source == before


def test_locked_database_keeps_items_pending_with_retry_after(store):
    blocker = sqlite3.connect(store.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    store._conn.execute("PRAGMA busy_timeout = 10")  # keep the test fast
    try:
        result = write(store, item(1, "wait"))
        assert result.confirmed == []
        assert result.retry_after == 0.5
        assert store.pending() == 1
    finally:
        blocker.rollback()
        blocker.close()
    again = store.flush()
    assert [i.doc_id for i in again.confirmed] == ["logs-0-1"]
    assert store.pending() == 0


def test_search_filters_and_orders_oldest_first(store):
    write(
        store,
        item(1, "started", service="checkout"),
        item(2, "payment declined for order", level="error", service="checkout"),
        item(3, "catalog refreshed", service="catalog", ns="shop"),
        item(4, "panic recovered", level="PANIC", service="checkout"),
        item(5, "other ns", service="checkout", ns="staging"),
    )
    assert [e.doc_id for e in store.search()] == [f"logs-0-{n}" for n in range(1, 6)]
    assert [e.doc_id for e in store.search(services=["catalog"])] == ["logs-0-3"]
    assert [e.doc_id for e in store.search(namespaces=["staging"])] == ["logs-0-5"]
    # levels are stored lower-cased so filters are case-insensitive
    assert [e.doc_id for e in store.search(levels=["error", "panic"])] == ["logs-0-2", "logs-0-4"]
    assert [e.doc_id for e in store.search("declined")] == ["logs-0-2"]
    assert [e.doc_id for e in store.search('"payment declined"')] == ["logs-0-2"]
    assert store.search('"declined payment"') == []
    assert [e.doc_id for e in store.search(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=4))] == [
        "logs-0-3",
        "logs-0-4",
    ]
    # limit keeps the newest, still shown oldest first
    assert [e.doc_id for e in store.search(limit=2)] == ["logs-0-4", "logs-0-5"]
    assert store.search("declined")[0].document["log"] == {"level": "error"}


def test_search_finds_words_in_error_fields_and_takes_operators_literally(store):
    write(store, item(1, "request failed", error={"message": "dial tcp: i/o timeout", "stack_trace": "main.go:42"}))
    assert len(store.search("timeout")) == 1
    assert len(store.search("main.go:42")) == 1
    assert store.search("NEAR(request failed)") == []  # not an FTS5 operator: three literal words
    assert store.search('status:500 OR "') == []


def test_follow_cursor_returns_only_newer_events(store):
    write(store, item(1, "a"), item(2, "b"))
    cursor = store.last_seq()
    assert store.search(after_seq=cursor) == []
    write(store, item(3, "c"), item(1, "a"))  # the replay of offset 1 is not "new"
    newer = store.search(after_seq=cursor)
    assert [e.document["message"] for e in newer] == ["c"]


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineError, match=r"no log store at .*missing\.sqlite") as info:
        SqliteLogStore(tmp_path / "missing.sqlite").search()
    assert "obs demo" in str(info.value)


def test_a_reader_never_sees_a_store_without_its_tables_while_it_is_created(tmp_path):
    # `obs logs search` and the demo poll for the file while `obs process` starts.
    unexpected: list[str] = []
    counted: list[Path] = []
    for n in range(60):
        path = tmp_path / f"{n}.sqlite"
        created = threading.Event()

        def poll(path: Path = path, created: threading.Event = created) -> None:
            reader = SqliteLogStore(path)
            while True:
                try:
                    assert reader.count() == 0
                    counted.append(path)
                    break
                except PipelineError as e:
                    if "no log store" not in str(e):
                        unexpected.append(str(e))
                        break
                    if created.is_set() and not path.exists():
                        unexpected.append("store missing after setup")
                        break
            reader.close()

        reader = threading.Thread(target=poll)
        reader.start()
        writer = SqliteLogStore(path)
        writer.setup()
        created.set()
        reader.join(timeout=10)
        writer.close()
    assert unexpected == []
    assert len(counted) == 60
    assert sorted(p.name for p in tmp_path.iterdir() if "creating" in p.name) == []


def test_creating_a_store_never_replaces_one_another_processor_just_created(tmp_path):
    path = tmp_path / "logs.sqlite"
    first = SqliteLogStore(path)
    first.setup()
    write(first, item(1, "kept"))
    _create_file(path)  # a second processor that saw no file a moment ago
    assert [e.document["message"] for e in first.search()] == ["kept"]
    assert SqliteLogStore(path).count() == 1
    first.close()


def test_a_filesystem_without_hard_links_still_gets_a_store(tmp_path, monkeypatch):
    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("observability.pipeline.store_sqlite.os.link", refuse)
    store = SqliteLogStore(tmp_path / "logs.sqlite")
    store.setup()
    write(store, item(1, "kept"))
    assert store.count() == 1
    store.close()
    assert [p.name for p in tmp_path.iterdir() if "creating" in p.name] == []


def test_field_value_handles_nested_dotted_and_mixed_documents():
    assert field_value({"log": {"level": "info"}}, "log.level") == "info"
    assert field_value({"log.level": "warn"}, "log.level") == "warn"
    assert field_value({"error": {"stack_trace": "x"}}, "error.stack_trace") == "x"
    assert field_value({"http": {"response.status_code": 500}}, "http.response.status_code") == 500
    assert field_value({"log": "not a mapping"}, "log.level") is None
    assert field_value({}, "message") is None


def test_timestamp_parsing():
    assert timestamp_ms("2026-11-23T10:00:00.123Z") == int(T0.timestamp() * 1000) + 123
    assert timestamp_ms("2026-11-23T10:00:00") == int(T0.timestamp() * 1000)
    assert timestamp_ms("yesterday") is None
    assert timestamp_ms(12) is None


def test_query_text_is_split_into_quoted_terms():
    assert split_terms('  timeout "payment failed"  db ') == ["timeout", "payment failed", "db"]
    assert split_terms('"unclosed phrase') == ["unclosed phrase"]
    assert fts_query('say "hi"') == '"say" AND "hi"'
    assert fts_query('a"b') == '"a""b"'


def test_any_sequence_of_deliveries_and_replays_stores_each_event_exactly_once(tmp_path_factory):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.lists(st.integers(min_value=0, max_value=30), max_size=12), min_size=1, max_size=6))
    def run(batches):
        store = SqliteLogStore(tmp_path_factory.mktemp("prop") / "logs.sqlite")
        store.setup()
        try:
            for batch in batches:
                result = write(store, *(item(n, f"event {n}") for n in batch))
                assert [i.position.offset for i in result.confirmed] == batch  # all confirmed, in order
            expected = sorted({n for batch in batches for n in batch})
            assert store.count() == len(expected)
            found = [e.doc_id for e in store.search(limit=1000)]
            assert found == [f"logs-0-{n}" for n in expected]  # oldest first; the timestamp follows the offset
            for n in expected:
                assert [e.doc_id for e in store.search(f'"event {n}"')] == [f"logs-0-{n}"]
        finally:
            store.close()

    run()
