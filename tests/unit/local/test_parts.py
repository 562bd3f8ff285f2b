"""parts.build for a script part: the `step: ` lines a build prints are said, the rest only logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.errors import ToolMissingError
from observability.local import parts


def script_part(tmp_path: Path, body: str) -> parts.Part:
    source = tmp_path / "recipe"
    source.mkdir()
    (source / "build.sh").write_text(f"set -e\n{body}\n", encoding="utf-8")
    return parts.Part(name="demo", version="1.0", kind="script", source=source, binaries={"demo": ""})


def test_step_lines_are_said_and_everything_is_logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_PARTS_HOME", str(tmp_path / "cache"))
    part = script_part(
        tmp_path, 'echo "step: fetch the source"\necho compiler noise\necho "step: link"\ntouch "$1/bin/demo"'
    )
    said: list[str] = []
    assert parts.build(part, say=said.append) == part.home / "bin" / "demo"
    assert said[1:] == ["  demo: fetch the source", "  demo: link"]
    assert part.built()
    log = (part.home.parent / f"{part.key}.log").read_text()
    assert "compiler noise" in log and "step: link" in log


def test_a_failing_build_names_its_log_and_leaves_nothing_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_PARTS_HOME", str(tmp_path / "cache"))
    part = script_part(tmp_path, 'echo "step: compile"\necho "undefined: reflect2.Type" >&2\nexit 3')
    with pytest.raises(ToolMissingError) as failed:
        parts.build(part)
    assert "failed (exit 3)" in str(failed.value) and "undefined: reflect2.Type" in str(failed.value)
    assert not part.built()
