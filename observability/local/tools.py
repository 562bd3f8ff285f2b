"""Local I/O layer: run promtool and amtool on text and return their verdicts as values.

Each function writes its input into a temporary directory, runs the real tool and returns a `ToolResult`
(ok, combined output); a missing tool raises ToolMissingError. Callers (check, CLI, tests) decide what a
failure means. Each takes the program to run (`promtool=`, `amtool=`; default: the one on PATH), so the same
check runs on Debian's 2.42/0.25 and on the built real parts (observability/local/parts.py).

Compatibility with an older local Alertmanager: see local/compat.py; any substitution is listed in `notes`.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from observability.errors import ToolMissingError
from observability.local.compat import compat_alertmanager_config, tool_version
from observability.local.processes import ALERTMANAGER_BINARIES, find_binary

Program = str | Path | None
"""A program to run: a path, or None for the one found on PATH."""


def _program(given: Program, *names: str) -> str:
    return str(given) if given is not None else find_binary(*names)


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    output: str
    notes: tuple[str, ...] = field(default=())


def _run(argv: list[str], cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolMissingError(
            f"{argv[0]} is not installed", hint="install Debian's prometheus and prometheus-alertmanager packages"
        ) from None


def amtool_check_config(config_text: str, amtool: Program = None) -> ToolResult:
    """`amtool check-config` on the text (see the module docstring for the url_file compatibility)."""
    amtool = _program(amtool, "amtool")
    text, notes = compat_alertmanager_config(config_text, tool_version(amtool), inline=False)
    with tempfile.TemporaryDirectory(prefix="obs-amtool-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(text, encoding="utf-8")
        proc = _run([amtool, "check-config", str(path)], Path(tmp))
    return ToolResult(
        proc.returncode == 0, (proc.stdout + proc.stderr).replace(str(path), "alertmanager.yml"), tuple(notes)
    )


def amtool_routes_test(config_text: str, labels: dict[str, str], amtool: Program = None) -> list[str]:
    """Receivers `amtool config routes test` picks for one label set (no inhibition: amtool has none)."""
    amtool = _program(amtool, "amtool")
    text, _ = compat_alertmanager_config(config_text, tool_version(amtool), inline=False)
    with tempfile.TemporaryDirectory(prefix="obs-amtool-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(text, encoding="utf-8")
        pairs = [f"{k}={v}" for k, v in labels.items()]
        proc = _run([amtool, "config", "routes", "test", f"--config.file={path}", *pairs], Path(tmp))
    if proc.returncode not in (0, 1):
        raise ToolMissingError(f"amtool config routes test failed: {proc.stderr.strip()}")
    return [r.strip() for r in proc.stdout.strip().split(",") if r.strip()]


def promtool_check_rules(rule_files: dict[str, str], promtool: Program = None) -> ToolResult:
    """`promtool check rules` on name → YAML; output names the files by their given names."""
    promtool = _program(promtool, "promtool")
    with tempfile.TemporaryDirectory(prefix="obs-promtool-") as tmp:
        paths = []
        for i, (name, text) in enumerate(sorted(rule_files.items())):
            path = Path(tmp) / f"{i:04d}-{Path(name).name}"
            path.write_text(text, encoding="utf-8")
            paths.append((path, name))
        proc = _run([promtool, "check", "rules", "--lint=duplicate-rules", *(str(p) for p, _ in paths)], Path(tmp))
        output = proc.stdout + proc.stderr
        for path, name in paths:
            output = output.replace(str(path), name)
    return ToolResult(proc.returncode == 0, output)


def promtool_test_rules(test_files: list[Path], timeout: float = 120.0, promtool: Program = None) -> ToolResult:
    """`promtool test rules` on test files (their rule_files are relative to each test file)."""
    promtool = _program(promtool, "promtool")
    proc = _run([promtool, "test", "rules", *(str(p) for p in test_files)], Path.cwd(), timeout=timeout)
    return ToolResult(proc.returncode == 0, proc.stdout + proc.stderr)


def alertmanager_binary_version(alertmanager: Program = None) -> tuple[int, int]:
    return tool_version(_program(alertmanager, *ALERTMANAGER_BINARIES))


def alertmanager_local_config(config_text: str, alertmanager: Program = None) -> str:
    """The config as the local Alertmanager accepts it (local/compat.py; reads url files)."""
    return compat_alertmanager_config(config_text, alertmanager_binary_version(alertmanager), inline=True)[0]
