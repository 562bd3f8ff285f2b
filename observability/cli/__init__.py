"""CLI layer: the `obs` command. The only layer that prints and sets exit codes.

Each command group lives in its own module and registers itself on `app`. `main()` is the one place
that turns an error into `ERROR: <message>` on stderr and an exit code — never a traceback. Values typed on the
command line are checked in `params.py`, file access goes through `io.py`.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from observability.errors import ObservabilityError

INTERNAL_ERROR = "ERROR: internal error: "
"""How an exception that is not an ObservabilityError starts; the hostile-argument test asserts it never shows."""

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
    """Run the CLI: every error becomes `ERROR: <message>` on stderr and an exit code, never a traceback.

    ObservabilityError is what every layer raises for a user's mistake or an unreachable service; anything
    else escaping is a bug of ours, reported as an internal error (OBS_DEBUG=1 shows its traceback).
    """
    _register()
    debug = os.environ.get("OBS_DEBUG", "") not in ("", "0")
    try:
        app(args=argv, standalone_mode=True)
    except ObservabilityError as e:
        if debug:
            traceback.print_exc()
        print(f"ERROR: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:
        if debug:
            traceback.print_exc()
        print(f"{INTERNAL_ERROR}{type(e).__name__}: {e}", file=sys.stderr)
        print(
            "  hint: this is a bug in obs; set OBS_DEBUG=1 for the traceback and please report it with the command",
            file=sys.stderr,
        )
        sys.exit(1)
