"""Demo layer (PURE): the live summary the demo prints — a snapshot value and its formatting.

`DemoSnapshot` is filled by the demo loop from its components (shipper, processor metrics, Prometheus,
Alertmanager, webhook, traffic); `summary_rows` turns it into labelled lines and `summary_table` into the
rich table shown (and refreshed) in the terminal. No I/O here, so the formatting is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class DemoSnapshot:
    uptime_s: float
    lines_read: int
    events_shipped: int
    ship_failures: int
    events_consumed: int | None
    """From the processor's metrics; None while they cannot be read."""
    events_indexed: int | None
    events_dead_lettered: int | None
    requests_sent: int
    requests_5xx: int
    burst: bool
    alerts_prometheus: tuple[str, ...]
    """Alert names firing in Prometheus."""
    alerts_alertmanager: tuple[str, ...]
    alerts_webhook: tuple[str, ...]
    """Alert names the local webhook receiver got notified about."""
    sink: str
    """'embedded store .demo/logs.sqlite' or 'Elasticsearch <url>'."""
    urls: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = field(default=())
    shipper: str = ""
    """What ships the logs: 'real Filebeat <version>' or 'Filebeat stand-in' ('' = not started)."""


def _count(value: int | None) -> str:
    return "…" if value is None else f"{value:,}"


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(sorted(names)) if names else "none"


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def summary_rows(s: DemoSnapshot) -> list[tuple[str, str]]:
    """(label, value) lines of the summary, in display order."""
    rows = [
        ("running for", _uptime(s.uptime_s)),
        ("traffic", f"{s.requests_sent:,} requests, {s.requests_5xx:,} × 5xx"
                    + ("  [error burst]" if s.burst else "")),
        ("shipped", f"{s.events_shipped:,} of {s.lines_read:,} log lines to Kafka"
                    + (f" ({s.ship_failures:,} failed)" if s.ship_failures else "")),
        *([("log shipper", s.shipper)] if s.shipper else []),
        ("processed", f"{_count(s.events_consumed)} consumed, {_count(s.events_indexed)} indexed"
                      + (f", {s.events_dead_lettered:,} dead-lettered" if s.events_dead_lettered else "")),
        ("log store", s.sink),
        ("alerts firing", _names(s.alerts_prometheus)),
        ("in Alertmanager", _names(s.alerts_alertmanager)),
        ("webhook got", _names(s.alerts_webhook)),
    ]
    rows += list(s.urls)
    rows += [("problem", p) for p in s.problems]
    return rows


def status_line(s: DemoSnapshot) -> str:
    """The summary as one plain line, for output that is not a terminal (a log file, CI)."""
    keep = ("running for", "traffic", "shipped", "processed", "alerts firing", "webhook got", "problem")
    return "; ".join(f"{label} {value}" for label, value in summary_rows(s) if label in keep)


def summary_table(s: DemoSnapshot) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, title="obs demo", title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in summary_rows(s):
        style = "red" if label == "problem" else "yellow" if "burst" in value else ""
        table.add_row(label, Text(value, style=style))
    table.add_row("", Text("Ctrl-C stops everything", style="dim"))
    return table
