"""CLI: `obs render` — write every manifest and config file of the stack into a directory."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import typer

from observability.cli import app
from observability.cli.io import read_spec, write_tree
from observability.cli.sources import ALERTS, ALERTS_OPTION, DASHBOARDS, DASHBOARDS_OPTION, read_sources, source_dir
from observability.render import render_stack


@app.command()
def render(
    spec: Path = typer.Option(Path("stack.yaml"), "--spec", "-f", help="the stack spec to read"),
    out: Path = typer.Option(Path("build"), "--out", "-o", help="directory to write into"),
    kube_version: str | None = typer.Option(
        None, "--kube-version", help="target Kubernetes version (1.20–1.35); default: the spec's, then 1.31"
    ),
    alerts: Path | None = ALERTS_OPTION,
    dashboards: Path | None = DASHBOARDS_OPTION,
) -> None:
    """Render manifests and configs deterministically (same input → byte-identical files)."""
    started = time.perf_counter()
    stack = read_spec(spec)
    sources = read_sources(source_dir(ALERTS, alerts), source_dir(DASHBOARDS, dashboards))
    rendered = render_stack(stack, sources, kube_version)
    written = write_tree(out, rendered.files)
    elapsed = time.perf_counter() - started
    typer.echo(
        f"rendered {len(written)} files into {out}/ for Kubernetes {rendered.kube_version} in {elapsed:.2f}s"
    )
    for component, objects in rendered.manifests.items():
        kinds = Counter(o["kind"] for o in objects)
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        typer.echo(f"  manifests/{component}.yaml: {summary}")
    others = sorted(p for p in rendered.files if not p.startswith("manifests/"))
    typer.echo(f"  config files: {', '.join(others)}")
