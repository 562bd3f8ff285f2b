"""CLI: `obs alerts lint | test | sync | verify` — alert rules as code, from edit to running stack.

The SRE workflow: edit alerts/ (or stack.yaml SLOs/routing) → `obs alerts lint` → `obs alerts test` → PR
(CI runs both) → `obs alerts sync` → `obs alerts verify`. Only this module prints and sets exit codes.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from observability.check.alerts_coverage import alert_coverage
from observability.check.alerts_lint import lint_rule_files, promtool_problems
from observability.check.alerts_routing import routing_tree
from observability.check.alerts_routing_tests import ROUTING_TESTS_FILE, parse_routing_tests, run_routing_tests
from observability.cli import app
from observability.cli.io import EXIT_CODE_HELP, EXIT_DIFFERENCES, read_spec
from observability.cli.params import KUBECONFIG_OPTION, http_url, one_of, seconds
from observability.cli.sources import ALERTS, ALERTS_OPTION, read_source_dir, read_text_source, source_dir, warn
from observability.errors import CheckError
from observability.render.alertmanager import render_alertmanager_config, render_alertmanager_dict
from observability.render.names import ALERTMANAGER_SECRETS_DIR
from observability.render.rules import GENERATED_FILES, render_rule_files
from observability.spec.model import duration_seconds

alerts_app = typer.Typer(help="Alert rules as code: lint, test, sync and verify.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

_SPEC = typer.Option(Path("stack.yaml"), "--spec", "-f", help="the stack spec (SLOs, routing, scrape interval)")


def _rule_sources(paths: list[Path], *, with_spec: bool) -> dict[str, str]:
    """Rule files under the given files/directories (default: alerts/), keyed by path as given; routing tests
    are not rule files."""
    if not paths:
        where = source_dir(ALERTS, None)
        hint = "give rule files or directories (`obs alerts lint path/to/rules`)"
        if not where.path.exists() and not with_spec:
            raise CheckError(
                f"{where.shown}/: no such directory here, so there is nothing to lint",
                hint=f"{hint}, or --spec for its SLO rules",
            )
        if not where.path.exists():
            warn(f"{where.shown}/ not found here, so only the SLO rules generated from the spec are linted; {hint}")
            return {}
        return {f"{where.shown}/{n}": t for n, t in read_source_dir(where).items() if not _is_routing_tests(n)}
    found: dict[str, str] = {}
    for path in paths:
        if path.is_file():
            found[str(path)] = read_text_source(path, str(path))
        elif path.is_dir():
            where = source_dir(ALERTS, path)
            found |= {f"{where.shown}/{n}": t for n, t in read_source_dir(where).items() if not _is_routing_tests(n)}
        else:
            raise CheckError(f"{path}: no such file or directory", hint="give rule files or directories to lint")
    return found


def _is_routing_tests(name: str) -> bool:
    return name.rsplit("/", 1)[-1] == ROUTING_TESTS_FILE


@alerts_app.command("lint")
def lint(
    paths: list[Path] = typer.Argument(None, help="rule files or directories (default: alerts/)"),
    spec: Path | None = typer.Option(None, "--spec", "-f", help="also lint the SLO rules generated from this spec"),
    scrape_interval: float | None = typer.Option(None, parser=seconds, help="default: the spec's, else 30s"),
    runbooks: Path = typer.Option(Path("docs/runbooks"), help="runbook pages; checked when the directory exists"),
    promtool: bool = typer.Option(True, "--promtool/--no-promtool", help="also run `promtool check rules`"),
    output_format: str = typer.Option("text", "--format", callback=one_of("text", "json"), help="text or json"),
) -> None:
    """promtool check rules + our checks; `file:line: group/alert: problem`; exit 1 on errors."""
    from observability.local.tools import promtool_check_rules

    files = _rule_sources(paths or [], with_spec=spec is not None)
    stack = read_spec(spec) if spec is not None else None
    if stack is not None:
        for name, generated in render_rule_files(stack, {}).items():
            if name in GENERATED_FILES:
                files[f"<generated from {spec}>/{name}"] = generated
    interval = (
        scrape_interval
        if scrape_interval
        else (duration_seconds(stack.metrics.prometheus.scrape_interval) if stack else 30.0)
    )
    known = {p.stem for p in runbooks.glob("*.md")} if runbooks.is_dir() else None
    levels = stack.alerting.severities if stack is not None else None
    problems = lint_rule_files(
        files,
        scrape_interval=interval,
        runbooks=known,
        **({"severities": levels.accepted(), "paging": tuple(levels.page)} if levels is not None else {}),
    )
    if promtool:
        # Only rule files: promtool has no idea of PrometheusRule wrappers, which our own checks cover.
        plain = {n: t for n, t in files.items() if "kind: PrometheusRule" not in t}
        result = promtool_check_rules(plain) if plain else None
        if result is not None and not result.ok:
            problems += promtool_problems(result.output, plain)
    errors = [p for p in problems if p.severity == "error"]
    if output_format == "json":
        typer.echo(json.dumps({"files": len(files), "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            typer.echo(str(problem))
        typer.echo(f"{len(files)} file(s): {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


@alerts_app.command("test")
def test(
    tests_dir: Path = typer.Option(Path("tests/alerts"), "--tests", help="promtool unit test files"),
    alerts: Path | None = ALERTS_OPTION,
    spec: Path | None = typer.Option(
        None, "--spec", "-f", help="the stack spec whose routing the routing tests check (default: stack.yaml)"
    ),
    routing: Path | None = typer.Option(None, help=f"routing tests (default: <alerts>/{ROUTING_TESTS_FILE})"),
) -> None:
    """promtool unit tests + firing/quiet coverage of every alert + Alertmanager routing tests."""
    from observability.local.tools import promtool_test_rules

    where = source_dir(ALERTS, alerts)
    routing_file = routing or where.path / ROUTING_TESTS_FILE
    if routing is not None and not routing.is_file():
        raise CheckError(f"--routing {routing}: no such file", hint="give the routing tests file, or leave it out")
    spec_path = spec or Path("stack.yaml")
    # Everything that can be checked before a long promtool run is: a missing spec must not wait for it.
    stack = read_spec(spec_path) if routing_file.is_file() or spec is not None else None
    rule_files = {f"{where.shown}/{n}": t for n, t in read_source_dir(where).items() if not _is_routing_tests(n)}
    test_files = sorted(p for p in tests_dir.glob("*.y*ml") if p.is_file()) if tests_dir.is_dir() else []
    if not test_files:
        raise CheckError(f"{tests_dir}: no promtool test files (*.yaml)", hint="write tests next to your rules")
    tests = {str(p): read_text_source(p, str(p)) for p in test_files}
    failed = False
    result = promtool_test_rules(test_files)
    typer.echo(f"promtool test rules: {len(test_files)} file(s) {'passed' if result.ok else 'FAILED'}")
    if not result.ok:
        typer.echo(result.output)
        failed = True
    coverage = alert_coverage(rule_files, tests)
    gaps = [c.problem for c in coverage if c.problem]
    typer.echo(f"coverage: {len(coverage) - len(gaps)}/{len(coverage)} alerts have a firing and a quiet test")
    for gap in gaps:
        typer.echo(f"  {gap}")
    failed |= bool(gaps)
    if stack is not None and routing_file.is_file():
        tree = routing_tree(render_alertmanager_dict(stack))
        cases = parse_routing_tests(read_text_source(routing_file, str(routing_file)), str(routing_file))
        results = run_routing_tests(tree, cases)
        bad = [r for r in results if not r.ok]
        typer.echo(
            f"routing tests: {len(results) - len(bad)}/{len(results)} passed ({routing_file} against {spec_path})"
        )
        for r in bad:
            typer.echo(f"  {routing_file}:{r.case.line}: {r.case.name}: {'; '.join(r.problems)}")
        failed |= bool(bad)
    else:
        typer.echo(f"routing tests: none ({routing_file} not found)")
    if failed:
        raise typer.Exit(1)


def _echo_changes(result: object) -> bool:
    """Print one sync result; whether anything differed."""
    from observability.apply.prometheus import SyncResult

    assert isinstance(result, SyncResult)
    if not result.changes:
        typer.echo(f"{result.target}: up to date")
        return False
    for change in result.changes:
        typer.echo(change.diff.rstrip("\n") or f"{change.action} {change.name}")
    state = "reloaded" if result.reloaded else "not reloaded"
    typer.echo(f"{result.target}: {len(result.changes)} file(s) changed, {state}")
    return True


@alerts_app.command("sync")
def sync(
    spec: Path = _SPEC,
    alerts: Path | None = ALERTS_OPTION,
    cluster: bool = typer.Option(False, "--cluster", help="update the ConfigMap/Secret in the cluster"),
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = typer.Option(None, help="kubeconfig context (with --cluster)"),
    rules_dir: Path | None = typer.Option(None, help="local: directory Prometheus loads rule files from"),
    prometheus_url: str | None = typer.Option(
        None, callback=http_url, help="local: Prometheus to reload after changes"
    ),
    alertmanager_config: Path | None = typer.Option(None, help="local: alertmanager.yml path to write"),
    alertmanager_url: str | None = typer.Option(
        None, callback=http_url, help="local: Alertmanager to reload after changes"
    ),
    secrets_dir: str = typer.Option(ALERTMANAGER_SECRETS_DIR, help="where receiver secret files are (local)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show the diff only"),
    exit_code: bool = typer.Option(False, "--exit-code", help=EXIT_CODE_HELP),
) -> None:
    """Show the diff, then push rules and alertmanager.yml and reload (idempotent)."""
    from observability.apply import alertmanager as am_apply
    from observability.apply import prometheus as prom_apply
    from observability.local import rule_file_name
    from observability.local.tools import amtool_check_config, promtool_check_rules
    from observability.render import names

    stack = read_spec(spec)
    if not cluster and rules_dir is None and alertmanager_config is None:
        raise CheckError("nothing to sync to", hint="give --rules-dir/--alertmanager-config (local) or --cluster")
    # Credentials first: a missing kubeconfig should not wait for the promtool and amtool checks.
    store = prom_apply.KubernetesConfigStore(str(kubeconfig) if kubeconfig else None, context) if cluster else None
    where = source_dir(ALERTS, alerts)
    rules = render_rule_files(stack, read_source_dir(where), where.shown)
    am_text = render_alertmanager_config(stack, secrets_dir=ALERTMANAGER_SECRETS_DIR if cluster else secrets_dir)
    # Never push something the servers would refuse: check with the real tools first.
    checked = promtool_check_rules(rules)
    if not checked.ok:
        raise CheckError(f"rules fail promtool check rules:\n{checked.output}", hint="run `obs alerts lint`")
    am_checked = amtool_check_config(am_text)
    if not am_checked.ok:
        raise CheckError(f"alertmanager.yml fails amtool check-config:\n{am_checked.output}")
    if store is not None:
        from observability.render.manifests.prometheus import config_map_key

        ns = stack.cluster.namespace
        target = prom_apply.ClusterTarget(
            ns,
            f"{names.resource_name(stack, 'prometheus')}-rules",
            names.resource_name(stack, "prometheus"),
            names.PROMETHEUS_PORT,
        )
        cm_rules = {config_map_key(n): t for n, t in rules.items()}
        changed = _echo_changes(prom_apply.sync_rules_cluster(cm_rules, store, target, dry_run=dry_run))
        am_target = am_apply.AlertmanagerClusterTarget(
            ns,
            names.resource_name(stack, "alertmanager"),
            names.resource_name(stack, "alertmanager"),
            names.ALERTMANAGER_PORT,
        )
        changed |= _echo_changes(am_apply.sync_alertmanager_cluster(am_text, store, am_target, dry_run=dry_run))
        if exit_code and changed:
            raise typer.Exit(EXIT_DIFFERENCES)
        return
    changed = False
    if rules_dir is not None:
        flat = {rule_file_name(n): t for n, t in rules.items()}
        changed |= _echo_changes(prom_apply.sync_rules_local(flat, rules_dir, prometheus_url, dry_run=dry_run))
    if alertmanager_config is not None:
        from observability.local.tools import alertmanager_local_config

        local_text = alertmanager_local_config(am_text) if alertmanager_url else am_text
        changed |= _echo_changes(
            am_apply.sync_alertmanager_local(local_text, alertmanager_config, alertmanager_url, dry_run=dry_run)
        )
    if exit_code and changed:
        raise typer.Exit(EXIT_DIFFERENCES)


@alerts_app.command("verify")
def verify(
    prometheus_url: str = typer.Option(
        ..., callback=http_url, help="e.g. http://localhost:9090 (port-forward in a cluster)"
    ),
    alertmanager_url: str | None = typer.Option(None, callback=http_url, help="e.g. http://localhost:9093"),
) -> None:
    """Every rule loaded with health ok and no evaluation error; Alertmanager config loaded; firing alerts."""
    from observability.apply.alertmanager import verify_alertmanager
    from observability.apply.prometheus import verify_prometheus

    report = verify_prometheus(prometheus_url)
    bad = report.unhealthy
    typer.echo(
        f"Prometheus {report.url}: {len(report.rules)} rules, {len(bad)} unhealthy, "
        f"{report.not_evaluated} not evaluated yet"
    )
    for rule in bad:
        typer.echo(f"  {rule.group}/{rule.name}: {rule.health} {rule.error}".rstrip())
    typer.echo(f"firing alerts: {len(report.firing)}")
    for labels in report.firing:
        typer.echo("  " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__"))
    failed = bool(bad)
    if alertmanager_url:
        am = verify_alertmanager(alertmanager_url)
        loaded = bool(am.config_original.strip())
        typer.echo(
            f"Alertmanager {am.url}: config {'loaded' if loaded else 'MISSING'}, "
            f"receivers: {', '.join(am.receivers)}; {len(am.alerts)} active alert(s)"
        )
        for alert in am.alerts:
            state = (alert.get("status") or {}).get("state", "?")
            receivers = ", ".join(r.get("name", "") for r in alert.get("receivers") or [])
            typer.echo(f"  {alert['labels'].get('alertname')} [{state}] → {receivers}")
        failed |= not loaded
    if failed:
        raise typer.Exit(1)
