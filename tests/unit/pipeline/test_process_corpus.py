"""Unit tests: the public corpus of real Go log lines (corpus/*.toml, sources in each entry) through the processor.

Each line is wrapped in a Filebeat event (tests/doubles/filebeat_events.py), run through the whole per-event
path (`Transformer`: decode → parse → enrich → encode) and the stored document is compared with the line's
expected ECS fields. The pass rate over the corpus must stay at or above 97 %; every family is reported.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from observability.pipeline.sink import Position
from observability.pipeline.transform import STORE, Transformer, default_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from filebeat_events import event_bytes

CORPUS = Path(__file__).parent / "corpus"
REQUIRED_PASS_RATE = 0.97
_MISSING = object()


def load_corpus() -> list[tuple[str, dict[str, Any]]]:
    lines = []
    for path in sorted(CORPUS.glob("*.toml")):
        for entry in tomllib.loads(path.read_text())["line"]:
            lines.append((path.stem, entry))
    return lines


def stored_document(entry: dict[str, Any]) -> dict[str, Any]:
    transformer = Transformer(default_settings(), max_bytes=1_000_000)
    raw = event_bytes(entry["text"], stream=entry.get("stream", "stdout"))
    if "event_timestamp" in entry:
        event = orjson.loads(raw)
        event["@timestamp"] = entry["event_timestamp"]
        raw = orjson.dumps(event)
    outcome = transformer(raw, Position("logs", 0, 1))
    assert outcome.kind == STORE and outcome.item is not None, f"not stored: {outcome.reason} {outcome.detail}"
    doc: dict[str, Any] = orjson.loads(outcome.item.source)
    return doc


def field(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; keys may themselves hold dots (go.fields keeps the line's own keys)."""
    value: Any = doc
    rest = path
    while rest:
        if not isinstance(value, dict):
            return _MISSING
        # Longest key first: "go.fields.req.method" is go → fields → "req.method".
        for key in sorted((k for k in value if rest == k or rest.startswith(k + ".")), key=len, reverse=True):
            value, rest = value[key], rest[len(key) + 1 :]
            break
        else:
            return _MISSING
    return value


def mismatches(entry: dict[str, Any]) -> list[str]:
    doc = stored_document(entry)
    wrong = []
    for path, want in entry["expect"].items():
        got = field(doc, path)
        if got != want:
            wrong.append(f"{path}: want {want!r}, got {'(missing)' if got is _MISSING else repr(got)}")
    return wrong


CORPUS_LINES = load_corpus()


def test_corpus_is_large_and_every_line_names_its_source() -> None:
    assert len(CORPUS_LINES) >= 150
    families = Counter(family for family, _ in CORPUS_LINES)
    assert set(families) >= {"zap", "slog", "logrus", "zerolog", "klog", "stdlib", "gin", "panic", "wrappers"}
    for family, entry in CORPUS_LINES:
        assert entry.get("source", "").strip(), f"{family}: a line without its public source: {entry['text'][:80]}"
        assert entry.get("expect"), f"{family}: a line without expected fields: {entry['text'][:80]}"
        assert "go.format" in entry["expect"] or "message" in entry["expect"], entry["text"][:80]


def test_corpus_pass_rate(capsys: pytest.CaptureFixture[str]) -> None:
    failures: dict[str, list[str]] = {}
    per_family: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for family, entry in CORPUS_LINES:
        per_family[family] += 1
        wrong = mismatches(entry)
        if wrong:
            failures.setdefault(family, []).append(f"{entry['text'][:100]!r}\n      " + "\n      ".join(wrong))
        else:
            passed[family] += 1
    total, ok = sum(per_family.values()), sum(passed.values())
    report = [f"corpus: {ok}/{total} lines right ({ok / total:.1%})"]
    report += [f"  {family}: {passed[family]}/{count}" for family, count in sorted(per_family.items())]
    for family, lines in sorted(failures.items()):
        report += [f"  FAIL {family}: {line}" for line in lines]
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert ok / total >= REQUIRED_PASS_RATE, "\n".join(report)


@pytest.mark.parametrize("family", sorted({family for family, _ in CORPUS_LINES}))
def test_every_family_is_mostly_right(family: str) -> None:
    entries = [entry for fam, entry in CORPUS_LINES if fam == family]
    right = sum(1 for entry in entries if not mismatches(entry))
    assert right / len(entries) >= 0.9, f"{family}: {right}/{len(entries)}"
