"""`obs demo --workdir`: resolved once to an absolute directory, or a clear error before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.cli.demo_cmds import _workdir
from observability.errors import ObservabilityError


def test_a_relative_workdir_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _workdir(Path(".demo")) == tmp_path / ".demo"
    assert (tmp_path / ".demo").is_dir()


def test_a_file_is_not_a_workdir(tmp_path):
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0\n")
    with pytest.raises(ObservabilityError, match=r"--workdir .*passwd: exists and is not a directory"):
        _workdir(afile)


def test_a_workdir_under_a_file_cannot_be_created(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(ObservabilityError, match="cannot create it"):
        _workdir(afile / "demo")
