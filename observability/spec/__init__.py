"""Spec layer: the user's stack.yaml → a validated, typed, immutable model."""

from observability.spec.load import parse_stack
from observability.spec.model import GoService, Stack, duration_seconds

__all__ = ["GoService", "Stack", "duration_seconds", "parse_stack"]
