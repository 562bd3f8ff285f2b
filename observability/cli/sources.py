"""CLI layer: the one reader of the hand-written sources in alerts/ and dashboards/.

Every command that reads them (render, plan/apply/status/destroy, alerts lint|test|sync, dashboards …, demo)
goes through here, so they agree on what is read and on what is said about what is not:

- a directory the user named (`--alerts DIR`) must exist and be a directory: else an error naming flag and path;
- a default directory that does not exist is a warning saying what is left out and which flag points elsewhere
  (a spec kept outside this repository would otherwise render without its alerts and dashboards, silently);
- only *.yaml / *.yml files are sources; another text file (a README.md) is skipped with a warning, hidden
  files (.gitkeep, editor swap files) silently; a binary file (a PNG dropped there) is an error naming it,
  since it is surely misplaced and a render that goes on would hide that;
- a source that cannot be read or is not UTF-8 text is an error naming the file.

Paths in messages are the paths as the user gave them, never made absolute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from observability.errors import ObservabilityError
from observability.render import Sources
from observability.render.dashboards import DEFINITION_SUFFIXES

RULE_SUFFIXES = (".yaml", ".yml")
ALERTS_OPTION = typer.Option(None, "--alerts", help="directory of Prometheus rule files (default: alerts/)")
DASHBOARDS_OPTION = typer.Option(None, "--dashboards", help="directory of dashboard definitions (default: dashboards/)")


@dataclass(frozen=True)
class SourceKind:
    """What one kind of source directory holds and what is lost without it."""

    flag: str
    default: Path
    holds: str
    """What the files are, e.g. 'Prometheus rule files'."""
    suffixes: tuple[str, ...]
    left_out: str
    """What a missing default directory leaves out, e.g. 'no hand-written alert rules are included'."""


ALERTS = SourceKind(
    "--alerts",
    Path("alerts"),
    "Prometheus rule files",
    RULE_SUFFIXES,
    "no hand-written alert rules are included (only rules generated from the spec's SLOs)",
)
DASHBOARDS = SourceKind(
    "--dashboards",
    Path("dashboards"),
    "dashboard definitions",
    DEFINITION_SUFFIXES,
    "no dashboards are included",
)


@dataclass(frozen=True)
class SourceDir:
    """A source directory and whether the user named it (then it must exist) or it is the default."""

    kind: SourceKind
    path: Path
    explicit: bool

    @property
    def shown(self) -> str:
        """The directory as the user gave it, for `<shown>/<name>` in messages."""
        return str(self.path).rstrip("/") or "/"


def source_dir(kind: SourceKind, given: Path | None, default: Path | None = None) -> SourceDir:
    """The directory to read: the one given on the command line, else `default`, else the kind's default."""
    if given is not None:
        return SourceDir(kind, given, explicit=True)
    return SourceDir(kind, default if default is not None else kind.default, explicit=False)


def read_source_dir(where: SourceDir, *, required: bool = False) -> dict[str, str]:
    """The sources in a directory as text, by path relative to it (see the module docstring for the rules).

    `required`: a missing default directory is an error too (commands that only work on that directory).
    """
    path = where.path
    if not path.is_dir():
        problem = "is a file, not a directory" if path.exists() else "no such directory"
        fix = f"pass {where.kind.flag} DIR with your {where.kind.holds}"
        if where.explicit:
            raise ObservabilityError(f"{where.kind.flag} {where.shown}: {problem}", hint=fix)
        if required or path.exists():
            raise ObservabilityError(f"{where.shown}/: {problem} here", hint=fix)
        warn(f"{where.shown}/ not found here, so {where.kind.left_out}; {fix}")
        return {}
    found: dict[str, str] = {}
    try:
        files = sorted(path.rglob("*"))
    except OSError as e:
        raise ObservabilityError(f"{where.shown}/: cannot list it: {e.strerror}") from None
    for file in files:
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts) or file.is_dir():
            continue
        shown = f"{where.shown}/{rel.as_posix()}"
        if file.suffix not in where.kind.suffixes:
            patterns = ", ".join("*" + s for s in where.kind.suffixes)
            if _is_binary(file):
                raise ObservabilityError(
                    f"{shown}: a binary file among the {where.kind.holds} ({patterns})",
                    hint=f"move it out of {where.shown}/ (images belong elsewhere, e.g. docs/)",
                )
            warn(f"{shown}: skipped, not one of the {where.kind.holds} ({patterns})")
            continue
        found[rel.as_posix()] = read_text_source(file, shown)
    return found


def _is_binary(file: Path) -> bool:
    """A NUL byte or invalid UTF-8 in the first 8 KiB (the test git and grep use), or unreadable."""
    try:
        with file.open("rb") as f:
            head = f.read(8192)
    except OSError:
        return False  # reported when read, if it ever is
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(head) - 3  # not only a character cut at the 8 KiB boundary
    return False


def read_text_source(file: Path, shown: str) -> str:
    """One source file as text; an error naming the file when it cannot be read or is not UTF-8."""
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ObservabilityError(
            f"{shown}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})",
            hint="a source is a YAML text file; move other files out of the directory",
        ) from None
    except OSError as e:
        raise ObservabilityError(f"{shown}: cannot read it: {e.strerror}") from None


def read_sources(alerts: SourceDir, dashboards: SourceDir) -> Sources:
    """alerts/ and dashboards/ for rendering the whole stack."""
    return Sources(
        alerts=read_source_dir(alerts),
        dashboards=read_source_dir(dashboards),
        alerts_dir=alerts.shown,
        dashboards_dir=dashboards.shown,
    )


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)
