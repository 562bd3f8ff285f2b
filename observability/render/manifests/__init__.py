"""Render layer (PURE): Kubernetes objects for every enabled component, by component name."""

from __future__ import annotations

from typing import Any

from observability.render.kube import KubeVersion, api_version
from observability.spec import Stack


def render_manifests(
    stack: Stack, version: KubeVersion, files: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """component → objects; `files` are the rendered config files the objects embed."""
    namespace = {
        "apiVersion": api_version("Namespace", version),
        "kind": "Namespace",
        "metadata": {"name": stack.cluster.namespace},
    }
    return {"namespace": [namespace]}
