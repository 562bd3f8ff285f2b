"""CLI: `obs init` and `obs validate` — write and check a stack.yaml."""

from __future__ import annotations

from pathlib import Path

import typer

from observability.cli import app
from observability.cli.io import read_spec, starter_spec_text

SPEC_OPTION = typer.Option(Path("stack.yaml"), "--spec", "-f", help="the stack spec to read")


@app.command()
def validate(
    spec: Path = SPEC_OPTION,
    prometheus_url: str | None = typer.Option(
        None, help="also warn when a service's instrumentation metrics are absent in this Prometheus"
    ),
) -> None:
    """Check a stack.yaml; exit 1 listing every problem as file:line field: message."""
    stack = read_spec(spec)
    enabled = sum(1 for _ in stack.services)
    typer.echo(
        f"{spec}: valid (instance {stack.name!r}, namespace {stack.cluster.namespace!r}, {enabled} Go services)"
    )
    if prometheus_url is not None:
        from observability.cli.services_cmds import live_problems

        for warning in live_problems(stack, prometheus_url):
            typer.echo(f"warning: {warning}")


@app.command()
def init(
    out: Path = typer.Option(Path("stack.yaml"), "--out", "-o", help="where to write the starter spec"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
) -> None:
    """Write a commented starter stack.yaml to edit."""
    if out.exists() and not force:
        typer.echo(f"ERROR: {out} already exists; pass --force to overwrite it", err=True)
        raise typer.Exit(1)
    out.write_text(starter_spec_text(), encoding="utf-8")
    typer.echo(f"wrote {out}; edit it, then run `obs validate --spec {out}`")
