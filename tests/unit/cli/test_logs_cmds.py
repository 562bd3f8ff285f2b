"""`obs logs search` against the embedded store, through the real entry point, and its row formatting."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from observability.apply.logsearch import LogHit
from observability.cli.logs_cmds import events_table, hit_json, summarize_event
from observability.pipeline.sink import Position, SinkItem, document_id
from observability.pipeline.store_sqlite import SqliteLogStore


def obs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "observability", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def ecs(offset: int, message: str, level: str, when: datetime, **extra: object) -> SinkItem:
    position = Position("logs", 1, offset)
    document = {
        "@timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "message": message,
        "log": {"level": level},
        "service": {"name": "checkout"},
        "kubernetes": {"namespace": "shop"},
        **extra,
    }
    return SinkItem(document_id(position), "logs-go-default", orjson.dumps(document), position, b"")


@pytest.fixture
def store_path(tmp_path):
    now = datetime.now(UTC)
    store = SqliteLogStore(tmp_path / "logs.sqlite")
    store.setup()
    for it in [
        ecs(1, "order placed", "info", now - timedelta(hours=2)),
        ecs(2, "payment failed", "error", now - timedelta(minutes=5),
            http={"request": {"method": "GET"}, "response": {"status_code": 500}}, trace={"id": "4bf92f35"}),
        ecs(3, "panic recovered\ngoroutine 7 [running]:", "panic", now - timedelta(minutes=1)),
    ]:
        store.add(it)
    store.flush()
    store.close()
    return tmp_path / "logs.sqlite"


def test_json_output_is_one_document_per_line_with_its_id(store_path):
    result = obs("logs", "search", "--store", str(store_path), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["_id"] for d in lines] == ["logs-1-1", "logs-1-2", "logs-1-3"]
    assert lines[1]["http"]["response"]["status_code"] == 500


def test_filters_level_since_and_text(store_path):
    result = obs("logs", "search", "--store", str(store_path), "--json", "--level", "error", "--since", "30m")
    assert [json.loads(x)["_id"] for x in result.stdout.splitlines()] == ["logs-1-2", "logs-1-3"]
    result = obs("logs", "search", "payment", "--store", str(store_path), "--json", "-s", "checkout", "-n", "shop")
    assert [json.loads(x)["_id"] for x in result.stdout.splitlines()] == ["logs-1-2"]
    result = obs("logs", "search", "payment", "--store", str(store_path), "--json", "-s", "catalog")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "no matching events" in result.stderr


def test_several_words_must_all_appear(store_path):
    # `obs logs search payment failed`: two arguments, both words required (as in one quoted argument)
    for words in (["payment", "failed"], ["payment failed"], ["failed", "payment"]):
        result = obs("logs", "search", *words, "--store", str(store_path), "--json")
        assert result.returncode == 0, result.stderr
        assert [json.loads(x)["_id"] for x in result.stdout.splitlines()] == ["logs-1-2"], words
    result = obs("logs", "search", "payment", "placed", "--store", str(store_path), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "no matching events" in result.stderr


def test_table_output_shows_level_service_message_and_details(store_path):
    result = obs("logs", "search", "--store", str(store_path), "--level", "error")
    assert result.returncode == 0, result.stderr
    assert "time (UTC)" in result.stdout
    assert "payment failed" in result.stdout
    assert "status=500" in result.stdout and "trace=4bf92f35" in result.stdout
    assert "goroutine" not in result.stdout  # only the first line of a multi-line message


def test_bad_options_are_errors_without_traceback(store_path):
    for args, expected in [
        (["--since", "soon"], "--since: cannot read 'soon' as a time"),
        (["--level", "loud"], "--level: unknown level 'loud'"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--since", "1m", "--until", "2h"], "--since (1m) is after --until (2h)"),
        (["--follow", "--until", "1m"], "--until cannot be combined with --follow"),
    ]:
        result = obs("logs", "search", "--store", str(store_path), *args)
        assert result.returncode == 1, args
        assert f"ERROR: {expected}" in result.stderr
        assert "Traceback" not in result.stderr


def test_follow_prints_events_stored_after_it_started(store_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "observability", "logs", "search", "--store", str(store_path), "--follow", "--json",
         "--interval", "0.1", "--level", "error"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = [json.loads(proc.stdout.readline())["_id"] for _ in range(2)]
        assert first == ["logs-1-2", "logs-1-3"]
        store = SqliteLogStore(store_path)
        now = datetime.now(UTC)
        store.add(ecs(4, "ignored: info", "info", now))
        store.add(ecs(5, "db timeout", "error", now))
        store.flush()
        store.close()
        assert json.loads(proc.stdout.readline())["_id"] == "logs-1-5"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_summary_of_an_ecs_document():
    document = {
        "@timestamp": "2026-11-23T10:00:01.5+01:00",
        "message": "listing items failed\nmore",
        "log": {"level": "ERROR"},
        "service": {"name": "checkout"},
        "kubernetes": {"namespace": "shop"},
        "http": {"request": {"method": "GET"}, "route": "/api/items", "response": {"status_code": 500}},
        "url": {"path": "/api/items"},
        "trace": {"id": "abc"},
        "error": {"message": "connection refused"},
    }
    s = summarize_event(document, document["@timestamp"])
    assert s.time == "2026-11-23 09:00:01.500"
    assert (s.level, s.service, s.namespace, s.message) == ("error", "checkout", "shop", "listing items failed")
    assert s.details == ("method=GET", "route=/api/items", "path=/api/items", "status=500", "trace=abc",
                         "error=connection refused")


def test_summary_of_a_sparse_document_uses_placeholders():
    s = summarize_event({"message": ""}, "")
    assert (s.time, s.level, s.service, s.namespace, s.message, s.details) == ("-", "-", "-", "-", "", ())


def test_markup_in_messages_is_shown_literally():
    from rich.console import Console

    hit = LogHit("x", "2026-11-23T10:00:00Z", {"message": "[bold]not markup[/bold]", "log": {"level": "info"}})
    console = Console(width=200, record=True)
    console.print(events_table([hit], header=False))
    assert "[bold]not markup[/bold]" in console.export_text()
    assert json.loads(hit_json(hit)) == {"_id": "x", "message": "[bold]not markup[/bold]", "log": {"level": "info"}}
