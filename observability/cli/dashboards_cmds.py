"""CLI: `obs dashboards build|lint|sync|diff|export` — Grafana dashboards (and Kibana objects) as code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from observability.apply.grafana import (
    STATE_HELP,
    Grafana,
    GrafanaTarget,
    SyncReport,
    dashboard_status,
    diff_dashboard,
    fetch_dashboard,
    grafana_datasources,
    log_index_pattern,
    sync_dashboards,
    sync_datasources,
)
from observability.apply.kibana import KibanaTarget, sync_kibana
from observability.check.dashboards import lint_dashboards
from observability.cli import app
from observability.cli.io import EXIT_CODE_HELP, EXIT_DIFFERENCES, read_spec, write_tree
from observability.cli.params import http_url
from observability.cli.sources import DASHBOARDS, SourceDir, read_source_dir, source_dir
from observability.errors import CheckError, ObservabilityError
from observability.render.dashboard_export import export_definition
from observability.render.dashboards import (
    DEFINITION_SUFFIXES,
    compile_dashboard,
    compile_sources,
    dashboard_uid,
    load_definition_files,
)
from observability.render.yamlfmt import dump_json

dashboards_app = typer.Typer(
    name="dashboards", help="Grafana dashboards as code: build, lint, sync, diff, export.", no_args_is_help=True
)
app.add_typer(dashboards_app, name="dashboards")

DIR_OPTION = typer.Option(None, "--dashboards", "-d", help="directory of dashboard definitions (default: dashboards/)")
URL_OPTION = typer.Option(
    ..., "--url", envvar="GRAFANA_URL", callback=http_url, help="Grafana base URL, e.g. http://localhost:3000"
)
TOKEN_OPTION = typer.Option(None, "--token", envvar="GRAFANA_TOKEN", help="service account token")
USER_OPTION = typer.Option(None, "--user", envvar="GRAFANA_USER", help="basic auth user (instead of a token)")
PASSWORD_OPTION = typer.Option(None, "--password", envvar="GRAFANA_PASSWORD", help="basic auth password")


def _definition_sources(directory: Path | None) -> tuple[SourceDir, dict[str, str]]:
    where = source_dir(DASHBOARDS, directory)
    sources = read_source_dir(where, required=True)
    if not sources:
        raise CheckError(f"{where.shown}/ has no dashboard definitions (*.yaml)", hint=f"pass {DASHBOARDS.flag} DIR")
    return where, sources


def _compiled(directory: Path | None) -> dict[str, dict[str, Any]]:
    where, sources = _definition_sources(directory)
    return compile_sources(sources, where.shown)


def _grafana(url: str, token: str | None, user: str | None, password: str | None) -> Grafana:
    return Grafana(GrafanaTarget(url=url, token=token, username=user, password=password))


@dashboards_app.command()
def build(
    out: Path = typer.Option(Path("build/grafana/dashboards"), "--out", "-o", help="directory to write into"),
    dashboards: Path | None = DIR_OPTION,
) -> None:
    """Compile every definition to Grafana dashboard JSON (<uid>.json)."""
    compiled = _compiled(dashboards)
    written = write_tree(out, {f"{uid}.json": dump_json(d) for uid, d in compiled.items()})
    typer.echo(f"built {len(written)} dashboards into {out}/")
    for uid, dashboard in compiled.items():
        panels = sum(p["type"] != "row" for p in dashboard["panels"])
        typer.echo(f"  {uid}.json  {dashboard['title']} ({panels} panels)")


@dashboards_app.command()
def lint(dashboards: Path | None = DIR_OPTION) -> None:
    """Check every query parses, datasources resolve, uids/titles are unique, units are set.

    Every definition is read and every problem reported in one run, each as `file:line: problem`.
    """
    where, sources = _definition_sources(dashboards)
    files, problems = load_definition_files(sources, where.shown)
    compiled = {f.path: compile_dashboard(f.definition, dashboard_uid(name, f.definition)) for name, f in files.items()}
    by_path = {f.path: f for f in files.values()}
    for problem in lint_dashboards(compiled):
        definition = by_path[problem.source]
        line = definition.line_of(panel_id=problem.panel_id, ref_id=problem.ref_id, variable=problem.variable)
        problems.append(f"{definition.path}:{line}: {problem.detail}")
    for line_problem in problems:
        typer.echo(line_problem)
    count = len([n for n in sources if n.endswith(DEFINITION_SUFFIXES)])
    if problems:
        typer.echo(f"ERROR: {len(problems)} problem(s) in {count} dashboard definition(s)", err=True)
        raise typer.Exit(1)
    queries = sum(len(p.get("targets") or []) for d in compiled.values() for p in d["panels"])
    typer.echo(f"{len(compiled)} dashboards, {queries} queries: no problems")


@dashboards_app.command()
def sync(
    url: str = URL_OPTION,
    token: str | None = TOKEN_OPTION,
    user: str | None = USER_OPTION,
    password: str | None = PASSWORD_OPTION,
    dashboards: Path | None = DIR_OPTION,
    spec: Path | None = typer.Option(None, "--spec", "-f", help="stack.yaml; with it, datasources are synced too"),
    es_password: str | None = typer.Option(
        None, "--elasticsearch-password", envvar="OBS_ELASTICSEARCH_PASSWORD", help="for the ES datasource"
    ),
    prune: bool = typer.Option(False, "--prune", help="delete managed dashboards no longer in the directory"),
    force: bool = typer.Option(False, "--force", help="overwrite dashboards edited in Grafana since the last sync"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would change, change nothing"),
    kibana_url: str | None = typer.Option(
        None, "--kibana-url", envvar="KIBANA_URL", callback=http_url, help="also sync Kibana objects"
    ),
    kibana_user: str | None = typer.Option(None, "--kibana-user", envvar="KIBANA_USER"),
    kibana_password: str | None = typer.Option(None, "--kibana-password", envvar="KIBANA_PASSWORD"),
) -> None:
    """Create/update the managed folder, datasources and dashboards; unchanged ones are not re-posted."""
    compiled = _compiled(dashboards)
    problems = lint_dashboards(compiled)
    if problems:
        raise CheckError("dashboards do not lint; run `obs dashboards lint`:\n  " + "\n  ".join(map(str, problems)))
    grafana = _grafana(url, token, user, password)
    report = SyncReport()
    stack = read_spec(spec) if spec is not None else None
    if stack is not None and not dry_run:
        sync_datasources(grafana, grafana_datasources(stack, es_password), report)
    sync_dashboards(grafana, compiled, report, prune=prune, force=force, dry_run=dry_run)
    if kibana_url and not dry_run:
        target = KibanaTarget(url=kibana_url, username=kibana_user, password=kibana_password)
        for action, what in sync_kibana(target, log_index_pattern(stack) if stack else "logs-*"):
            report.add(action, f"kibana {what}")
    for action, what, detail in report.actions:
        if action != "unchanged":
            typer.echo(f"  {action:<16} {what}{': ' + detail if detail and action == 'refused' else ''}")
    summary = ", ".join(f"{report.count(a)} {a}" for a in ("created", "updated", "deleted", "unchanged", "refused"))
    typer.echo(f"synced to {url}: {summary}")
    if report.refused:
        raise ObservabilityError(f"{len(report.refused)} dashboard(s) not synced; see 'refused' above")


@dashboards_app.command()
def diff(
    url: str = URL_OPTION,
    token: str | None = TOKEN_OPTION,
    user: str | None = USER_OPTION,
    password: str | None = PASSWORD_OPTION,
    dashboards: Path | None = DIR_OPTION,
    exit_code: bool = typer.Option(False, "--exit-code", help=EXIT_CODE_HELP),
) -> None:
    """Code vs live, and whether the live dashboard was edited in Grafana since the last sync."""
    grafana = _grafana(url, token, user, password)
    differs = 0
    for uid, code in sorted(_compiled(dashboards).items()):
        status = dashboard_status(grafana, uid, code)
        typer.echo(f"{uid}: {status.state} — {STATE_HELP[status.state]}")
        if status.state != "unchanged":
            differs += 1
            typer.echo(diff_dashboard(status, code), nl=False)
    typer.echo(f"{differs} dashboard(s) differ")
    if exit_code and differs:
        raise typer.Exit(EXIT_DIFFERENCES)


@dashboards_app.command()
def export(
    uid: str = typer.Argument(..., help="uid of the live dashboard (from its URL: /d/<uid>/...)"),
    url: str = URL_OPTION,
    token: str | None = TOKEN_OPTION,
    user: str | None = USER_OPTION,
    password: str | None = PASSWORD_OPTION,
    dashboards: Path | None = DIR_OPTION,
    name: str | None = typer.Option(None, "--name", help="file name in the directory; default: <uid>.yaml"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing definition file"),
) -> None:
    """Write a live dashboard as a definition into dashboards/, so a UI-made dashboard can be adopted."""
    live = fetch_dashboard(_grafana(url, token, user, password), uid)
    text, warnings = export_definition(live)
    target = (dashboards or DASHBOARDS.default) / (name or f"{uid}.yaml")
    if target.exists() and not overwrite:
        raise ObservabilityError(f"{target} exists; pass --overwrite to replace it or --name to pick another file")
    write_tree(target.parent, {target.name: text}, flag="--dashboards")
    for warning in warnings:
        typer.echo(f"  warning: {warning}", err=True)
    typer.echo(f"exported {uid} ({live.get('title')}) to {target}; review it, then `obs dashboards lint`")
