"""Render layer (PURE): Prometheus rule files — the repo's alerts/ plus rules generated from the spec."""

from __future__ import annotations

from observability.spec import Stack


def render_rule_files(stack: Stack, sources: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in sorted(sources.items()) if name.endswith((".yaml", ".yml"))}
