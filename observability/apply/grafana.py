"""Apply layer (I/O): sync datasources, a folder and dashboards to Grafana's HTTP API, diff and export.

Idempotent without churn: a dashboard whose live JSON equals the compiled one is not posted, so no new
version piles up. Each post carries the content hash in the version message (`obs sync sha256=…`);
comparing the live dashboard's hash with the last synced one tells whether someone edited it in the UI
since (three-way: code, last sync, live). Only dashboards tagged `obs-managed` are ever changed or pruned,
and sync refuses to overwrite UI edits unless forced.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from observability.errors import RemoteError, connection_failure
from observability.render.dashboards import MANAGED_TAG
from observability.render.names import alertmanager_url, elasticsearch_url, prometheus_url
from observability.spec import Stack

FOLDER_UID = "obs-managed"
FOLDER_TITLE = "Observability (managed by obs)"
SYNC_MESSAGE = "obs sync sha256="
_HASH_IN_MESSAGE = re.compile(r"obs sync sha256=([0-9a-f]{64})")

State = Literal["missing", "unchanged", "code-changed", "edited-in-grafana", "conflict", "foreign", "provisioned"]
STATE_HELP: dict[str, str] = {
    "missing": "not in Grafana yet; sync creates it",
    "unchanged": "Grafana matches the code",
    "code-changed": "the code changed since the last sync; sync updates Grafana",
    "edited-in-grafana": "edited in Grafana since the last sync; export it to keep the edits, or sync --force",
    "conflict": "changed in the code AND edited in Grafana; export to compare, then sync --force",
    "foreign": "a dashboard with this uid exists but is not managed by obs; change the uid or delete it",
    "provisioned": "provisioned from files in Grafana; the API cannot change it (sync is for API-managed Grafana)",
}


@dataclass(frozen=True)
class GrafanaTarget:
    """Where Grafana is and how to log in: an API token (service account) or basic auth."""

    url: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    """Seconds per HTTP request."""


class Grafana:
    """A thin wrapper over grafana-client that turns every failure into RemoteError naming the request."""

    def __init__(self, target: GrafanaTarget) -> None:
        credential: str | tuple[str, str] | None = target.token
        if credential is None and target.username is not None:
            credential = (target.username, target.password or "")
        self.url = target.url.rstrip("/")
        self.api = GrafanaApi.from_url(self.url, credential=credential, timeout=target.timeout)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        runner = getattr(self.api.client, method)
        try:
            if method in ("GET", "DELETE"):
                return runner(path, params=params)
            return runner(path, json=body)
        except GrafanaException as e:
            raise RemoteError(
                f"Grafana {method} {self.url}/api{path} failed: HTTP {e.status_code or '-'} {_short(e.response)}",
                status=e.status_code or None,
                hint=_hint(e.status_code),
            ) from e
        except niquests.exceptions.RequestException as e:
            raise RemoteError(
                f"cannot reach Grafana at {self.url}: {connection_failure(e)}",
                hint="check --url (or $GRAFANA_URL) and that Grafana is running",
            ) from None

    def get_or_none(self, path: str) -> Any:
        try:
            return self.call("GET", path)
        except RemoteError as e:
            if e.status == 404:
                return None
            raise


def _short(response: Any) -> str:
    text = response if isinstance(response, str) else json.dumps(response) if response is not None else ""
    return text[:300]


def _hint(status: int | None) -> str | None:
    if status == 401:
        return "the token or user/password was rejected; pass --token (service account) or --user/--password"
    if status == 403:
        return "the account lacks permission; it needs the Editor role (Admin to manage datasources)"
    return None


def content_hash(dashboard: dict[str, Any]) -> str:
    """sha256 of the dashboard without the fields Grafana assigns (id, version)."""
    canonical = json.dumps(normalize(dashboard), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def normalize(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in ("id", "version")}


@dataclass
class DashboardStatus:
    uid: str
    title: str
    state: State
    live: dict[str, Any] | None = None
    version: int | None = None


@dataclass
class SyncReport:
    """What sync did, per object: created / updated / unchanged / deleted / refused (with the reason)."""

    actions: list[tuple[str, str, str]] = field(default_factory=list)
    """(action, kind and name, detail)."""

    def add(self, action: str, what: str, detail: str = "") -> None:
        self.actions.append((action, what, detail))

    @property
    def refused(self) -> list[tuple[str, str, str]]:
        return [a for a in self.actions if a[0] == "refused"]

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a[0] == action)


def last_synced_hash(grafana: Grafana, uid: str) -> str | None:
    """The content hash recorded by the most recent `obs sync` version of a dashboard, if any."""
    answer = grafana.call("GET", f"/dashboards/uid/{uid}/versions", params={"limit": 100})
    versions = answer.get("versions", []) if isinstance(answer, dict) else answer  # Grafana ≥ 12 wraps the list
    for version in sorted(versions or [], key=lambda v: v.get("version", 0), reverse=True):
        match = _HASH_IN_MESSAGE.search(str(version.get("message") or ""))
        if match:
            return match.group(1)
    return None


def dashboard_status(grafana: Grafana, uid: str, code: dict[str, Any]) -> DashboardStatus:
    """Three-way state of one dashboard: the code, the last synced version and the live one."""
    found = grafana.get_or_none(f"/dashboards/uid/{uid}")
    title = str(code.get("title", uid))
    if found is None:
        return DashboardStatus(uid, title, "missing")
    live, meta = found.get("dashboard") or {}, found.get("meta") or {}
    status = DashboardStatus(uid, title, "unchanged", live=live, version=live.get("version"))
    if MANAGED_TAG not in (live.get("tags") or []):
        status.state = "foreign"
    elif meta.get("provisioned"):
        status.state = "provisioned"
    elif content_hash(live) == content_hash(code) and meta.get("folderUid") == FOLDER_UID:
        status.state = "unchanged"
    else:
        synced = last_synced_hash(grafana, uid)
        edited = synced is None or synced != content_hash(live)
        code_changed = synced != content_hash(code)
        status.state = ("conflict" if code_changed else "edited-in-grafana") if edited else "code-changed"
    return status


def ensure_folder(grafana: Grafana, report: SyncReport) -> None:
    folder = grafana.get_or_none(f"/folders/{FOLDER_UID}")
    if folder is None:
        grafana.call("POST", "/folders", {"uid": FOLDER_UID, "title": FOLDER_TITLE})
        report.add("created", f"folder {FOLDER_TITLE}")
    elif folder.get("title") != FOLDER_TITLE:
        grafana.call(
            "PUT",
            f"/folders/{FOLDER_UID}",
            {"title": FOLDER_TITLE, "version": folder.get("version"), "overwrite": True},
        )
        report.add("updated", f"folder {FOLDER_TITLE}", "title")
    else:
        report.add("unchanged", f"folder {FOLDER_TITLE}")


_DATASOURCE_FIELDS = ("name", "type", "url", "access", "isDefault", "basicAuth", "basicAuthUser", "jsonData")


def sync_datasources(grafana: Grafana, datasources: list[dict[str, Any]], report: SyncReport) -> None:
    """Create or update each datasource by uid; provisioned (read-only) ones are reported, never changed."""
    for wanted in datasources:
        uid = wanted["uid"]
        live = grafana.get_or_none(f"/datasources/uid/{uid}")
        what = f"datasource {wanted['name']}"
        if live is None:
            grafana.call("POST", "/datasources", wanted)
            report.add("created", what)
            continue
        if live.get("readOnly"):
            report.add("unchanged", what, "provisioned from files; left alone")
            continue
        differs = [k for k in _DATASOURCE_FIELDS if k in wanted and live.get(k) != wanted[k]]
        secret_missing = any(not (live.get("secureJsonFields") or {}).get(k) for k in wanted.get("secureJsonData", {}))
        if differs or secret_missing:
            grafana.call("PUT", f"/datasources/uid/{uid}", {**wanted, "version": live.get("version")})
            report.add("updated", what, ", ".join(differs or ["credentials"]))
        else:
            report.add("unchanged", what)


def managed_uids(grafana: Grafana) -> dict[str, str]:
    """uid → title of every dashboard with the managed tag, in the managed folder."""
    hits = grafana.call("GET", "/search", params={"tag": MANAGED_TAG, "type": "dash-db", "limit": 5000})
    return {h["uid"]: h.get("title", "") for h in hits or [] if h.get("folderUid") == FOLDER_UID}


def sync_dashboards(
    grafana: Grafana,
    dashboards: dict[str, dict[str, Any]],
    report: SyncReport,
    *,
    prune: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> None:
    """Bring Grafana's managed dashboards to `dashboards` (uid → JSON); posts only what changed."""
    if not dry_run:
        ensure_folder(grafana, report)
    for uid, code in sorted(dashboards.items()):
        status = dashboard_status(grafana, uid, code)
        what = f"dashboard {uid} ({status.title})"
        if status.state == "unchanged":
            report.add("unchanged", what)
            continue
        if status.state in ("foreign", "provisioned") or (
            status.state in ("edited-in-grafana", "conflict") and not force
        ):
            report.add("refused", what, STATE_HELP[status.state])
            continue
        action = "created" if status.state == "missing" else "updated"
        if not dry_run:
            post_dashboard(grafana, code)
        report.add(action if not dry_run else f"would be {action}", what, STATE_HELP[status.state])
    if prune:
        for uid, title in sorted(managed_uids(grafana).items()):
            if uid not in dashboards:
                if not dry_run:
                    grafana.call("DELETE", f"/dashboards/uid/{uid}")
                report.add(
                    "deleted" if not dry_run else "would be deleted",
                    f"dashboard {uid} ({title})",
                    "managed by obs but no longer in dashboards/",
                )


def post_dashboard(grafana: Grafana, dashboard: dict[str, Any]) -> None:
    grafana.call(
        "POST",
        "/dashboards/db",
        {
            "dashboard": {**normalize(dashboard), "id": None},
            "folderUid": FOLDER_UID,
            "overwrite": True,
            "message": f"{SYNC_MESSAGE}{content_hash(dashboard)}",
        },
    )


def diff_dashboard(status: DashboardStatus, code: dict[str, Any]) -> str:
    """A unified diff live → code of the pretty-printed JSON ('' when equal or missing)."""
    if status.live is None:
        return ""
    live_lines = json.dumps(normalize(status.live), indent=2, sort_keys=True).splitlines(keepends=True)
    code_lines = json.dumps(normalize(code), indent=2, sort_keys=True).splitlines(keepends=True)
    return "".join(difflib.unified_diff(live_lines, code_lines, f"grafana/{status.uid}", f"code/{status.uid}"))


def fetch_dashboard(grafana: Grafana, uid: str) -> dict[str, Any]:
    found = grafana.get_or_none(f"/dashboards/uid/{uid}")
    if found is None:
        raise RemoteError(
            f"Grafana at {grafana.url} has no dashboard with uid {uid!r}",
            hint="copy the uid from the dashboard's URL (/d/<uid>/...)",
        )
    return dict(found.get("dashboard") or {})


# The same uids as the provisioning files (render/grafana.py), so a provisioned Grafana is recognised
DATASOURCE_UIDS = {"prometheus": "prometheus", "elasticsearch": "elasticsearch-logs", "alertmanager": "alertmanager"}


def log_index_pattern(stack: Stack) -> str:
    """The indices/data streams the processor writes to, as a wildcard pattern."""
    processor = stack.logging.processor
    if processor.index:
        return re.sub(r"\{[^}]*\}", "*", processor.index)
    return f"logs-{processor.data_stream_dataset}-*"


def grafana_datasources(stack: Stack, elasticsearch_password: str | None = None) -> list[dict[str, Any]]:
    """The datasources the dashboards query, at the stack's in-cluster (or external) addresses."""
    out: list[dict[str, Any]] = []
    if stack.metrics.enabled:
        out.append(
            {
                "uid": DATASOURCE_UIDS["prometheus"],
                "name": "Prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": prometheus_url(stack),
                "isDefault": True,
                "jsonData": {"httpMethod": "POST", "timeInterval": stack.metrics.prometheus.scrape_interval},
            }
        )
        if stack.metrics.alertmanager.enabled:
            out.append(
                {
                    "uid": DATASOURCE_UIDS["alertmanager"],
                    "name": "Alertmanager",
                    "type": "alertmanager",
                    "access": "proxy",
                    "url": alertmanager_url(stack),
                    "isDefault": False,
                    "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
                }
            )
    if stack.logging.enabled and stack.logging.elasticsearch.enabled:
        es: dict[str, Any] = {
            "uid": DATASOURCE_UIDS["elasticsearch"],
            "name": "Elasticsearch logs",
            "type": "elasticsearch",
            "access": "proxy",
            "url": elasticsearch_url(stack),
            "isDefault": False,
            "jsonData": {
                "index": "logs-*",
                "timeField": "@timestamp",
                "logLevelField": "log.level",
                "logMessageField": "message",
                "maxConcurrentShardRequests": 5,
            },
        }
        if stack.logging.elasticsearch.mode == "managed":
            es.update(basicAuth=True, basicAuthUser="elastic")
        if elasticsearch_password:
            es.update(basicAuth=True, secureJsonData={"basicAuthPassword": elasticsearch_password})
        out.append(es)
    return out
