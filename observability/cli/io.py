"""CLI helpers shared by command modules: reading the spec file and writing rendered files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from observability.errors import SpecError
from observability.render import Sources
from observability.spec import Stack, parse_stack


def read_spec(path: Path) -> Stack:
    """Read and validate a stack.yaml, turning file-system problems into SpecError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            [f"{path}: file not found; run `obs init --out {path}` to write a starter spec"], source=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([f"{path}: cannot read: {e}"], source=str(path)) from None
    return parse_stack(text, source=str(path))


def starter_spec_text() -> str:
    """The starter spec written by `obs init` (the same text as examples/stack.yaml)."""
    return resources.files("observability.spec").joinpath("starter.yaml").read_text(encoding="utf-8")


def read_sources(alerts_dir: Path, dashboards_dir: Path) -> Sources:
    """Read alerts/ and dashboards/ into memory; a missing directory means no sources of that kind."""
    return Sources(
        alerts=_read_dir(alerts_dir, (".yaml", ".yml")), dashboards=_read_dir(dashboards_dir, None)
    )


def _read_dir(directory: Path, suffixes: tuple[str, ...] | None) -> dict[str, str]:
    if not directory.is_dir():
        return {}
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and (suffixes is None or path.suffix in suffixes) and not path.name.startswith("."):
            found[str(path.relative_to(directory))] = path.read_text(encoding="utf-8")
    return found


def write_tree(out: Path, files: dict[str, str]) -> list[Path]:
    """Write files under out/, creating directories; returns the paths written."""
    written = []
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
