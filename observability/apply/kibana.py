"""Apply layer (I/O): the Kibana data view for the log data streams and a saved search for errors.

Created through Kibana's saved objects API with fixed ids, so running it again changes nothing: each
object is read first and only written (overwrite=true) when its attributes differ from the wanted ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from observability.errors import RemoteError, connection_failure

DATA_VIEW_ID = "obs-logs"
ERRORS_SEARCH_ID = "obs-errors"
ERRORS_QUERY = "log.level:(error or fatal or panic)"
ERROR_COLUMNS = ["service.name", "kubernetes.namespace", "log.level", "message", "error.fingerprint"]


@dataclass(frozen=True)
class KibanaTarget:
    url: str
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    timeout: float = 30.0
    """Seconds per HTTP request."""


def kibana_objects(index_pattern: str = "logs-*") -> list[tuple[str, str, dict[str, Any], list[dict[str, str]]]]:
    """(type, id, attributes, references) of every saved object the stack needs."""
    data_view = {"title": index_pattern, "name": "Logs (obs)", "timeFieldName": "@timestamp"}
    search_source = {
        "query": {"query": ERRORS_QUERY, "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    errors = {
        "title": "Errors (obs)",
        "description": "Error, fatal and panic log events of every Go service, newest first.",
        "columns": ERROR_COLUMNS,
        "sort": [["@timestamp", "desc"]],
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search_source, sort_keys=True)},
    }
    refs = [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": DATA_VIEW_ID}]
    return [("index-pattern", DATA_VIEW_ID, data_view, []), ("search", ERRORS_SEARCH_ID, errors, refs)]


def sync_kibana(target: KibanaTarget, index_pattern: str = "logs-*") -> list[tuple[str, str]]:
    """Create or update the saved objects; returns (action, 'type/id') per object."""
    session = requests.Session()
    session.headers.update({"kbn-xsrf": "true", "Content-Type": "application/json"})
    if target.api_key:
        session.headers["Authorization"] = f"ApiKey {target.api_key}"
    elif target.username:
        session.auth = (target.username, target.password or "")
    base = target.url.rstrip("/")
    actions = []
    for kind, object_id, attributes, references in kibana_objects(index_pattern):
        path = f"{base}/api/saved_objects/{kind}/{object_id}"
        live = _request(session, "GET", path, target.timeout, missing_ok=True)
        if live is not None and _same(live, attributes, references):
            actions.append(("unchanged", f"{kind}/{object_id}"))
            continue
        _request(session, "POST", f"{path}?overwrite=true", target.timeout,
                 body={"attributes": attributes, "references": references})
        actions.append(("created" if live is None else "updated", f"{kind}/{object_id}"))
    return actions


def _same(live: dict[str, Any], attributes: dict[str, Any], references: list[dict[str, str]]) -> bool:
    got = live.get("attributes") or {}
    refs = sorted((r.get("name"), r.get("type"), r.get("id")) for r in live.get("references") or [])
    return all(got.get(k) == v for k, v in attributes.items()) and refs == sorted(
        (r["name"], r["type"], r["id"]) for r in references
    )


def _request(
    session: requests.Session, method: str, url: str, timeout: float, *, body: Any = None, missing_ok: bool = False
) -> Any:
    try:
        response = session.request(method, url, json=body, timeout=timeout)
    except requests.RequestException as e:
        raise RemoteError(
            f"cannot reach Kibana: {method} {url}: {connection_failure(e)}", hint="check --kibana-url"
        ) from None
    if missing_ok and response.status_code == 404:
        return None
    if response.status_code >= 400:
        hint = "check --kibana-user/--kibana-password" if response.status_code in (401, 403) else None
        raise RemoteError(
            f"Kibana {method} {url} failed: HTTP {response.status_code} {response.text[:300]}",
            status=response.status_code,
            hint=hint,
        )
    return response.json() if response.content else None
