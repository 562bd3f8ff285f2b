"""FakeElasticsearch: an HTTP protocol double of the Elasticsearch endpoints the processor uses.

Written from the Elasticsearch REST API docs: `_bulk` (NDJSON action/source pairs; per-item results in
request order with `status` and, on failure, `error.type`/`error.reason`; `errors: true` when any item
failed; `create` answers 409 version_conflict_engine_exception for an existing `_id`; data streams accept
only `create`), `PUT/GET _index_template/<name>`, `PUT/GET _ilm/policy/<name>` and `GET /` (with the
`X-Elastic-Product: Elasticsearch` header the official client requires).

It is a real HTTP server on 127.0.0.1 (port 0 by default) so the real client and a real `obs process`
subprocess can talk to it. Faults can be injected per item (429/503 with a probability), per request
(503, slow answers, dropped connections) and as an outage (`down = True`: every connection is reset).

Whole-request refusals imitate Elasticsearch's answers:
- a body over `max_content_length` (http.max_content_length) → 413 with an EMPTY body and no product
  header, as Netty's aggregator answers (elastic/elasticsearch#2902, and #76705 "responds with a 413
  status code and an empty body");
- an action line that is not JSON → 400 `{"error":{"root_cause":[{"type":"illegal_argument_exception",
  "reason":"Malformed action/metadata line [N], expected START_OBJECT but found [VALUE_STRING]"}],...},
  "status":400}` (the shape quoted in datatok/elastic-copy#1 and elastic/go-elasticsearch#460; a line
  that is an object but no action: "expected one of [create, delete, index, update] but found [x]", as
  quoted from OpenSearch, which kept Elasticsearch's parser, in quickwit-oss/quickwit#4114);
- an index name breaking Elasticsearch's rules → that item 400 `invalid_index_name_exception`
  (MetadataCreateIndexService.validateIndexOrAliasName: "Invalid index name [X], must be lowercase");
- a 409 item carries `_index` (the backing index), `_id`, `status` and `error.{type,reason,index_uuid,
  shard,index}`, as in elastic/elasticsearch#112537.
`Faults.answer` rewrites a whole `_bulk` answer (string statuses, missing fields): failure injection only.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

Rejector = Callable[[dict[str, Any]], tuple[int, str, str] | None]


@dataclass
class Faults:
    item_429: float = 0.0
    """Probability that one bulk item answers 429 es_rejected_execution_exception."""
    item_503: float = 0.0
    """Probability that one bulk item answers 503 unavailable_shards_exception."""
    request_503: float = 0.0
    """Probability that a whole _bulk request answers 503."""
    reset: float = 0.0
    """Probability that a _bulk connection is dropped without an answer (after reading the body)."""
    reset_after: float = 0.0
    """Probability that a _bulk request is fully processed but its answer is lost (connection dropped)."""
    slow: float = 0.0
    """Probability that a _bulk answer is delayed by `slow_seconds`."""
    slow_seconds: float = 0.5
    reject: Rejector | None = None
    """Per-document permanent rejection, e.g. a mapping error: returns (status, type, reason) or None."""
    max_content_length: int | None = None
    """Elasticsearch's http.max_content_length: a larger _bulk body is answered 413 with an empty body."""
    answer: Callable[[dict[str, Any]], Any] | None = None
    """Rewrites each _bulk answer after the documents were stored (malformed answers)."""
    seed: int = 1
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class FakeElasticsearch:
    """Start with `with FakeElasticsearch() as es:`; `es.url`, `es.docs`, `es.faults`, `es.down`."""

    def __init__(self, faults: Faults | None = None, port: int = 0) -> None:
        self.faults = faults or Faults()
        self.down = False
        self.lock = threading.Lock()
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        """(data stream or index, _id) → source of every stored document."""
        self.create_attempts: dict[str, int] = {}
        """_id → how many create operations arrived for it (≥ 1; > 1 means a retry or replay)."""
        self.conflicts = 0
        self.bulk_requests = 0
        self.templates: dict[str, Any] = {}
        self.policies: dict[str, Any] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeElasticsearch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ids(self) -> set[str]:
        with self.lock:
            return {doc_id for _, doc_id in self.docs}

    # -- protocol ------------------------------------------------------------------------------------------

    def bulk(self, body: bytes) -> tuple[int, dict[str, Any]]:
        lines = [line for line in body.split(b"\n") if line.strip()]
        for number in range(0, len(lines), 2):
            try:
                action = orjson.loads(lines[number])
            except orjson.JSONDecodeError:
                action = None
            op = next(iter(action), None) if isinstance(action, dict) else None
            reason = ""
            if not isinstance(action, dict):
                reason = "expected START_OBJECT but found [VALUE_STRING]"
            elif op not in ("create", "delete", "index", "update") or not isinstance(action[op], dict):
                reason = f"expected one of [create, delete, index, update] but found [{op}]"
            if reason:
                error = {"type": "illegal_argument_exception",
                         "reason": f"Malformed action/metadata line [{number + 1}], {reason}"}
                return 400, {"error": {"root_cause": [error], **error}, "status": 400}
        items: list[dict[str, Any]] = []
        errors = False
        faults = self.faults
        i = 0
        while i < len(lines):
            action = orjson.loads(lines[i])
            op, meta = next(iter(action.items()))
            source = orjson.loads(lines[i + 1]) if op in ("create", "index", "update") else None
            i += 2 if source is not None else 1
            index, doc_id = meta.get("_index", ""), meta.get("_id", "")
            result = self._item(op, index, doc_id, source, faults)
            errors = errors or result["status"] >= 300
            items.append({op: result})
        return 200, {"took": 1, "errors": errors, "items": items}

    def _item(self, op: str, index: str, doc_id: str, source: Any, faults: Faults) -> dict[str, Any]:
        base = {"_index": f".ds-{index}-2026.11.23-000001", "_id": doc_id}
        invalid = _invalid_index_name(index)
        if invalid:
            return {"_index": index, "_id": doc_id, "status": 400, "error": {
                "type": "invalid_index_name_exception", "reason": f"Invalid index name [{index}], {invalid}"}}
        roll = faults.rng.random()
        if roll < faults.item_429:
            return {**base, "status": 429, "error": {"type": "es_rejected_execution_exception",
                                                      "reason": "rejected execution of coordinating operation"}}
        if roll < faults.item_429 + faults.item_503:
            return {**base, "status": 503, "error": {"type": "unavailable_shards_exception",
                                                      "reason": "primary shard is not active"}}
        if index.startswith("logs-") and op != "create":
            return {**base, "status": 400, "error": {
                "type": "illegal_argument_exception",
                "reason": f"only write ops with an op_type of create are allowed in data streams [{index}]"}}
        if faults.reject is not None and isinstance(source, dict):
            rejection = faults.reject(source)
            if rejection is not None:
                status, etype, reason = rejection
                return {**base, "status": status, "error": {"type": etype, "reason": reason}}
        with self.lock:
            self.create_attempts[doc_id] = self.create_attempts.get(doc_id, 0) + 1
            if (index, doc_id) in self.docs and op == "create":
                self.conflicts += 1
                return {**base, "status": 409, "error": {
                    "type": "version_conflict_engine_exception",
                    "reason": f"[{doc_id}]: version conflict, document already exists (current version [1])",
                    "index_uuid": "D0h9qsoPQJOOPuInvmDjvg", "shard": "0", "index": base["_index"]}}
            self.docs[(index, doc_id)] = source
        return {**base, "_version": 1, "result": "created", "status": 201,
                "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 0, "_primary_term": 1}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, payload: Any) -> None:
                data = orjson.dumps(payload)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                # An abortive close (RST) is what a crashed or partitioned node looks like to the client.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.close_connection = True
                self.connection.close()

            def _route(self, method: str) -> None:
                body = self._body()
                if fake.down:
                    self._drop()
                    return
                path = self.path.split("?", 1)[0].rstrip("/")
                parts = [p for p in path.split("/") if p]
                if parts and parts[-1] == "_bulk" and method in ("POST", "PUT"):
                    faults = fake.faults
                    with fake.lock:
                        fake.bulk_requests += 1
                        roll = faults.rng.random()
                    if roll < faults.reset:
                        self._drop()
                        return
                    if roll < faults.reset + faults.request_503:
                        self._send(503, {"error": {"type": "unavailable_shards_exception", "reason": "injected"},
                                         "status": 503})
                        return
                    if roll < faults.reset + faults.request_503 + faults.slow:
                        time.sleep(faults.slow_seconds)
                    if faults.max_content_length is not None and len(body) > faults.max_content_length:
                        self.send_response(413)  # Netty's answer: no body, no product header
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status, answer = fake.bulk(body)
                    if status == 200 and faults.answer is not None:
                        answer = faults.answer(answer)
                    if faults.rng.random() < faults.reset_after:
                        self._drop()  # stored, but the client never learns it: the retry must get 409s
                        return
                    self._send(status, answer)
                elif not parts and method in ("GET", "HEAD"):
                    self._send(200, {"name": "fake", "cluster_name": "fake", "version": {"number": "8.15.3"},
                                     "tagline": "You Know, for Search"})
                elif len(parts) == 2 and parts[0] in ("_index_template",):
                    self._store(fake.templates, parts[1], method, body)
                elif len(parts) == 3 and parts[:2] == ["_ilm", "policy"]:
                    self._store(fake.policies, parts[2], method, body)
                else:
                    self._send(404, {"error": {"type": "fake_not_implemented", "reason": f"{method} {path}"},
                                     "status": 404})

            def _store(self, where: dict[str, Any], name: str, method: str, body: bytes) -> None:
                if method == "PUT":
                    where[name] = orjson.loads(body)
                    self._send(200, {"acknowledged": True})
                elif name in where and where is fake.templates:
                    self._send(200, {"index_templates": [{"name": name, "index_template": where[name]}]})
                elif name in where:
                    self._send(200, {name: {"version": 1, "policy": where[name].get("policy")}})
                else:
                    self._send(404, {"error": {"type": "resource_not_found_exception", "reason": name}, "status": 404})

            def do_GET(self) -> None:
                self._route("GET")

            def do_HEAD(self) -> None:
                self._route("HEAD")

            def do_PUT(self) -> None:
                self._route("PUT")

            def do_POST(self) -> None:
                self._route("POST")

        return Handler


def _invalid_index_name(name: str) -> str:
    """Elasticsearch's static index name rules (MetadataCreateIndexService.validateIndexOrAliasName and
    validateIndexName; Strings.INVALID_FILENAME_CHARS), written here independently of the processor's check."""
    if not name:
        return "must not be empty"
    if any(c in name for c in '\\/*?"<>| ,'):
        return 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'
    if "#" in name or ":" in name:
        return "must not contain '#' or ':'"
    if name[0] in "_-+":
        return "must not start with '_', '-', or '+'"
    if len(name.encode()) > 255:
        return f"index name is too long, ({len(name.encode())} > 255)"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    if name.lower() != name:
        return "must be lowercase"
    return ""
