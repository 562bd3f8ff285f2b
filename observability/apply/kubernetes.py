"""I/O layer, Kubernetes: the thin adapter over the official `kubernetes` client, and error translation.

`connect()` picks the cluster (--kubeconfig/--context or in-cluster) and returns a ClusterClient backed
by the DynamicClient (server-side apply = PATCH application/apply-patch+yaml). Every client exception is
translated here, at the boundary, into a ClusterError that names the verb, object and fix;
`translate_status` is pure so the messages are unit-tested without a server.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from observability.apply.cluster.client import FIELD_MANAGER, ClusterInfo, ObjectRef, ResourceInfo
from observability.errors import ClusterError, connection_failure

T = TypeVar("T")
_MAX_BODY = 500


def translate_status(status: int, body: str | bytes | None, *, verb: str, target: str) -> ClusterError:
    """An API error response (HTTP status + Status body) → ClusterError with the object, field and fix."""
    payload = _parse_body(body)
    message = str(payload.get("message") or (body.decode() if isinstance(body, bytes) else body) or "")
    message = message[:_MAX_BODY]
    causes = (payload.get("details") or {}).get("causes") or []
    if status == 401:
        return ClusterError(
            f"the API server rejected our credentials (401 Unauthorized) on {verb} {target}",
            status=status,
            hint="refresh the credentials in your kubeconfig (log in again) or pick another --context",
        )
    if status == 403:
        return ClusterError(
            f"forbidden (403): may not {verb} {target}: {message}",
            status=status,
            hint="ask a cluster admin to grant this verb on this resource to your user (Role/ClusterRole + binding)",
        )
    if status == 404:
        return ClusterError(f"not found (404) on {verb} {target}: {message}", status=status)
    if status == 409:
        conflicts = [c for c in causes if c.get("reason") == "FieldManagerConflict"]
        if conflicts:
            fields = "; ".join(f"{c.get('field', '?')} ({c.get('message', '')})" for c in conflicts)
            return ClusterError(
                f"conflict (409) applying {target}: fields owned by another field manager: {fields}",
                status=status,
                hint="re-run with --force-conflicts to take these fields over, or stop the other tool managing them",
            )
        return ClusterError(f"conflict (409) on {verb} {target}: {message}", status=status)
    if status == 422:
        fields = "; ".join(f"{c.get('field', '?')}: {c.get('message', '')}" for c in causes)
        return ClusterError(
            f"the API server rejected {target} as invalid (422): {fields or message}",
            status=status,
            hint="fix the named field in stack.yaml (or the renderer if the field is not in stack.yaml)",
        )
    if status in (408, 504):
        return ClusterError(f"the API server timed out ({status}) on {verb} {target}", status=status)
    if status == 429 or status >= 500:
        return ClusterError(
            f"the API server failed ({status}) on {verb} {target}: {message}",
            status=status,
            hint="the server is overloaded or unhealthy; retry in a moment",
        )
    return ClusterError(f"the API server answered {status} on {verb} {target}: {message}", status=status)


def _parse_body(body: str | bytes | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def translate_exception(e: BaseException, *, verb: str, target: str, server: str) -> ClusterError:
    """Any exception from the client library → ClusterError (unreachable, timeout, TLS, HTTP status)."""
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, SSLError, TimeoutError

    if isinstance(e, ApiException):
        return translate_status(int(e.status or 0), e.body, verb=verb, target=target)
    reason = e.reason if isinstance(e, MaxRetryError) and e.reason is not None else e
    if isinstance(reason, SSLError):
        return ClusterError(
            f"TLS error talking to {server}: {connection_failure(reason)}",
            hint="check the certificate-authority of this cluster in your kubeconfig",
        )
    # urllib3's NewConnectionError subclasses its TimeoutError: check refused connections first.
    if isinstance(reason, (NewConnectionError, ProtocolError, ConnectionError)):
        return ClusterError(
            f"cannot reach the API server at {server}: {connection_failure(reason)}",
            hint="check that the cluster is running and that --kubeconfig/--context point at it",
        )
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return ClusterError(
            f"the API server {server} did not answer in time ({verb} {target})",
            hint="check network access to the API server; an overloaded server may need a retry",
        )
    if isinstance(reason, OSError):
        return ClusterError(
            f"cannot reach the API server at {server}: {connection_failure(reason)}",
            hint="check that the cluster is running and that --kubeconfig/--context point at it",
        )
    return ClusterError(f"{verb} {target} failed: {type(e).__name__}: {e}")


class KubernetesCluster:
    """ClusterClient over the official client's DynamicClient."""

    def __init__(self, api_client: Any, server: str, request_timeout: float = 30.0) -> None:
        self._api = api_client
        self._server = server
        self._timeout = request_timeout
        self._dyn_client: Any = None
        self._resources: dict[tuple[str, str], Any] = {}

    @property
    def api_client(self) -> Any:
        """The configured kubernetes.client.ApiClient, for the typed APIs (CoreV1Api, ...)."""
        return self._api

    @property
    def server(self) -> str:
        return self._server

    @property
    def _dyn(self) -> Any:
        """The DynamicClient, created on first use: its discovery is the first request to the server."""
        from kubernetes.dynamic import DynamicClient

        if self._dyn_client is None:
            self._dyn_client = self._call("discover", "API groups", lambda: DynamicClient(self._api))
        return self._dyn_client

    def _call(self, verb: str, target: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ClusterError:
            raise
        except Exception as e:
            raise translate_exception(e, verb=verb, target=target, server=self._server) from None

    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = self._dyn.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                self._resources[key] = None
            except Exception as e:
                target = f"{kind} {api_version}"
                raise translate_exception(e, verb="discover", target=target, server=self._server) from None
        return self._resources[key]

    def _require(self, ref: ObjectRef) -> Any:
        res = self._resource(ref.api_version, ref.kind)
        if res is None:
            raise ClusterError(
                f"the API server does not serve {ref.kind} {ref.api_version} (needed for {ref})",
                hint="set cluster.kube_version to the server's version or upgrade the cluster",
            )
        return res

    def server_version(self) -> str:
        from kubernetes import client

        info = self._call(
            "get", "/version", lambda: client.VersionApi(self._api).get_code(_request_timeout=self._timeout)
        )
        return str(info.git_version)

    def resource(self, api_version: str, kind: str) -> ResourceInfo | None:
        res = self._resource(api_version, kind)
        return None if res is None else ResourceInfo(plural=res.name, namespaced=bool(res.namespaced))

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        res = self._require(ref)
        try:
            obj = res.get(name=ref.name, namespace=ref.namespace, _request_timeout=self._timeout)
        except Exception as e:
            if getattr(e, "status", None) == 404:
                return None
            raise translate_exception(e, verb="get", target=str(ref), server=self._server) from None
        return dict(obj.to_dict())

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        res = self._resource(api_version, kind)
        if res is None:
            return []
        where = f"{kind} in {namespace}" if namespace else kind
        result = self._call(
            "list",
            where,
            lambda: res.get(namespace=namespace, label_selector=label_selector, _request_timeout=self._timeout),
        )
        items = result.to_dict().get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return list(items)

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        from observability.apply.cluster.client import ref_of

        ref = ref_of(obj)
        res = self._require(ref)
        result = self._call(
            "apply (dry run)" if dry_run else "apply",
            str(ref),
            lambda: res.server_side_apply(
                body=obj,
                name=ref.name,
                namespace=ref.namespace,
                field_manager=FIELD_MANAGER,
                force_conflicts=True if force else None,
                dry_run="All" if dry_run else None,
                _request_timeout=self._timeout,
            ),
        )
        return dict(result.to_dict())

    def create(self, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        from observability.apply.cluster.client import ref_of

        ref = ref_of(obj)
        res = self._require(ref)
        result = self._call(
            "create (dry run)" if dry_run else "create",
            str(ref),
            lambda: res.create(
                body=obj,
                namespace=ref.namespace,
                field_manager=FIELD_MANAGER,
                dry_run="All" if dry_run else None,
                _request_timeout=self._timeout,
            ),
        )
        return dict(result.to_dict())

    def delete(self, ref: ObjectRef) -> bool:
        res = self._require(ref)
        try:
            res.delete(
                name=ref.name, namespace=ref.namespace, propagation_policy="Background", _request_timeout=self._timeout
            )
        except Exception as e:
            if getattr(e, "status", None) == 404:
                return False
            raise translate_exception(e, verb="delete", target=str(ref), server=self._server) from None
        return True

    def can_i(self, verb: str, group: str, resource: str, namespace: str | None) -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    **({"namespace": namespace} if namespace else {}),
                }
            },
        }
        res = self._require(ObjectRef("authorization.k8s.io/v1", "SelfSubjectAccessReview", "-"))
        result = self._call(
            "create", "SelfSubjectAccessReview", lambda: res.create(body=review, _request_timeout=self._timeout)
        )
        return bool((result.to_dict().get("status") or {}).get("allowed"))


def kubeconfig_paths(kubeconfig: str | None) -> tuple[list[str], str]:
    """The kubeconfig files kubectl would read (--kubeconfig, else $KUBECONFIG, else ~/.kube/config), and where
    that choice came from, for messages. Read at call time: the client library reads $KUBECONFIG at import."""
    if kubeconfig:
        return [kubeconfig], f"--kubeconfig {kubeconfig}"
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p], f"$KUBECONFIG={env}"
    default = os.path.expanduser("~/.kube/config")
    return [default], f"{default} (the default; $KUBECONFIG is not set)"


def connect(
    kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False, request_timeout: float = 30.0
) -> tuple[KubernetesCluster, ClusterInfo]:
    """Load credentials (kubeconfig + context, or the pod's service account) and return a client + who it is."""
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    paths, where = kubeconfig_paths(kubeconfig)
    if in_cluster:
        where = "the in-cluster service account"
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
            info = ClusterInfo(server=configuration.host, context=None, cluster=None, in_cluster=True)
        else:
            existing = [p for p in paths if os.path.isfile(p)]
            if not existing:
                raise ClusterError(
                    f"no kubeconfig: {where} is not a file",
                    hint="pass --kubeconfig FILE or point $KUBECONFIG at your cluster's kubeconfig "
                    "(kind, minikube and k3s write one)",
                )
            path = os.pathsep.join(existing)
            contexts, active = config.list_kube_config_contexts(config_file=path)
            chosen = context or (active or {}).get("name")
            entry = next((c for c in contexts if c.get("name") == chosen), None)
            if entry is None:
                names = ", ".join(c.get("name", "?") for c in contexts) or "none"
                raise ClusterError(
                    f"context {chosen!r} is not in the kubeconfig (available: {names})",
                    hint="pass one of the available contexts to --context",
                )
            config.load_kube_config(config_file=path, context=chosen, client_configuration=configuration)
            info = ClusterInfo(
                server=configuration.host, context=chosen, cluster=(entry.get("context") or {}).get("cluster")
            )
    except ConfigException as e:
        raise ClusterError(
            f"cannot load Kubernetes credentials from {where}: {e}",
            hint="pass --kubeconfig and --context, or --in-cluster when running in a pod",
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, TypeError):
        # The client reads the file with yaml.safe_load and indexes into it: a file that is not a
        # kubeconfig mapping surfaces as one of these.
        raise ClusterError(
            f"cannot read the kubeconfig {where}: it is not a kubeconfig (a YAML mapping of clusters, users "
            "and contexts)",
            hint="`kubectl config view` shows what kubectl makes of it; pass another file with --kubeconfig",
        ) from None
    configuration.retries = 1
    api_client = client.ApiClient(configuration)
    return KubernetesCluster(api_client, info.server, request_timeout), info
