"""CLI: `obs init` and `obs validate` — write and check a stack.yaml."""

from __future__ import annotations

from pathlib import Path

import typer

from observability.cli import app
from observability.cli.io import read_spec, starter_spec_text, write_text
from observability.cli.params import http_url
from observability.errors import FileError

SPEC_OPTION = typer.Option(Path("stack.yaml"), "--spec", "-f", help="the stack spec to read")


@app.command()
def validate(
    spec: Path = SPEC_OPTION,
    prometheus_url: str | None = typer.Option(
        None, callback=http_url, help="also warn when a service's instrumentation metrics are absent in this Prometheus"
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
    if out.is_dir():
        raise FileError(f"--out {out}: is a directory; give the file to write, e.g. --out {out / 'stack.yaml'}")
    if out.exists() and not force:
        raise FileError(f"--out {out}: already exists; pass --force to overwrite it")
    write_text(out, starter_spec_text(), "write the starter spec", "--out")
    typer.echo(f"wrote {out}; edit it, then run `obs validate --spec {out}`")
