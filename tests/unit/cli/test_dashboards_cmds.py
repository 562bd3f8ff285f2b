"""`obs dashboards lint` through the real entry point: every problem of every file in one run, each as
`file:line: problem` with the path as the user gave it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def obs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "observability", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_lint_reports_every_problem_of_every_file_with_file_and_line(tmp_path):
    boards = tmp_path / "my boards"
    shutil.copytree(REPO / "dashboards", boards)
    fleet, service, slo = boards / "go-fleet.yaml", boards / "go-service.yaml", boards / "slo.yaml"
    # two definition errors in one file, one broken query in another, an unknown variable in a third
    edit(fleet, "    unit: reqps", "    unitt: reqps")
    edit(fleet, "title: ", "titel: ")
    expr = next(line for line in service.read_text().splitlines() if "- expr: " in line)
    edit(service, expr, expr.replace("- expr: ", "- expr: sum(rate(x[5m]) or ", 1))
    slo_expr = next(line for line in slo.read_text().splitlines() if "- expr: " in line)
    edit(slo, slo_expr, slo_expr.split("- expr: ")[0] + '- expr: up{x="$nosuch"}')

    result = obs("dashboards", "lint", "--dashboards", "my boards/", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert f"my boards/go-fleet.yaml:{line_of(fleet, 'unitt: reqps')} panels[" in "\n".join(lines)
    assert f"my boards/go-fleet.yaml:{line_of(fleet, 'titel: ')} titel: unknown key" in lines
    assert "my boards/go-fleet.yaml:1 title: required field is missing; add it" in lines
    assert any(
        line.startswith(f"my boards/go-service.yaml:{line_of(service, 'sum(rate(x[5m]) or')}: panel ")
        and "PromQL does not parse" in line
        for line in lines
    ), lines
    assert f"my boards/slo.yaml:{line_of(slo, '$nosuch')}: " in result.stdout
    assert "uses $nosuch, which is not a variable of this dashboard" in result.stdout
    assert str(tmp_path) not in result.stdout + result.stderr  # paths as given, not made absolute
    assert "ERROR: 5 problem(s) in 7 dashboard definition(s)" in result.stderr


def test_lint_of_the_repo_dashboards_is_clean():
    result = obs("dashboards", "lint", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("7 dashboards, ")
