"""I/O layer: push rule files to a running Prometheus and read back what it loaded.

`obs alerts sync` compares the rendered files with what the target holds, shows a unified diff, writes only
when something changed and then asks the server to reload — running it twice changes nothing the second
time. Two targets:
- local: files in a directory + POST /-/reload (a Prometheus started by observability.local, or your own);
- cluster: the `<stack>-prometheus-rules` ConfigMap (see render/manifests/prometheus.py) through the narrow
  `ConfigStore` interface (the real one wraps the kubernetes client; tests inject a double), then a reload
  through the API server's service proxy.
`verify_prometheus` uses prometheus-api-client: connection, every rule group healthy, firing alerts.
`service_inventory` reads which metrics (and their label names) a service's targets expose, for
`obs services detect` and `obs validate --prometheus-url` (check/instrumentation.py judges them).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from observability.errors import FileError, RemoteError, connection_failure

HTTP_TIMEOUT = (5.0, 30.0)
"""Seconds to connect, then to wait for an answer, for every HTTP call to Prometheus or Alertmanager."""


@dataclass(frozen=True)
class FileChange:
    name: str
    action: str
    """create, update or delete."""
    diff: str


@dataclass
class SyncResult:
    target: str
    changes: list[FileChange] = field(default_factory=list)
    reloaded: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def diff_files(current: dict[str, str], wanted: dict[str, str], label: str) -> list[FileChange]:
    """Per-file unified diffs from `current` to `wanted` (name → text); unchanged files are left out."""
    changes = []
    for name in sorted(set(current) | set(wanted)):
        old, new = current.get(name), wanted.get(name)
        if old == new:
            continue
        action = "create" if old is None else "delete" if new is None else "update"
        diff = "".join(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"{label}/{name}" if old is not None else "/dev/null",
                tofile=f"{label}/{name}" if new is not None else "/dev/null",
            )
        )
        changes.append(FileChange(name, action, diff))
    return changes


def post_reload(url: str, what: str, session: requests.Session | None = None) -> None:
    """POST <url>/-/reload; RemoteError with the server's reason (e.g. a config error) on failure."""
    http = session or requests.Session()
    try:
        response = http.post(f"{url.rstrip('/')}/-/reload", timeout=HTTP_TIMEOUT)
    except requests.RequestException as e:
        raise RemoteError(
            f"cannot reach {what} at {url} to reload it: {connection_failure(e)}",
            hint="check the URL and that it runs",
        ) from None
    if response.status_code == 403:
        raise RemoteError(
            f"{what} at {url} refused /-/reload",
            status=403,
            hint="start it with --web.enable-lifecycle (obs-rendered manifests do)",
        )
    if response.status_code != 200:
        raise RemoteError(
            f"{what} at {url} failed to reload: {response.text.strip()[:500]}",
            status=response.status_code,
            hint=f"the previous configuration of {what} stays active",
        )


def read_dir(directory: Path, suffixes: tuple[str, ...]) -> dict[str, str]:
    if not directory.is_dir():
        return {}
    found = {}
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.suffix in suffixes:
            try:
                found[p.name] = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise FileError.from_os_error(e, p, doing="read the rule file") from None
    return found


def sync_rules_local(
    rule_files: dict[str, str], rules_dir: Path, prometheus_url: str | None, *, dry_run: bool = False
) -> SyncResult:
    """Make rules_dir hold exactly `rule_files` (flat names), then reload Prometheus if anything changed."""
    if rules_dir.exists() and not rules_dir.is_dir():
        raise FileError(f"{rules_dir}: is a file, not a rule directory; give the directory Prometheus loads rules from")
    result = SyncResult(target=str(rules_dir))
    result.changes = diff_files(read_dir(rules_dir, (".yaml", ".yml")), rule_files, str(rules_dir))
    if dry_run or not result.changes:
        return result
    write_files(rules_dir, result.changes, rule_files, "the rule directory")
    if prometheus_url:
        post_reload(prometheus_url, "Prometheus")
        result.reloaded = True
    return result


def write_files(directory: Path, changes: list[FileChange], wanted: dict[str, str], what: str) -> None:
    """Apply `changes` to the files in `directory` (created if missing); FileError names the path and why."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileError.from_os_error(e, directory, doing=f"create {what}") from None
    for change in changes:
        path = directory / change.name
        try:
            if change.action == "delete":
                path.unlink()
            else:
                path.write_text(wanted[change.name], encoding="utf-8")
        except OSError as e:
            raise FileError.from_os_error(e, path, doing=f"{change.action} a file in {what}") from None


class ConfigStore(Protocol):
    """The Kubernetes calls `obs alerts sync` needs; each raises ClusterError on failure."""

    def read_config_map(self, namespace: str, name: str) -> dict[str, str] | None: ...

    def write_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None: ...

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """Decoded string data, None when the Secret does not exist."""
        ...

    def write_secret(self, namespace: str, name: str, data: dict[str, str]) -> None: ...

    def reload(self, namespace: str, service: str, port: int) -> None:
        """POST /-/reload to a Service through the API server's service proxy."""
        ...


@dataclass(frozen=True)
class ClusterTarget:
    namespace: str
    rules_config_map: str
    prometheus_service: str
    prometheus_port: int


def sync_rules_cluster(
    rule_files: dict[str, str], store: ConfigStore, target: ClusterTarget, *, dry_run: bool = False
) -> SyncResult:
    """Replace the rules ConfigMap's data when it differs, then reload Prometheus.

    The kubelet refreshes mounted ConfigMaps within about a minute; the reload is sent right away and
    `obs alerts verify` (or a second sync, which is a no-op) confirms the new rules once they are mounted.
    """
    label = f"configmap/{target.namespace}/{target.rules_config_map}"
    result = SyncResult(target=label)
    current = store.read_config_map(target.namespace, target.rules_config_map)
    if current is None:
        raise RemoteError(f"{label} does not exist", hint="run `obs apply` first; sync only updates a running stack")
    result.changes = diff_files(current, rule_files, label)
    if dry_run or not result.changes:
        return result
    store.write_config_map(target.namespace, target.rules_config_map, rule_files)
    store.reload(target.namespace, target.prometheus_service, target.prometheus_port)
    result.reloaded = True
    return result


@dataclass(frozen=True)
class RuleHealth:
    group: str
    name: str
    health: str
    error: str


@dataclass(frozen=True)
class PrometheusReport:
    url: str
    rules: list[RuleHealth]
    firing: list[dict[str, str]]
    """Label sets of the alerts firing now."""

    @property
    def unhealthy(self) -> list[RuleHealth]:
        """Rules that failed to evaluate or are missing ("unknown" = loaded, not evaluated yet, is fine)."""
        return [r for r in self.rules if r.health not in ("ok", "unknown") or r.error]

    @property
    def not_evaluated(self) -> int:
        return sum(1 for r in self.rules if r.health == "unknown")


def _api(url: str, path: str, params: dict[str, str], session: requests.Session) -> Any:
    endpoint = f"{url.rstrip('/')}{path}"
    try:
        response = session.get(endpoint, params=params, timeout=30)
    except requests.RequestException as e:
        raise RemoteError(
            f"cannot reach Prometheus at {url}: {connection_failure(e)}", hint="check --prometheus-url / port-forward"
        ) from e
    if response.status_code != 200:
        raise RemoteError(
            f"Prometheus at {url}: {path} answered {response.status_code}: {response.text.strip()[:300]}",
            status=response.status_code,
        )
    return response.json()["data"]


def service_inventory(
    url: str, namespace: str, service: str, interesting: set[str], session: requests.Session | None = None
) -> dict[str, set[str]]:
    """Metric names of the service's series → label names, the latter fetched only for `interesting` metrics.

    /api/v1/label/__name__/values and /api/v1/labels with match[] (Prometheus ≥ 2.24), so no sample is read.
    """
    http = session or requests.Session()
    selector = f'{{namespace="{namespace}",service="{service}"}}'
    names = _api(url, "/api/v1/label/__name__/values", {"match[]": selector}, http)
    inventory: dict[str, set[str]] = {str(n): set() for n in names}
    for metric in sorted(interesting & set(inventory)):
        match = f'{metric}{{namespace="{namespace}",service="{service}"}}'
        inventory[metric] = {str(label) for label in _api(url, "/api/v1/labels", {"match[]": match}, http)}
    return inventory


def label_values(url: str, label: str, match: str, session: requests.Session | None = None) -> list[str]:
    """Values of `label` on the series `match` selects (/api/v1/label/<label>/values, no samples read)."""
    found = _api(url, f"/api/v1/label/{label}/values", {"match[]": match}, session or requests.Session())
    return [str(v) for v in found]


def verify_prometheus(url: str, *, expected_groups: set[str] | None = None) -> PrometheusReport:
    """Rules loaded and healthy, and the firing alerts, read through prometheus-api-client."""
    from prometheus_api_client import PrometheusApiClientException, PrometheusConnect  # heavy (pandas): lazy
    from urllib3.util.retry import Retry

    # The client's default retries a refused connection with 2 s and 4 s of backoff: a typo in the URL
    # should fail at once; only answers of an overloaded server are worth a retry.
    retry = Retry(total=3, connect=0, backoff_factor=0.5, status_forcelist=[502, 503, 504])
    prom = PrometheusConnect(url=url, disable_ssl=True, retry=retry, timeout=HTTP_TIMEOUT)
    try:
        if not prom.check_prometheus_connection():
            raise RemoteError(f"Prometheus at {url} answered with an error", hint="check --prometheus-url")
        # prometheus-api-client has no rules call; its session reaches the same server with the same settings.
        response = prom._session.get(f"{url.rstrip('/')}/api/v1/rules", timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise RemoteError(
                f"Prometheus at {url}: /api/v1/rules answered {response.status_code}",
                status=response.status_code,
                hint="check that --prometheus-url points at Prometheus itself",
            )
        groups: list[dict[str, Any]] = response.json()["data"]["groups"]
        firing = [dict(s["metric"]) for s in prom.custom_query('ALERTS{alertstate="firing"}')]
    except requests.exceptions.JSONDecodeError as e:
        raise RemoteError(
            f"{url} does not answer like Prometheus (/api/v1/rules is not JSON)", hint="check --prometheus-url"
        ) from e
    except requests.RequestException as e:
        raise RemoteError(
            f"cannot reach Prometheus at {url}: {connection_failure(e)}",
            hint="check --prometheus-url (in a cluster: kubectl port-forward svc/<prometheus> 9090)",
        ) from None
    except (KeyError, TypeError, PrometheusApiClientException) as e:
        raise RemoteError(
            f"{url} does not answer like Prometheus ({type(e).__name__}: {str(e)[:200]})",
            hint="check --prometheus-url",
        ) from None
    rules = [
        RuleHealth(g["name"], r.get("name", ""), r.get("health", "unknown"), r.get("lastError", ""))
        for g in groups
        for r in g.get("rules", [])
    ]
    if expected_groups is not None:
        loaded = {g["name"] for g in groups}
        rules += [RuleHealth(name, "", "missing", "group not loaded") for name in sorted(expected_groups - loaded)]
    return PrometheusReport(url, rules, firing)


class KubernetesConfigStore:
    """ConfigStore over the official kubernetes client (kubeconfig or in-cluster config)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        import os

        from kubernetes import client

        from observability.apply.kubernetes import connect, kubeconfig_paths

        # No kubeconfig inside a pod: use the pod's service account, as the official client does.
        in_cluster = "KUBERNETES_SERVICE_HOST" in os.environ and not any(
            os.path.isfile(p) for p in kubeconfig_paths(kubeconfig)[0]
        )
        cluster, _ = connect(kubeconfig, context, in_cluster)
        self._server = cluster.server
        self._core = client.CoreV1Api(cluster.api_client)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        from observability.apply.kubernetes import translate_exception
        from observability.errors import ClusterError

        try:
            return fn(*args, **kwargs)
        except ApiException as e:
            if e.status == 404 and what.startswith("read"):
                return None
            raise ClusterError(
                f"{what}: {e.status} {e.reason}",
                status=e.status,
                hint="check your kubeconfig context and RBAC (get/update configmaps, secrets, services/proxy)",
            ) from None
        except Exception as e:
            verb, _, target = what.partition(" ")
            raise translate_exception(e, verb=verb, target=target, server=self._server) from None

    def read_config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        obj = self._call(f"read configmap {namespace}/{name}", self._core.read_namespaced_config_map, name, namespace)
        return None if obj is None else dict(obj.data or {})

    def write_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None:
        obj = self._call(f"get configmap {namespace}/{name}", self._core.read_namespaced_config_map, name, namespace)
        obj.data = data
        self._call(
            f"update configmap {namespace}/{name}", self._core.replace_namespaced_config_map, name, namespace, obj
        )

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        import base64

        obj = self._call(f"read secret {namespace}/{name}", self._core.read_namespaced_secret, name, namespace)
        if obj is None:
            return None
        return {k: base64.b64decode(v).decode("utf-8") for k, v in (obj.data or {}).items()}

    def write_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        import base64

        obj = self._call(f"get secret {namespace}/{name}", self._core.read_namespaced_secret, name, namespace)
        obj.data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self._call(f"update secret {namespace}/{name}", self._core.replace_namespaced_secret, name, namespace, obj)

    def reload(self, namespace: str, service: str, port: int) -> None:
        self._call(
            f"reload {namespace}/{service}",
            self._core.connect_post_namespaced_service_proxy_with_path,
            f"{service}:{port}",
            namespace,
            "-/reload",
        )
