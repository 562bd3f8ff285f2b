"""FakeKubernetes: an in-memory double of the ClusterClient protocol for unit tests of the bootstrap logic.

It models what the logic depends on, after the Kubernetes API conventions: server-populated metadata
(uid, resourceVersion, creationTimestamp, managedFields per field manager), dry-run that stores nothing,
namespaced objects needing their namespace, 409 on create of an existing object, and label selectors.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from observability.apply.cluster.client import FIELD_MANAGER, ObjectRef, ResourceInfo, ref_of
from observability.errors import ClusterError

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "Node"}


class FakeKubernetes:
    def __init__(self, version: str = "v1.29.3", served: set[tuple[str, str]] | None = None) -> None:
        self.version = version
        self.objects: dict[ObjectRef, dict[str, Any]] = {}
        self.denied: set[tuple[str, str, str, str | None]] = set()
        self.unserved = served or set()
        self.calls: list[tuple[str, str]] = []
        self.access_checks: list[tuple[str, str, str, str | None]] = []
        self._rv = itertools.count(100)

    # -- helpers for tests --------------------------------------------------------------
    def put(self, obj: dict[str, Any], manager: str | None = None, operation: str = "Apply") -> dict[str, Any]:
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta["resourceVersion"] = str(next(self._rv))
        meta.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
        if manager:
            meta["managedFields"] = [{"manager": manager, "operation": operation}]
        self.objects[ref_of(stored)] = stored
        return stored

    # -- ClusterClient -------------------------------------------------------------------
    def server_version(self) -> str:
        return self.version

    def resource(self, api_version: str, kind: str) -> ResourceInfo | None:
        if (api_version, kind) in self.unserved:
            return None
        plural = kind.lower() + ("es" if kind.endswith("s") else "s")
        if kind.endswith("y"):
            plural = kind.lower()[:-1] + "ies"
        return ResourceInfo(plural, kind not in CLUSTER_SCOPED)

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        self.calls.append(("get", str(ref)))
        obj = self.objects.get(ref)
        return copy.deepcopy(obj) if obj is not None else None

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        wanted = dict(p.split("=", 1) for p in label_selector.split(",")) if label_selector else {}
        out = []
        for ref, obj in self.objects.items():
            if ref.kind != kind or (namespace is not None and ref.namespace != namespace):
                continue
            labels = obj["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                out.append(copy.deepcopy(obj))
        return out

    def _check_namespace(self, ref: ObjectRef) -> None:
        if ref.namespace and ObjectRef("v1", "Namespace", ref.namespace) not in self.objects:
            raise ClusterError(f'namespaces "{ref.namespace}" not found', status=404)

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        ref = ref_of(obj)
        self.calls.append(("apply-dry" if dry_run else "apply", str(ref)))
        self._check_namespace(ref)
        live = self.objects.get(ref)
        result = copy.deepcopy(obj)
        meta = result["metadata"]
        if live is not None:
            for key in ("uid", "creationTimestamp", "resourceVersion"):
                meta[key] = live["metadata"][key]
            if "status" in live:
                result["status"] = copy.deepcopy(live["status"])
        else:
            meta["uid"] = f"uid-{ref.name}"
            meta["creationTimestamp"] = "2024-01-01T00:00:00Z"
            meta["resourceVersion"] = "0"
        meta["managedFields"] = [{"manager": FIELD_MANAGER, "operation": "Apply"}]
        if dry_run:
            return result
        if live is None or _strip(live) != _strip(result):
            meta["resourceVersion"] = str(next(self._rv))
        self.objects[ref] = result
        return copy.deepcopy(result)

    def create(self, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        ref = ref_of(obj)
        self.calls.append(("create-dry" if dry_run else "create", str(ref)))
        self._check_namespace(ref)
        if ref in self.objects:
            raise ClusterError(f"{ref} already exists", status=409)
        if dry_run:
            return copy.deepcopy(obj)
        return copy.deepcopy(self.put(obj, FIELD_MANAGER, "Update"))

    def delete(self, ref: ObjectRef) -> bool:
        self.calls.append(("delete", str(ref)))
        existed = self.objects.pop(ref, None) is not None
        if ref.kind == "Namespace":
            for other in [r for r in self.objects if r.namespace == ref.name]:
                del self.objects[other]
        return existed

    def can_i(self, verb: str, group: str, resource: str, namespace: str | None) -> bool:
        self.access_checks.append((verb, group, resource, namespace))
        return (verb, group, resource, namespace) not in self.denied


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("resourceVersion", None)
    return out
