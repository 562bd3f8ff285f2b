"""CLI helpers shared by command modules: reading the spec and other files, writing rendered files.

Every file-system failure becomes a FileError (or SpecError) naming the path, the flag and the fix.
The sources in alerts/ and dashboards/ are read by cli/sources.py.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from observability.errors import FileError, SpecError
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
        raise FileError.from_os_error(e, path, doing="read the stack spec", flag="--spec") from None
    return parse_stack(text, source=str(path))


def starter_spec_text() -> str:
    """The starter spec written by `obs init` (the same text as examples/stack.yaml)."""
    return resources.files("observability.spec").joinpath("starter.yaml").read_text(encoding="utf-8")


def read_text(path: Path, doing: str, flag: str | None = None) -> str:
    """A UTF-8 text file; FileError saying "<path>: cannot <doing>: <why>" (binary file, directory, ...)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FileError.from_os_error(e, path, doing=doing, flag=flag) from None


def write_text(path: Path, text: str, doing: str, flag: str) -> None:
    """Write one file the user named with `flag`; FileError when its directory is missing, it is a directory, ..."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise FileError.from_os_error(e, path, doing=doing, flag=flag) from None


def write_tree(out: Path, files: dict[str, str], flag: str = "--out") -> list[Path]:
    """Write files under out/ (given with `flag`), creating directories; returns the paths written."""
    if out.exists() and not out.is_dir():
        raise FileError(f"{flag} {out}: is a file; give a directory to write into (it is created if missing)")
    written = []
    for rel, text in files.items():
        target = out / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            raise FileError.from_os_error(e, target, doing=f"write into {flag} {out}") from None
        written.append(target)
    return written
