"""CLI layer: the `obs` command. The only layer that prints and sets exit codes.

Each command group lives in its own module and registers itself on `app`. `main()` is the one place
that turns an ObservabilityError into `ERROR: <message>` on stderr and exit code 1 — never a traceback.
"""

from __future__ import annotations

import sys

import typer

from observability.errors import ObservabilityError

app = typer.Typer(
    name="obs",
    help="Bootstrap and operate logging and metrics for Go microservices on Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported for their side effect of adding commands to `app`; one module per command group.
    from observability.cli import (  # noqa: F401
        alerts_cmds,
        cluster_cmds,
        dashboards_cmds,
        demo_cmds,
        logs_cmds,
        process_cmds,
        render_cmds,
        services_cmds,
        spec_cmds,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 1 with a one-paragraph message on any ObservabilityError."""
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except ObservabilityError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
