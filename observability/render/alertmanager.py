"""Render layer (PURE): alertmanager.yml."""

from __future__ import annotations

from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack


def render_alertmanager_config(stack: Stack) -> str:
    routing = stack.alerting.routing
    default = routing.default if routing else "null"
    receivers = [{"name": r.name} for r in stack.alerting.receivers] or [{"name": "null"}]
    return dump_yaml({"route": {"receiver": default}, "receivers": receivers})
