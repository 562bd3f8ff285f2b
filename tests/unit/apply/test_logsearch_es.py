"""ElasticsearchLogSearch through the real `elasticsearch` client against a local HTTP double of `_search`.

`FakeElasticsearchSearch` follows the documented `_search` API for the subset the command sends: a bool
query of `terms`/`range` filters and a `simple_query_string`, a sort on @timestamp, `size`; responses carry
the `X-Elastic-Product` header the v8 client checks. It is a test double, not Elasticsearch.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from observability.apply.logsearch import ElasticsearchLogSearch, LogQuery
from observability.errors import RemoteError
from observability.pipeline.store_sqlite import field_value, timestamp_ms


class FakeElasticsearchSearch:
    def __init__(self) -> None:
        self.docs: list[tuple[str, dict[str, Any]]] = []
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_with: tuple[int, dict[str, Any]] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append((self.command, self.path, body))
                if fake.fail_with:
                    self._reply(*fake.fail_with)
                    return
                self._reply(200, fake.answer(body))

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        hits = [(i, d) for i, d in self.docs if self._matches(d, body["query"]["bool"])]
        order = body["sort"][0]["@timestamp"]["order"]
        hits.sort(key=lambda h: timestamp_ms(h[1]["@timestamp"]) or 0, reverse=order == "desc")
        hits = hits[: body["size"]]
        return {
            "took": 1,
            "timed_out": False,
            "hits": {
                "max_score": None,
                "hits": [
                    {"_index": ".ds-logs-go-default", "_id": i, "_score": None, "_source": d,
                     "sort": [d["@timestamp"]]}
                    for i, d in hits
                ],
            },
        }

    @staticmethod
    def _matches(doc: dict[str, Any], boolean: dict[str, Any]) -> bool:
        for clause in boolean.get("filter", []):
            if "terms" in clause:
                ((path, values),) = clause["terms"].items()
                if field_value(doc, path) not in values:
                    return False
            if "range" in clause:
                bounds = clause["range"]["@timestamp"]
                ts = timestamp_ms(doc["@timestamp"]) or 0
                if "gte" in bounds and ts < (timestamp_ms(bounds["gte"]) or 0):
                    return False
                if "lte" in bounds and ts > (timestamp_ms(bounds["lte"]) or 0):
                    return False
        for clause in boolean.get("must", []):
            words = clause["simple_query_string"]["query"].lower().split()
            if not all(w in str(doc.get("message", "")).lower() for w in words):
                return False
        return True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    f = FakeElasticsearchSearch()
    yield f
    f.close()


def doc(second: int, message: str, level: str = "info") -> dict[str, Any]:
    return {
        "@timestamp": f"2026-11-23T10:00:{second:02d}.000Z",
        "message": message,
        "log": {"level": level},
        "service": {"name": "checkout"},
    }


def test_search_sends_the_dsl_to_the_index_pattern_and_returns_oldest_first(fake):
    fake.docs = [("a", doc(1, "one")), ("b", doc(2, "two", "error")), ("c", doc(3, "three", "error"))]
    es = ElasticsearchLogSearch(fake.url)
    hits = es.search(LogQuery(levels=("error",), limit=10))
    es.close()
    assert [h.doc_id for h in hits] == ["b", "c"]
    assert hits[0].document["message"] == "two"
    assert hits[0].timestamp == "2026-11-23T10:00:02.000Z"
    method, path, body = fake.requests[0]
    assert method == "POST"
    assert path.startswith("/logs-*/_search?")
    assert "ignore_unavailable=true" in path and "allow_no_indices=true" in path
    assert body["query"]["bool"]["filter"] == [{"terms": {"log.level": ["error"]}}]


def test_follow_yields_new_events_once_even_when_they_share_a_timestamp(fake):
    fake.docs = [("a", doc(1, "one")), ("b", doc(2, "two"))]
    es = ElasticsearchLogSearch(fake.url)
    batches = es.follow(LogQuery(limit=10), datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert [h.doc_id for h in next(batches)] == ["a", "b"]
    assert next(batches) == []
    fake.docs += [("c", doc(2, "same millisecond as b")), ("d", doc(5, "later"))]
    assert [h.doc_id for h in next(batches)] == ["c", "d"]
    assert next(batches) == []
    fake.docs.append(("e", doc(5, "tie with d")))
    assert [h.doc_id for h in next(batches)] == ["e"]
    es.close()


def test_follow_from_an_empty_index_starts_at_now(fake):
    es = ElasticsearchLogSearch(fake.url)
    batches = es.follow(LogQuery(), datetime(2026, 11, 23, 10, 0, 3, tzinfo=UTC))
    assert next(batches) == []
    fake.docs = [("old", doc(1, "before we started")), ("new", doc(4, "after"))]
    assert [h.doc_id for h in next(batches)] == ["new"]
    es.close()


def test_refusal_is_a_remote_error_with_the_root_cause(fake):
    fake.fail_with = (400, {"error": {"root_cause": [{"type": "query_shard_exception", "reason": "bad field"}],
                                      "type": "search_phase_execution_exception"}, "status": 400})
    es = ElasticsearchLogSearch(fake.url)
    with pytest.raises(RemoteError) as info:
        es.search(LogQuery())
    assert info.value.status == 400
    assert "query_shard_exception: bad field" in str(info.value)


def test_unreachable_elasticsearch_says_how_to_fix_it():
    es = ElasticsearchLogSearch("http://127.0.0.1:9", timeout=2)
    with pytest.raises(RemoteError) as info:
        es.search(LogQuery())
    assert "cannot reach Elasticsearch at http://127.0.0.1:9" in str(info.value)
    assert "ES_URL" in str(info.value)
