"""CLI helpers shared by command modules: reading the spec file and writing rendered files.

The sources in alerts/ and dashboards/ are read by cli/sources.py."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from observability.errors import SpecError
from observability.spec import Stack, parse_stack

EXIT_DIFFERENCES = 2
"""`--exit-code` of every diff-like command (plan, dashboards diff, alerts sync): exit 2 when something differs.
As with `terraform plan -detailed-exitcode`, 1 stays "the command failed", so CI can tell the two apart."""
EXIT_CODE_HELP = f"exit {EXIT_DIFFERENCES} when anything differs (1 means the command failed), for CI"


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


def write_tree(out: Path, files: dict[str, str]) -> list[Path]:
    """Write files under out/, creating directories; returns the paths written."""
    written = []
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
