"""alerts/ and dashboards/ as every command reads them (cli/sources.py), through the real entry point:
a missing default directory is a warning naming the flag, a missing given one an error, other files are
skipped with a warning, unreadable sources are errors naming the file — never silence, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = str(REPO / "examples" / "stack.yaml")
# A PNG's first bytes (the PNG signature and the IHDR chunk header, from the PNG specification §5.2 and §11.2.2).
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def obs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run obs; one that does not stop by itself (a demo that started after all) gets SIGTERM, so that it stops
    every process it started before the test fails, instead of being killed and leaving them running."""
    proc = subprocess.Popen([sys.executable, "-m", "observability", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, err = proc.communicate(timeout=120)
        pytest.fail(f"obs {' '.join(args)} did not stop by itself:\n{out}\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def test_a_spec_outside_the_repo_renders_and_says_what_it_left_out(tmp_path):
    assert obs("init", cwd=tmp_path).returncode == 0
    result = obs("render", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: alerts/ not found here, so no hand-written alert rules are included" in result.stderr
    assert "pass --alerts DIR" in result.stderr
    assert "warning: dashboards/ not found here, so no dashboards are included" in result.stderr
    assert "pass --dashboards DIR" in result.stderr
    # pointing at the repo's directories renders them, without the warnings
    pointed = obs("render", "--alerts", str(REPO / "alerts"), "--dashboards", str(REPO / "dashboards"), cwd=tmp_path)
    assert pointed.returncode == 0, pointed.stderr
    assert "warning" not in pointed.stderr
    assert (tmp_path / "build" / "prometheus" / "rules" / "go-services.yaml").is_file()
    assert (tmp_path / "build" / "grafana" / "dashboards" / "obs-go-service.json").is_file()


# Every command that reads alerts/ or dashboards/: a directory the user names must exist.
READERS = [
    ("render", "--spec", EXAMPLE),
    ("plan", "--spec", EXAMPLE),
    ("apply", "--spec", EXAMPLE),
    ("status", "--spec", EXAMPLE),
    ("destroy", "--spec", EXAMPLE),
    ("demo", "--smoke"),
]
ALERT_READERS = [
    ("alerts", "sync", "--spec", EXAMPLE, "--dry-run", "--rules-dir", "rules"),
    ("alerts", "test", "--tests", str(REPO / "tests" / "alerts")),
]
DASHBOARD_READERS = [
    ("dashboards", "build"),
    ("dashboards", "lint"),
    ("dashboards", "sync", "--url", "http://127.0.0.1:9"),
    ("dashboards", "diff", "--url", "http://127.0.0.1:9"),
]


@pytest.mark.parametrize("command", [*READERS, *ALERT_READERS], ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_given_alerts_directory_must_exist(tmp_path, command, kind):
    given = "nowhere/alerts" if kind == "missing" else "stack.yaml"
    (tmp_path / "stack.yaml").write_text("cluster: {name: dev}\n")
    extra = ("--workdir", str(tmp_path / "w")) if command[0] == "demo" else ()
    result = obs(*command, "--alerts", given, *extra, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    problem = "no such directory" if kind == "missing" else "is a file, not a directory"
    assert f"ERROR: --alerts {given}: {problem}" in result.stderr
    clean(result)


@pytest.mark.parametrize("command", [*READERS, *DASHBOARD_READERS], ids=lambda c: " ".join(c[:2]))
def test_a_given_dashboards_directory_must_exist(tmp_path, command):
    extra = ("--workdir", str(tmp_path / "w")) if command[0] == "demo" else ()
    result = obs(*command, "--dashboards", "nowhere/dashboards", *extra, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ERROR: --dashboards nowhere/dashboards: no such directory" in result.stderr
    clean(result)


def test_dashboard_commands_need_their_directory(tmp_path):
    result = obs("dashboards", "lint", cwd=tmp_path)
    assert result.returncode == 1
    assert "ERROR: dashboards/: no such directory here" in result.stderr and "pass --dashboards DIR" in result.stderr
    clean(result)


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards")
    shutil.copytree(REPO / "alerts", tmp_path / "alerts")
    shutil.copy(EXAMPLE, tmp_path / "stack.yaml")
    return tmp_path


def test_other_text_files_are_skipped_with_a_warning(project):
    (project / "dashboards" / "README.md").write_text("# our dashboards\n")
    (project / "dashboards" / ".gitkeep").write_text("")
    (project / "alerts" / "notes.txt").write_text("todo\n")
    for command in (("render",), ("dashboards", "build"), ("dashboards", "lint")):
        result = obs(*command, cwd=project)
        assert result.returncode == 0, result.stderr
        assert "warning: dashboards/README.md: skipped, not one of the dashboard definitions (*.yaml, *.yml)" \
            in result.stderr
        assert ".gitkeep" not in result.stderr
        clean(result)
    rendered = obs("render", cwd=project)
    assert "warning: alerts/notes.txt: skipped, not one of the Prometheus rule files" in rendered.stderr
    assert len(list((project / "build" / "grafana" / "dashboards").glob("*.json"))) == 7


@pytest.mark.parametrize("command", [("render",), ("plan",), ("dashboards", "lint"), ("dashboards", "build")])
def test_a_png_dropped_among_the_definitions_is_an_error_naming_it(project, command):
    (project / "dashboards" / "screenshot.png").write_bytes(PNG)
    result = obs(*command, cwd=project)
    assert result.returncode == 1, result.stderr
    assert "ERROR: dashboards/screenshot.png: a binary file among the dashboard definitions" in result.stderr
    assert "move it out of dashboards/" in result.stderr
    clean(result)


@pytest.mark.parametrize("command", [("render",), ("dashboards", "lint"), ("dashboards", "build")])
def test_a_binary_file_named_like_a_definition_is_an_error_naming_it(project, command):
    (project / "dashboards" / "broken.yaml").write_bytes(PNG)
    result = obs(*command, cwd=project)
    assert result.returncode == 1
    assert "ERROR: dashboards/broken.yaml: not UTF-8 text (byte 0x89 at offset 0)" in result.stderr
    clean(result)


def test_a_binary_rule_file_is_an_error_naming_it(project):
    (project / "alerts" / "broken.yml").write_bytes(PNG)
    for command in (("render",), ("alerts", "lint", "--no-promtool")):
        result = obs(*command, cwd=project)
        assert result.returncode == 1
        assert "ERROR: alerts/broken.yml: not UTF-8 text" in result.stderr
        clean(result)


def test_messages_use_the_directory_as_given(project):
    (project / "dashboards" / "go-fleet.yaml").write_text(
        (project / "dashboards" / "go-fleet.yaml").read_text().replace("title:", "titel:", 1)
    )
    (project / "alerts" / "go-services.yaml").write_text("groups: [\n")
    nested = project / "sub"
    nested.mkdir()
    result = obs("render", "--spec", "../stack.yaml", "--alerts", "../alerts", cwd=nested)
    assert result.returncode == 1
    assert "../alerts/go-services.yaml:2" in result.stderr, result.stderr
    (project / "alerts" / "go-services.yaml").write_text((REPO / "alerts" / "go-services.yaml").read_text())
    result = obs("render", "--spec", "../stack.yaml", "--alerts", "../alerts", "--dashboards", "../dashboards",
                 cwd=nested)
    assert result.returncode == 1
    assert "../dashboards/go-fleet.yaml:4 titel: unknown key" in result.stderr, result.stderr
    assert "../dashboards/go-fleet.yaml:1 title: required field is missing; add it" in result.stderr
    clean(result)


def test_alerts_lint_without_alerts_directory(tmp_path):
    nothing = obs("alerts", "lint", "--no-promtool", cwd=tmp_path)
    assert nothing.returncode == 1
    assert "ERROR: alerts/: no such directory here, so there is nothing to lint" in nothing.stderr
    shutil.copy(EXAMPLE, tmp_path / "stack.yaml")
    generated = obs("alerts", "lint", "--no-promtool", "--spec", "stack.yaml", cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert "warning: alerts/ not found here, so only the SLO rules generated from the spec are linted" \
        in generated.stderr
    assert "3 file(s): 0 error(s)" in generated.stdout  # the service, SLO and target rules
    missing = obs("alerts", "lint", "--no-promtool", "nowhere.yaml", cwd=tmp_path)
    assert missing.returncode == 1 and "ERROR: nowhere.yaml: no such file or directory" in missing.stderr
    for result in (nothing, generated, missing):
        clean(result)
