"""I/O layer, Kubernetes: the narrow client interface the bootstrap logic talks to.

The logic (plan, preflight, wait, destroy) only ever calls these methods, so unit tests inject an
in-memory double and the real adapter (apply/kubernetes.py, the official `kubernetes` client) stays thin.
Objects are plain dicts in the Kubernetes wire format; every method raises ClusterError on failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

FIELD_MANAGER = "observability"
"""Server-side apply field manager of every object this tool applies."""


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one Kubernetes object; namespace is None for cluster-scoped kinds."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def group(self) -> str:
        """API group ('' for the core group)."""
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""


def ref_of(obj: dict[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace") or None)


@dataclass(frozen=True)
class ResourceInfo:
    """What discovery says about a kind: its plural resource name and whether it is namespaced."""

    plural: str
    namespaced: bool


@dataclass(frozen=True)
class ClusterInfo:
    """Which cluster we talk to; printed before anything changes."""

    server: str
    context: str | None
    cluster: str | None
    in_cluster: bool = False

    def describe(self) -> str:
        if self.in_cluster:
            return f"in-cluster service account, API server {self.server}"
        return f"context {self.context or '-'} (cluster {self.cluster or '-'}) at {self.server}"


class ClusterClient(Protocol):
    """The Kubernetes operations the bootstrap needs; implementations raise ClusterError."""

    def server_version(self) -> str:
        """gitVersion of the API server, e.g. 'v1.29.3'."""
        ...

    def resource(self, api_version: str, kind: str) -> ResourceInfo | None:
        """Discovery for one kind; None when the server does not serve it."""
        ...

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        ...

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Objects of a kind (namespace None = all namespaces / cluster-scoped)."""
        ...

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        """Server-side apply with FIELD_MANAGER; returns the resulting object."""
        ...

    def create(self, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Plain create (POST); a 409 means it already exists."""
        ...

    def delete(self, ref: ObjectRef) -> bool:
        """Delete in the background; False when it was already gone."""
        ...

    def can_i(self, verb: str, group: str, resource: str, namespace: str | None) -> bool:
        """SelfSubjectAccessReview for the current credentials."""
        ...
