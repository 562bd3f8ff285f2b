"""CLI: `obs services detect` — which instrumentation profile fits what each service's targets expose."""

from __future__ import annotations

from pathlib import Path

import typer

from observability.apply.prometheus import label_values, service_inventory
from observability.check.instrumentation import (
    Inventory,
    fits,
    live_bucket_problem,
    none_fits_reason,
    profile_problem,
)
from observability.cli import app
from observability.cli.io import read_spec
from observability.cli.params import http_url
from observability.spec.instrumentation import PROFILES
from observability.spec.model import GoService, Stack, duration_seconds

services_app = typer.Typer(help="The Go services of the spec, as Prometheus sees them.", no_args_is_help=True)
app.add_typer(services_app, name="services")


def interesting_metrics() -> set[str]:
    """The series whose label names decide a fit: every profile's request counter."""
    return {p.requests for p in PROFILES.values() if p.name != "custom"}


def inventories(stack: Stack, prometheus_url: str) -> list[tuple[GoService, Inventory]]:
    wanted = interesting_metrics() | {svc.profile.requests for svc in stack.services}
    return [(svc, service_inventory(prometheus_url, svc.namespace, svc.name, wanted)) for svc in stack.services]


def configured_problem(svc: GoService, inventory: Inventory) -> str | None:
    """Why the service's configured profile does not fit, or None."""
    if not inventory:
        return none_fits_reason(inventory)
    return profile_problem(svc.profile, inventory)


def live_problems(stack: Stack, prometheus_url: str) -> list[str]:
    """What `obs validate --prometheus-url` warns about: a profile whose metrics are absent, and a latency
    threshold that is no bucket bound of the histogram the service really exposes."""
    out = []
    for svc, inventory in inventories(stack, prometheus_url):
        where = f"services {svc.namespace}/{svc.name}"
        problem = configured_problem(svc, inventory)
        if problem:
            out.append(
                f"{where}: instrumentation {svc.instrumentation.profile}: {problem} "
                "(`obs services detect` says which profile fits)"
            )
        profile = svc.profile
        if svc.slo is not None and svc.slo.latency is not None and profile.has_histogram:
            match = f'{profile.duration}_bucket{{namespace="{svc.namespace}",service="{svc.name}"}}'
            bucket = live_bucket_problem(
                duration_seconds(svc.slo.latency.threshold), label_values(prometheus_url, "le", match)
            )
            if bucket:
                out.append(f"{where}: {bucket}")
    return out


@services_app.command("detect")
def detect(
    prometheus_url: str = typer.Option(
        ..., callback=http_url, help="e.g. http://localhost:9090 (port-forward in a cluster)"
    ),
    spec: Path = typer.Option(Path("stack.yaml"), "--spec", "-f", help="the stack spec to read"),
) -> None:
    """Say which instrumentation profile fits each service's metrics, or that none does and why."""
    stack = read_spec(spec)
    if not stack.services:
        typer.echo(f"{spec}: no services to detect")
        return
    mismatched = 0
    for svc, inventory in inventories(stack, prometheus_url):
        name = f"{svc.namespace}/{svc.name}"
        configured = svc.instrumentation.profile
        found = fits(inventory)
        if not found:
            typer.echo(f"{name}: no profile fits — {none_fits_reason(inventory)}")
            mismatched += configured != "custom" or bool(configured_problem(svc, inventory))
            continue
        best = found[0]
        others = ", ".join(f.profile for f in found[1:])
        typer.echo(f"{name}: {best.profile} fits ({best.evidence}){f'; also fits: {others}' if others else ''}")
        problem = configured_problem(svc, inventory)
        if problem:
            mismatched += 1
            typer.echo(f"  configured {configured} does not fit: {problem}; set instrumentation: {best.profile}")
        elif configured != best.profile:
            typer.echo(f"  configured {configured} fits too")
    typer.echo(f"{len(stack.services)} service(s), {mismatched} whose configured instrumentation does not fit")
