"""CLI layer: `obs demo` — run the whole pipeline locally with a live summary, or `--smoke` it headless.

Live mode prints the start-up progress, then a summary refreshed every two seconds until Ctrl-C; smoke mode
polls the three checks (logs searchable, alerts delivered, dashboards have data) and exits 0 when all pass
within the time limit, else 1 naming the first failing step. Either way every process started is stopped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from observability.cli import app
from observability.cli.params import http_url, positive
from observability.cli.sources import ALERTS, DASHBOARDS, SourceKind, read_sources, source_dir
from observability.demo.run import Demo, DemoOptions
from observability.demo.summary import status_line, summary_rows, summary_table
from observability.demo.supervisor import StopRequest, install_signal_handlers
from observability.demo.traffic import TrafficPlan
from observability.errors import FileError, ObservabilityError

REPO = Path(__file__).resolve().parents[2]
# Smoke mode bursts early and long so both error alerts fire within the first minute or two.
PLAIN_STATUS_EVERY_S = 5.0
SMOKE_TRAFFIC = TrafficPlan(rate=20.0, first_burst_after=5.0, burst_every=600.0, burst_length=540.0)


class SmokeFailed(ObservabilityError):
    """A smoke check did not pass in time."""


def _demo_default(kind: SourceKind) -> Path:
    # The repo's alerts/ and dashboards/ by default, wherever the command is run from.
    return kind.default if kind.default.is_dir() else REPO / kind.default


@app.command()
def demo(
    smoke: Annotated[bool, typer.Option("--smoke", help="headless: exit 0 once every check passes, else 1")] = False,
    timeout: Annotated[
        float, typer.Option(callback=positive, help="smoke: seconds allowed for every check to pass")
    ] = 180.0,
    workdir: Annotated[Path, typer.Option(help="where the demo keeps its store, logs and configs")] = Path(".demo"),
    alerts: Annotated[
        Path | None, typer.Option(help="directory of Prometheus rule files (default: alerts/, else the project's)")
    ] = None,
    dashboards: Annotated[
        Path | None,
        typer.Option(help="directory of dashboard definitions (default: dashboards/, else the project's)"),
    ] = None,
    es_url: Annotated[
        str | None,
        typer.Option(
            envvar="ES_URL", callback=http_url, help="write logs to this Elasticsearch instead of the local store"
        ),
    ] = None,
) -> None:
    """Run the sample service, Kafka, the processor, Prometheus and Alertmanager locally; Ctrl-C stops all."""
    workdir = _workdir(workdir)
    stop = install_signal_handlers()
    # Without a terminal (`make demo | tee log`, CI) rich assumes 80 columns and wraps: print lines whole.
    console = Console(highlight=False, soft_wrap=True)
    sources = read_sources(
        source_dir(ALERTS, alerts, _demo_default(ALERTS)), source_dir(DASHBOARDS, dashboards, _demo_default(DASHBOARDS))
    )

    def progress(step: str, detail: str) -> None:
        stop.check()  # between start steps: a stop requested while starting takes effect here
        console.print(f"[green]✓[/green] [bold]{step:<12}[/bold] {detail}")

    options = DemoOptions(workdir=workdir, es_url=es_url, traffic=SMOKE_TRAFFIC if smoke else TrafficPlan())
    run = Demo(options, sources, progress)
    try:
        run.start()
        if smoke:
            _smoke(run, console, timeout, stop)
        else:
            _live(run, console, stop)
    except KeyboardInterrupt:
        console.line()
        console.print("stopping …")
    finally:
        run.stop()
        console.print(f"stopped every demo process; logs and configs are kept in {workdir}/")


def _workdir(given: Path) -> Path:
    """The demo's work directory as an absolute path (every child process gets absolute paths)."""
    path = given.expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ObservabilityError(
            f"--workdir {given}: exists and is not a directory",
            hint="give a directory the demo may fill (default: .demo in the current directory)",
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileError.from_os_error(e, given, doing="create it", flag="--workdir") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ObservabilityError(f"--workdir {given}: not writable", hint="give a writable directory")
    return path


def _live(run: Demo, console: Console, stop: StopRequest) -> None:
    if not console.is_terminal:
        _plain_status(run, console, stop)
        return
    with Live(summary_table(run.snapshot()), console=console, refresh_per_second=1, transient=False) as live:
        while True:
            stop.sleep(2)
            live.update(summary_table(run.snapshot()))


def _plain_status(run: Demo, console: Console, stop: StopRequest) -> None:
    """No terminal to redraw a table in: one plain status line every few seconds, then the links once."""
    snapshot = run.snapshot()
    for label, value in snapshot.urls:
        console.print(f"{label:<16} {value}")
    while True:
        console.print(status_line(run.snapshot()))
        stop.sleep(PLAIN_STATUS_EVERY_S)


def _smoke(run: Demo, console: Console, timeout: float, stop: StopRequest) -> None:
    deadline = run.started_at + timeout
    passed: set[str] = set()
    while True:
        snapshot = run.snapshot()
        if snapshot.problems:
            raise SmokeFailed(f"smoke: {snapshot.problems[0]}", hint=f"see the logs under {run.options.workdir}/")
        results = run.checks()
        for result in results:
            if result.ok and result.name not in passed:
                passed.add(result.name)
                console.print(f"[green]✓[/green] {result.name} after {time.monotonic() - run.started_at:.0f}s: "
                              f"{result.detail}")
        failing = [r for r in results if not r.ok]
        if not failing:
            for label, value in summary_rows(run.snapshot()):
                console.print(f"  {label:<16} {value}")
            console.print(f"smoke passed in {time.monotonic() - run.started_at:.0f}s")
            return
        if time.monotonic() > deadline:
            first = failing[0]
            raise SmokeFailed(
                f"smoke: step '{first.name}' did not pass within {timeout:.0f}s: {first.detail}"
                + "".join(f"\n  also failing: {r.name}: {r.detail}" for r in failing[1:]),
                hint=f"see the logs under {run.options.workdir}/ (processor/processor.log, prometheus/, ...)",
            )
        stop.sleep(5)
