"""CLI: `obs plan`, `obs apply`, `obs status`, `obs destroy` — bring a cluster to the spec and back.

Every command prints the cluster and context it talks to before anything else, renders for the server's
own Kubernetes version, and runs the preflight checks before any change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from observability.apply.cluster.client import ClusterClient
from observability.apply.cluster.ops import (
    HealthProbe,
    Target,
    apply_target,
    build_target,
    compute_plan,
    destroy_objects,
    generated_values,
    orphaned_claims,
    select_destroy,
)
from observability.apply.cluster.plan import Change, Plan
from observability.apply.cluster.preflight import PreflightReport, check_server_version, run_preflight
from observability.apply.cluster.wait import ComponentHealth, wait_until_ready
from observability.apply.kubernetes import connect
from observability.cli import app
from observability.cli.io import EXIT_CODE_HELP, EXIT_DIFFERENCES, read_spec
from observability.cli.params import KUBECONFIG_OPTION, seconds
from observability.cli.sources import ALERTS, ALERTS_OPTION, DASHBOARDS, DASHBOARDS_OPTION, read_sources, source_dir
from observability.errors import ClusterError
from observability.render import render_stack

SPEC = typer.Option(Path("stack.yaml"), "--spec", "-f", help="the stack spec to read")
CONTEXT = typer.Option(None, "--context", help="kubeconfig context (default: the current context)")
IN_CLUSTER = typer.Option(False, "--in-cluster", help="use the pod's service account instead of a kubeconfig")
PRUNE = typer.Option(False, "--prune", help="delete objects this instance applied earlier that are no longer rendered")
FORCE = typer.Option(
    False, "--force-conflicts", help="take over fields owned by other field managers and unlabelled objects"
)

_SYMBOL = {"create": "+", "change": "~", "unchanged": "=", "prune": "-"}


@dataclass(frozen=True)
class Session:
    client: ClusterClient
    target: Target


def _open(
    spec: Path,
    alerts: Path | None,
    dashboards: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool,
    to_stderr: bool = False,
) -> tuple[Session, dict[str, dict[str, str]]]:
    stack = read_spec(spec)
    sources = read_sources(source_dir(ALERTS, alerts), source_dir(DASHBOARDS, dashboards))
    client, info = connect(str(kubeconfig) if kubeconfig else None, context, in_cluster)
    typer.echo(f"cluster: {info.describe()}", err=to_stderr)
    git_version = client.server_version()
    version = check_server_version(git_version)
    rendered = render_stack(stack, sources, kube_version=str(version))
    target = build_target(stack, rendered)
    typer.echo(
        f"server: Kubernetes {git_version}; instance {target.instance} in namespace {target.namespace}", err=to_stderr
    )
    return Session(client, target), generated_values(stack)


def _preflight(session: Session, command: str, *, prune: bool = False, take_over: bool = False) -> None:
    items = [*session.target.items, *session.target.generated]
    report: PreflightReport = run_preflight(
        session.client,
        items,
        command=command,
        namespace=session.target.namespace,
        instance=session.target.instance,
        prune=prune,
        take_over=take_over,
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    report.raise_if_failed()


def _echo_change(change: Change, *, show_unchanged: bool = False) -> None:
    if change.action == "unchanged" and not show_unchanged:
        return
    note = f"  ({change.note})" if change.note else ""
    typer.echo(f"  {_SYMBOL[change.action]} {change.action:<9} {change.ref}{note}")
    for field in change.fields:
        typer.echo(f"        {field.path}: {field.before} → {field.after}")
        for line in field.detail:
            typer.echo(f"          {line}")


def _echo_kept_claims(session: Session) -> None:
    for ref in orphaned_claims(session.client, session.target):
        typer.echo(
            f"  ! kept      {ref}  (no longer rendered but holds data; `obs destroy --delete-data` or "
            "`kubectl delete pvc` removes it)"
        )


@app.command()
def plan(
    spec: Path = SPEC,
    alerts: Path | None = ALERTS_OPTION,
    dashboards: Path | None = DASHBOARDS_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    in_cluster: bool = IN_CLUSTER,
    prune: bool = PRUNE,
    force_conflicts: bool = FORCE,
    exit_code: bool = typer.Option(False, "--exit-code", help=EXIT_CODE_HELP),
) -> None:
    """Show what `obs apply` would change (server-side dry run): created, changed (field diff), pruned."""
    session, _ = _open(spec, alerts, dashboards, kubeconfig, context, in_cluster)
    _preflight(session, "plan", take_over=force_conflicts)
    result: Plan = compute_plan(session.client, session.target, prune=prune, force=force_conflicts)
    for change in result.changes:
        _echo_change(change)
    if prune:
        _echo_kept_claims(session)
    typer.echo(f"plan: {result.summary()}")
    if exit_code and result.has_changes:
        raise typer.Exit(EXIT_DIFFERENCES)


@app.command()
def apply(
    spec: Path = SPEC,
    alerts: Path | None = ALERTS_OPTION,
    dashboards: Path | None = DASHBOARDS_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    in_cluster: bool = IN_CLUSTER,
    prune: bool = PRUNE,
    force_conflicts: bool = FORCE,
    wait: bool = typer.Option(True, "--wait/--no-wait", help="wait until every component is ready"),
    timeout: float = typer.Option(
        "5m", "--timeout", parser=seconds, help="how long each component may take to become ready"
    ),
) -> None:
    """Server-side apply the stack in dependency order; optionally prune and wait for readiness."""
    session, values = _open(spec, alerts, dashboards, kubeconfig, context, in_cluster)
    _preflight(session, "apply", prune=prune, take_over=force_conflicts)
    changes = apply_target(
        session.client, session.target, values, force=force_conflicts, prune=prune, on_change=_echo_change
    )
    if prune:
        _echo_kept_claims(session)
    counts = {a: sum(1 for c in changes if c.action == a) for a in ("create", "change", "unchanged", "prune")}
    if counts["create"] + counts["change"] + counts["prune"] == 0:
        typer.echo(f"no changes: {counts['unchanged']} objects unchanged")
    else:
        typer.echo(
            f"applied: {counts['create']} created, {counts['change']} changed, "
            f"{counts['unchanged']} unchanged, {counts['prune']} pruned"
        )
    if wait:
        _wait(session, timeout)


def _wait(session: Session, timeout: float) -> None:
    components = [c for c in session.target.components if session.target.workloads(c)]
    if not components:
        typer.echo("ready: no workloads to wait for")
        return
    probe = HealthProbe(session.client, session.target)
    console = Console(stderr=True)
    with Progress(TimeElapsedColumn(), TextColumn("{task.description}"), console=console) as progress:
        tasks = {c: progress.add_task(f"{c:<22} waiting", total=None) for c in components}

        def update(health: ComponentHealth) -> None:
            reasons = [r for w in health.workloads for r in w.reasons]
            why = "ready" if health.healthy else (reasons[0] if reasons else "waiting")
            line = f"{health.component:<22} {health.ready}/{health.desired} ready  {why}"
            progress.update(tasks[health.component], description=line[:100])

        result = wait_until_ready(probe, components, timeout, on_update=update)
    if result.not_ready:
        raise ClusterError(
            result.timeout_message(timeout),
            hint="`obs status` shows the current state; `kubectl describe pod` the details",
        )
    typer.echo(f"ready: {len(result.ready)} components in {result.elapsed:.0f}s")


@app.command()
def status(
    spec: Path = SPEC,
    alerts: Path | None = ALERTS_OPTION,
    dashboards: Path | None = DASHBOARDS_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    in_cluster: bool = IN_CLUSTER,
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Per component: ready/desired replicas, version, endpoints, recent warning events; exit 1 if unhealthy."""
    session, _ = _open(spec, alerts, dashboards, kubeconfig, context, in_cluster, to_stderr=as_json)
    _preflight(session, "status")
    target = session.target
    missing = [str(i.ref) for i in (*target.items, *target.generated) if session.client.get(i.ref) is None]
    probe = HealthProbe(session.client, target)
    healths = [probe(c) for c in target.components]
    healthy = not missing and all(h.healthy for h in healths)
    if as_json:
        typer.echo(json.dumps(_status_json(healths, missing, healthy), indent=2))
    else:
        _print_status(healths, missing, healthy)
    if not healthy:
        raise typer.Exit(1)


def _status_json(healths: list[ComponentHealth], missing: list[str], healthy: bool) -> dict[str, object]:
    return {
        "healthy": healthy,
        "missing": missing,
        "components": [
            {
                "component": h.component,
                "healthy": h.healthy,
                "desired": h.desired,
                "ready": h.ready,
                "version": h.version,
                "endpoints": list(h.endpoints),
                "warnings": list(h.warnings),
                "workloads": [
                    {"object": str(w.ref), "desired": w.desired, "ready": w.ready, "reasons": list(w.reasons)}
                    for w in h.workloads
                ],
            }
            for h in healths
        ],
    }


def _print_status(healths: list[ComponentHealth], missing: list[str], healthy: bool) -> None:
    for h in healths:
        if not h.workloads:
            typer.echo(f"  {h.component:<24} -      (no workloads)")
            continue
        mark = "ok " if h.healthy else "NOT READY"
        version = h.version or "-"
        typer.echo(f"  {h.component:<24} {h.ready}/{h.desired}  {mark:<9} version {version}")
        for endpoint in h.endpoints:
            typer.echo(f"      endpoint {endpoint}")
        for w in h.workloads:
            if not w.ok:
                typer.echo(f"      {w.line()}")
        for warning in h.warnings:
            typer.echo(f"      warning event: {warning}")
    for ref in missing:
        typer.echo(f"  missing: {ref} (run `obs apply`)")
    typer.echo("status: healthy" if healthy else "status: UNHEALTHY")


@app.command()
def destroy(
    spec: Path = SPEC,
    alerts: Path | None = ALERTS_OPTION,
    dashboards: Path | None = DASHBOARDS_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    in_cluster: bool = IN_CLUSTER,
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    delete_data: bool = typer.Option(False, "--delete-data", help="also delete PersistentVolumeClaims (data!)"),
    timeout: float = typer.Option("2m", "--timeout", parser=seconds, help="how long to wait for everything to be gone"),
) -> None:
    """Delete everything of this instance in reverse order; volume claims are kept unless --delete-data."""
    session, _ = _open(spec, alerts, dashboards, kubeconfig, context, in_cluster)
    _preflight(session, "destroy")
    doomed = select_destroy(session.client, session.target, delete_data=delete_data)
    for line in doomed.kept:
        typer.echo(f"  {line}")
    if not doomed.delete:
        typer.echo("nothing to delete")
        return
    typer.echo(f"will delete {len(doomed.delete)} objects:")
    for obj in doomed.delete:
        meta = obj["metadata"]
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        typer.echo(f"  - {obj['kind']} {where}{meta['name']}")
    if not yes and not typer.confirm("delete them?", default=False):
        raise typer.Exit(1)
    left = destroy_objects(
        session.client,
        doomed,
        session.target,
        timeout=timeout,
        on_delete=lambda ref, existed: typer.echo(f"  deleted {ref}" if existed else f"  already gone {ref}"),
    )
    if left:
        raise ClusterError(
            f"still present after {timeout:g}s: {', '.join(left)}",
            hint="finalizers or a stopped controller-manager can hold objects; re-run `obs destroy` later",
        )
    rest = "; kept what is listed above" if doomed.kept else f", nothing of instance {session.target.instance} left"
    typer.echo(f"destroyed: {len(doomed.delete)} objects deleted{rest}")
