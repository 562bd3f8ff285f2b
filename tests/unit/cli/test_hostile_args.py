"""Every `obs` command, run through `main()` with hostile arguments, ends in a clean error — never a traceback.

The table names every command of the typer app; a command added without rows fails
`test_every_command_has_hostile_cases`. Each case must exit 1 with `ERROR: …` on stderr (or 2 with click's
usage error), mention the path/flag/URL it is about, show no library text, and not be the internal-error
net of `main()` (which would mean an exception nobody translated).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from observability.cli import INTERNAL_ERROR, _register, app, main

REPO = Path(__file__).resolve().parents[3]
SPEC = str(REPO / "examples" / "stack.yaml")
ALERTS = str(REPO / "alerts")
DASHBOARDS = str(REPO / "dashboards")
SOURCES = ["--alerts", ALERTS, "--dashboards", DASHBOARDS]
DEAD_URL = "http://127.0.0.1:1"  # port 1: nothing listens, the connection is refused at once
NO_SCHEME = "localhost:3000"

# Library text that must never reach a user (urllib3/requests reprs, raw errno tuples).
RAW_LIBRARY_TEXT = ("HTTPConnectionPool", "object at 0x", "No connection adapters", "Max retries exceeded", "[Errno")

# A kubeconfig in the format of client-go (tools/clientcmd/api/v1/types.go: Config, NamedCluster, …) whose
# API server is unreachable.
DEAD_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
"""

# Placeholders, filled per test in a temp dir: {file} a text file, {dir} a directory, {missing} nothing,
# {under_file} a path below a regular file (unwritable even for root), {binary} a PNG, {pngdir} a directory
# holding a PNG, {binyaml} a directory holding a binary *.yaml, {deadkube} DEAD_KUBECONFIG, {new} a fresh dir.
CLUSTER = [
    (["--spec", "{missing}"], "{missing}"),
    (["--spec", "{dir}"], "{dir}"),
    (["--spec", "{binary}"], "{binary}"),
    (["--spec", SPEC, *SOURCES], "$KUBECONFIG"),  # $KUBECONFIG names a file that does not exist
    (["--spec", SPEC, *SOURCES, "--kubeconfig", "{missing}"], "--kubeconfig {missing}"),
    (["--spec", SPEC, *SOURCES, "--kubeconfig", "{dir}"], "--kubeconfig {dir}"),
    (["--spec", SPEC, *SOURCES, "--kubeconfig", "{binary}"], "{binary}"),
    (["--spec", SPEC, *SOURCES, "--kubeconfig", "{file}"], "{file}"),
    (["--spec", SPEC, *SOURCES, "--kubeconfig", "{deadkube}"], "https://127.0.0.1:1"),
    (["--spec", SPEC, *SOURCES, "--kubeconfig", "{deadkube}", "--context", "nope"], "'nope'"),
    (["--spec", SPEC, "--alerts", ALERTS, "--dashboards", "{pngdir}"], "logo.png"),
]
TIMEOUTS = [
    (["--timeout", "0"], "--timeout"),
    (["--timeout", "-5"], "--timeout"),
    (["--timeout", "soon"], "--timeout"),
]
GRAFANA = [
    (["--url", NO_SCHEME], "http://localhost:3000"),
    (["--url", "ftp://grafana"], "--url"),
    (["--url", "http://"], "--url"),
    (["--url", "http://localhost:99999"], "--url"),
]

CASES: dict[tuple[str, ...], list[tuple[list[str], str]]] = {
    ("plan",): CLUSTER,
    ("apply",): CLUSTER + TIMEOUTS,
    ("status",): [*CLUSTER, (["--json", "--spec", SPEC, *SOURCES], "$KUBECONFIG")],
    ("destroy",): CLUSTER + TIMEOUTS,
    ("demo",): [
        (["--smoke", "--workdir", "{file}"], "--workdir {file}"),
        (["--smoke", "--workdir", "{under_file}"], "--workdir {under_file}"),
        (["--smoke", "--timeout", "0"], "--timeout"),
        (["--smoke", "--timeout", "-1"], "--timeout"),
        (["--smoke", "--es-url", "localhost:9200"], "http://localhost:9200"),
    ],
    ("process",): [
        (["--input", "{dir}"], "--input {dir}"),
        (["--input", "{missing}"], "--input {missing}"),
        (["--input", "{file}", "--config", "{dir}"], "{dir}"),
        (["--input", "{file}", "--config", "{missing}"], "{missing}"),
        (["--input", "{file}", "--config", "{binary}"], "{binary}"),
        (["--config", "{missing}"], "{missing}"),
    ],
    ("render",): [
        (["--spec", SPEC, *SOURCES, "--out", "{file}"], "--out {file}"),
        (["--spec", SPEC, *SOURCES, "--out", "{under_file}"], "{under_file}"),
        (["--spec", "{missing}"], "{missing}"),
        (["--spec", "{dir}"], "{dir}"),
        (["--spec", "{binary}"], "{binary}"),
        (["--spec", SPEC, "--kube-version", "banana", "--out", "{new}"], "banana"),
        (["--spec", SPEC, "--alerts", ALERTS, "--dashboards", "{pngdir}", "--out", "{new}"], "logo.png"),
        (["--spec", SPEC, "--alerts", "{binyaml}", "--dashboards", DASHBOARDS, "--out", "{new}"], "rules.yaml"),
    ],
    ("services", "detect"): [
        (["--spec", SPEC, "--prometheus-url", NO_SCHEME], "http://localhost:3000"),
        (["--spec", SPEC, "--prometheus-url", DEAD_URL], DEAD_URL),
        (["--spec", "{missing}", "--prometheus-url", DEAD_URL], "{missing}"),
    ],
    ("validate",): [
        (["--spec", SPEC, "--prometheus-url", NO_SCHEME], "http://localhost:3000"),
        (["--spec", SPEC, "--prometheus-url", DEAD_URL], DEAD_URL),
        (["--spec", "{missing}"], "{missing}"),
        (["--spec", "{dir}"], "{dir}"),
        (["--spec", "{binary}"], "{binary}"),
    ],
    ("init",): [
        (["--out", "{missing}/x.yaml"], "{missing}"),
        (["--out", "{dir}", "--force"], "--out {dir}"),
        (["--out", "{under_file}", "--force"], "{under_file}"),
        (["--out", "{file}"], "--force"),
    ],
    ("alerts", "lint"): [
        (["{missing}", "--no-promtool"], "{missing}"),
        (["{binyaml}", "--no-promtool"], "rules.yaml"),
        ([ALERTS, "--no-promtool", "--format", "xml"], "--format"),
        ([ALERTS, "--no-promtool", "--scrape-interval", "0s"], "--scrape-interval"),
        ([ALERTS, "--no-promtool", "--scrape-interval", "often"], "--scrape-interval"),
        ([ALERTS, "--no-promtool", "--spec", "{missing}"], "{missing}"),
    ],
    ("alerts", "test"): [
        (["--tests", "{missing}"], "{missing}"),
        (["--tests", "{file}"], "{file}"),
        (["--tests", "{binyaml}"], "rules.yaml"),
    ],
    ("alerts", "sync"): [
        (["--spec", "{missing}", "--rules-dir", "{new}"], "{missing}"),
        (["--spec", SPEC, "--alerts", ALERTS, "--cluster"], "$KUBECONFIG"),
        (["--spec", SPEC, "--alerts", ALERTS, "--cluster", "--kubeconfig", "{deadkube}"], "https://127.0.0.1:1"),
        (["--spec", SPEC, "--alerts", ALERTS, "--rules-dir", "{file}"], "{file}"),
        (["--spec", SPEC, "--alerts", ALERTS, "--rules-dir", "{under_file}"], "{under_file}"),
        (["--spec", SPEC, "--alerts", ALERTS, "--alertmanager-config", "{dir}"], "{dir}"),
        (["--spec", SPEC, "--alerts", ALERTS, "--rules-dir", "{new}", "--prometheus-url", NO_SCHEME], "http://"),
        (["--spec", SPEC, "--alerts", ALERTS, "--rules-dir", "{new}", "--prometheus-url", DEAD_URL], DEAD_URL),
        (["--spec", SPEC, "--alerts", "{binyaml}", "--rules-dir", "{new}"], "rules.yaml"),
    ],
    ("alerts", "verify"): [
        (["--prometheus-url", DEAD_URL], DEAD_URL),
        (["--prometheus-url", NO_SCHEME], "http://localhost:3000"),
        (["--prometheus-url", DEAD_URL, "--alertmanager-url", "localhost:9093"], "http://localhost:9093"),
    ],
    ("dashboards", "build"): [
        (["--dashboards", DASHBOARDS, "--out", "{file}"], "--out {file}"),
        (["--dashboards", DASHBOARDS, "--out", "{under_file}"], "{under_file}"),
        (["--dashboards", "{missing}"], "{missing}"),
        (["--dashboards", "{file}"], "{file}"),
        (["--dashboards", "{binyaml}"], "rules.yaml"),
    ],
    ("dashboards", "lint"): [
        (["--dashboards", "{missing}"], "{missing}"),
        (["--dashboards", "{file}"], "{file}"),
    ],
    ("dashboards", "sync"): [
        *GRAFANA,
        (["--url", DEAD_URL, "--dashboards", DASHBOARDS], DEAD_URL),
        (["--url", DEAD_URL, "--dashboards", "{missing}"], "{missing}"),
        (["--url", DEAD_URL, "--dashboards", DASHBOARDS, "--kibana-url", "localhost:5601"], "http://localhost:5601"),
        (["--url", DEAD_URL, "--dashboards", DASHBOARDS, "--spec", "{missing}"], "{missing}"),
    ],
    ("dashboards", "diff"): [*GRAFANA, (["--url", DEAD_URL, "--dashboards", DASHBOARDS], DEAD_URL)],
    ("dashboards", "export"): [
        (["some-uid", "--url", NO_SCHEME], "http://localhost:3000"),
        (["some-uid", "--url", DEAD_URL], DEAD_URL),
    ],
    ("logs", "search"): [
        (["--store", "{missing}"], "{missing}"),
        (["--store", "{dir}"], "{dir}"),
        (["--store", "{file}"], "{file}"),
        (["--es-url", NO_SCHEME], "http://localhost:3000"),
        (["--es-url", DEAD_URL], DEAD_URL),
        (["--limit", "0", "--store", "{missing}"], "--limit"),
        (["--limit", "-3", "--store", "{missing}"], "--limit"),
        (["--follow", "--interval", "0", "--store", "{missing}"], "--interval"),
        (["--level", "loud", "--store", "{missing}"], "--level"),
    ],
}


def _commands() -> set[tuple[str, ...]]:
    """Every leaf command of the app, as its words: ("alerts", "lint"), ("render",), ..."""
    _register()
    found: set[tuple[str, ...]] = set()

    def walk(command: object, words: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            found.add(words)
            return
        for name, child in children.items():
            walk(child, (*words, name))

    walk(typer.main.get_command(app), ())
    return found


def test_every_command_has_hostile_cases() -> None:
    commands = _commands()
    assert {("render",), ("alerts", "lint"), ("logs", "search")} <= commands, "the walk missed nested commands"
    assert sorted(commands - CASES.keys()) == [], "add rows for these commands to CASES"
    assert sorted(CASES.keys() - commands) == [], "these rows name commands that no longer exist"


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    work = tmp_path / "cwd"
    work.mkdir()
    afile = tmp_path / "notes.txt"
    afile.write_text("just text\n")
    adir = tmp_path / "adir"
    adir.mkdir()
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    binary = tmp_path / "logo.png"
    binary.write_bytes(png)
    pngdir = tmp_path / "dashboards"
    pngdir.mkdir()
    (pngdir / "logo.png").write_bytes(png)
    binyaml = tmp_path / "binyaml"
    binyaml.mkdir()
    (binyaml / "rules.yaml").write_bytes(png)
    deadkube = tmp_path / "kubeconfig"
    deadkube.write_text(DEAD_KUBECONFIG)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(work)  # defaults (stack.yaml, alerts/, .demo/logs.sqlite) point at nothing
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.setenv("COLUMNS", "400")  # click/rich usage errors: no wrapping inside the names we look for
    for name in ("GRAFANA_URL", "GRAFANA_TOKEN", "ES_URL", "KIBANA_URL", "OBS_PROCESSOR_CONFIG", "OBS_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return {
        "file": str(afile),
        "dir": str(adir),
        "missing": str(tmp_path / "missing"),
        "under_file": str(afile / "x"),
        "binary": str(binary),
        "pngdir": str(pngdir),
        "binyaml": str(binyaml),
        "deadkube": str(deadkube),
        "new": str(tmp_path / "new"),
    }


def run_obs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """main() in this process; an exception main() lets through fails the test with its traceback."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        pytest.param([*words, *args], mentions, id=" ".join([*words, *args]).replace(str(REPO), "REPO"))
        for words, rows in sorted(CASES.items())
        for args, mentions in rows
    ],
)
def test_hostile_arguments_give_a_clean_error(
    argv: list[str], mentions: str, places: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(**places) for a in argv]
    code, out, err = run_obs(argv, capsys)
    flat = re.sub(r"[│╭╮╰╯─\s]+", " ", err)
    assert "Traceback" not in out + err
    assert INTERNAL_ERROR not in err, err
    if code == 2:
        assert err.startswith("Usage: "), err
    else:
        assert code == 1, (code, out, err)
        # Warnings about what was skipped (a missing default alerts/) may come first; then the one error.
        first_error = next((n for n, line in enumerate(err.splitlines()) if not line.startswith("warning: ")), 0)
        assert err.splitlines()[first_error].startswith("ERROR: "), err
    assert mentions.format(**places) in flat, err
    assert not [raw for raw in RAW_LIBRARY_TEXT if raw in err], err


def test_an_untranslated_exception_is_an_internal_error_without_traceback(
    places: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from observability.cli import spec_cmds

    def broken(path: Path) -> None:
        raise KeyError("planted")

    monkeypatch.setattr(spec_cmds, "read_spec", broken)
    code, _, err = run_obs(["validate"], capsys)
    assert code == 1 and err.startswith(f"{INTERNAL_ERROR}KeyError: 'planted'")
    assert "OBS_DEBUG=1" in err and "Traceback" not in err
    monkeypatch.setenv("OBS_DEBUG", "1")
    code, _, err = run_obs(["validate"], capsys)
    assert code == 1 and "Traceback" in err and INTERNAL_ERROR in err
