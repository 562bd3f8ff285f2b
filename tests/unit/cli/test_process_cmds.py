"""`obs process` offline mode (`--input FILE --output FILE`) through the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from filebeat_events import LINES, event_bytes


def obs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "observability", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def write_events(path: Path) -> None:
    path.write_bytes(b"".join(event_bytes(LINES[k]) + b"\n" for k in ("zap_json", "logrus_text")))


def test_output_file_gets_the_documents_stdout_would(tmp_path):
    write_events(tmp_path / "events.jsonl")
    to_stdout = obs("process", "--input", "events.jsonl", cwd=tmp_path)
    assert to_stdout.returncode == 0, to_stdout.stderr
    to_file = obs("process", "--input", "events.jsonl", "--output", "docs.jsonl", cwd=tmp_path)
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout == ""
    assert "2 documents written to docs.jsonl" in to_file.stderr
    written = (tmp_path / "docs.jsonl").read_text()
    assert written == to_stdout.stdout
    assert [orjson.loads(line)["message"] for line in written.splitlines()] == ["request handled", "payment declined"]


def test_output_errors_name_the_flag_and_keep_the_input(tmp_path):
    write_events(tmp_path / "events.jsonl")
    before = (tmp_path / "events.jsonl").read_bytes()
    same = obs("process", "--input", "events.jsonl", "--output", "./events.jsonl", cwd=tmp_path)
    assert same.returncode == 1
    assert "ERROR: --output ./events.jsonl: is the --input file" in same.stderr
    assert (tmp_path / "events.jsonl").read_bytes() == before
    nowhere = obs("process", "--input", "events.jsonl", "--output", "no/such/dir/docs.jsonl", cwd=tmp_path)
    assert nowhere.returncode == 1
    assert "ERROR: --output no/such/dir/docs.jsonl: cannot write it: No such file or directory" in nowhere.stderr
    missing = obs("process", "--input", "missing.jsonl", "--output", "docs.jsonl", cwd=tmp_path)
    assert missing.returncode == 1
    assert "ERROR: --input missing.jsonl: cannot read the events: no such file or directory" in missing.stderr
    assert not (tmp_path / "docs.jsonl").exists()  # no empty output left behind
    for result in (same, nowhere, missing):
        assert "Traceback" not in result.stderr
