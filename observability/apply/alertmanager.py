"""I/O layer: push alertmanager.yml to a running Alertmanager and read back its state (v2 API).

Same contract as apply/prometheus.py: diff first, write only on change, then reload; a second run is a
no-op. In the cluster the config lives in the `<stack>-alertmanager` Secret (key alertmanager.yml; see
render/manifests/alertmanager.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests

from observability.apply.prometheus import HTTP_TIMEOUT, ConfigStore, SyncResult, diff_files, post_reload
from observability.errors import FileError, RemoteError, connection_failure

CONFIG_KEY = "alertmanager.yml"


def sync_alertmanager_local(
    config_text: str, config_path: Path, alertmanager_url: str | None, *, dry_run: bool = False
) -> SyncResult:
    if config_path.is_dir():
        raise FileError(f"{config_path}: is a directory; give the path of the alertmanager.yml file to write")
    try:
        current = {CONFIG_KEY: config_path.read_text(encoding="utf-8")} if config_path.is_file() else {}
        result = SyncResult(target=str(config_path))
        result.changes = diff_files(current, {CONFIG_KEY: config_text}, str(config_path.parent))
        if dry_run or not result.changes:
            return result
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(config_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FileError.from_os_error(e, config_path, doing="update the Alertmanager configuration") from None
    if alertmanager_url:
        post_reload(alertmanager_url, "Alertmanager")
        result.reloaded = True
    return result


@dataclass(frozen=True)
class AlertmanagerClusterTarget:
    namespace: str
    secret: str
    service: str
    port: int


def sync_alertmanager_cluster(
    config_text: str, store: ConfigStore, target: AlertmanagerClusterTarget, *, dry_run: bool = False
) -> SyncResult:
    label = f"secret/{target.namespace}/{target.secret}"
    result = SyncResult(target=label)
    current = store.read_secret(target.namespace, target.secret)
    if current is None:
        raise RemoteError(f"{label} does not exist", hint="run `obs apply` first; sync only updates a running stack")
    # Only our key is compared and written: other keys (templates someone added) are kept.
    result.changes = diff_files(
        {CONFIG_KEY: current[CONFIG_KEY]} if CONFIG_KEY in current else {}, {CONFIG_KEY: config_text}, label
    )
    if dry_run or not result.changes:
        return result
    store.write_secret(target.namespace, target.secret, {**current, CONFIG_KEY: config_text})
    store.reload(target.namespace, target.service, target.port)
    result.reloaded = True
    return result


@dataclass(frozen=True)
class AlertmanagerReport:
    url: str
    config_original: str
    receivers: list[str]
    alerts: list[dict]
    """Active alerts as the v2 API returns them (labels, status.state, receivers)."""


def verify_alertmanager(url: str, session: requests.Session | None = None) -> AlertmanagerReport:
    """GET /api/v2/status and /api/v2/alerts (the documented v2 API)."""
    http = session or requests.Session()
    base = url.rstrip("/")
    try:
        status = http.get(f"{base}/api/v2/status", timeout=HTTP_TIMEOUT)
        alerts = http.get(f"{base}/api/v2/alerts", params={"active": "true"}, timeout=HTTP_TIMEOUT)
        for response in (status, alerts):
            if response.status_code != 200:
                raise RemoteError(
                    f"Alertmanager at {url}: {response.url} answered {response.status_code}",
                    status=response.status_code,
                    hint="check that --alertmanager-url points at Alertmanager itself",
                )
        body = status.json()
        config = (body.get("config") or {}).get("original", "")
        receivers = [r.get("name", "") for r in http.get(f"{base}/api/v2/receivers", timeout=HTTP_TIMEOUT).json()]
        return AlertmanagerReport(url, config, receivers, alerts.json())
    except requests.exceptions.JSONDecodeError as e:
        raise RemoteError(f"{url} does not answer like Alertmanager (not JSON)", hint="check --alertmanager-url") from e
    except requests.RequestException as e:
        raise RemoteError(
            f"cannot reach Alertmanager at {url}: {connection_failure(e)}", hint="check --alertmanager-url"
        ) from None
