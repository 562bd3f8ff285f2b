"""`obs init` / `obs validate` / `obs render` through the real entry point, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def obs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "observability", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_init_then_validate(tmp_path):
    spec = tmp_path / "stack.yaml"
    assert obs("init", "--out", str(spec)).returncode == 0
    result = obs("validate", "--spec", str(spec))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_init_refuses_to_overwrite(tmp_path):
    spec = tmp_path / "stack.yaml"
    spec.write_text("keep me")
    result = obs("init", "--out", str(spec))
    assert result.returncode == 1
    assert spec.read_text() == "keep me"


def test_invalid_spec_exits_1_with_message_and_no_traceback(tmp_path):
    spec = tmp_path / "stack.yaml"
    spec.write_text("cluster:\n  name: dev\nlogging:\n  kafka:\n    partitions: 0\n")
    result = obs("validate", "--spec", str(spec))
    assert result.returncode == 1
    assert f"{spec}:5 logging.kafka.partitions: must be ≥ 1, got 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_spec_file_says_how_to_create_one(tmp_path):
    result = obs("validate", "--spec", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "obs init" in result.stderr and "Traceback" not in result.stderr
