"""The one root error of the project and its per-layer subclasses.

Every layer raises a subclass of ObservabilityError with a message a user can act on (what, where,
expected, how to fix). The CLI catches the root type in one place and prints `ERROR: <message>`.
Third-party exceptions are translated at the boundary where they occur (`raise X(...) from e`).
"""

from __future__ import annotations


class ObservabilityError(Exception):
    """Root of every error this tool reports to a user."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class SpecError(ObservabilityError):
    """The stack spec (stack.yaml) cannot be read or is invalid; carries every problem found."""

    def __init__(self, problems: list[str], *, source: str = "stack.yaml") -> None:
        self.problems = problems
        self.source = source
        count = len(problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in problems))


class RenderError(ObservabilityError):
    """A valid spec could not be rendered (e.g. a referenced rule or dashboard file is broken)."""


class CheckError(ObservabilityError):
    """Linting or validation of rendered artefacts could not run (not: found problems)."""


class ClusterError(ObservabilityError):
    """Talking to the Kubernetes API failed; the message names the object, verb and fix."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ToolMissingError(ObservabilityError):
    """An external program (promtool, amtool, prometheus, go) is not installed."""


class RemoteError(ObservabilityError):
    """An HTTP service (Grafana, Prometheus, Alertmanager, Elasticsearch, Kibana) answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class PipelineError(ObservabilityError):
    """The log processor cannot start or run (bad config, unreachable Kafka at start)."""
