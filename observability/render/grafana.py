"""Render layer (PURE): Grafana provisioning files (datasources, dashboard providers)."""

from __future__ import annotations

from observability.spec import Stack


def render_grafana_provisioning(stack: Stack) -> dict[str, str]:
    return {}
