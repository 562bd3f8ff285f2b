"""`make mutants`: plant each deliberate bug of MUTANTS in a copy of the delivery code, run the tests that
claim to guard against it, and fail unless every mutant is caught (its tests fail).

A reliability test that still passes with the bug planted guards nothing. Each mutant is applied to a
temporary copy of the project (never to this checkout), so an interrupted run leaves nothing behind.
An `old` text that no longer occurs exactly once means the code moved on: the list must be updated,
which is reported as an error rather than as a caught mutant.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    """pytest node ids (relative to the project root) that must fail with the bug planted."""


MUTANTS = (
    Mutant(
        "a dead letter counts as handled when it is sent, not when Kafka acknowledged it",
        "observability/pipeline/source.py",
        "        self.outstanding += 1\n        try:",
        "        self.outstanding += 1\n        self._on_done(position)\n        try:",
        ("tests/integration/pipeline/test_process_delivery.py::"
         "test_no_commit_passes_a_dead_letter_kafka_has_not_acknowledged",),
    ),
    Mutant(
        "a revoke does not flush what is held for the revoked partitions before committing",
        "observability/pipeline/runner.py",
        "        while any(self.tracker.in_flight_of(k) for k in keys) and time.monotonic() < deadline:",
        "        while False:",
        ("tests/integration/kafka/test_consumer_group.py",),
    ),
    Mutant(
        "no in-flight cap: consumption goes on while nothing can be confirmed",
        "observability/pipeline/runner.py",
        "        should_pause = self.tracker.in_flight >= self.max_in_flight or",
        "        should_pause = False or",
        ("tests/integration/pipeline/test_process_delivery.py::"
         "test_consumption_stops_at_max_in_flight_while_every_item_is_refused",),
    ),
    Mutant(
        "the committed offset passes events the sink has not confirmed",
        "observability/pipeline/source.py",
        "        while pending and pending[0] in done:",
        "        while pending:",
        ("tests/integration/pipeline/test_process_reliability.py::"
         "test_elasticsearch_outage_pauses_and_loses_nothing",),
    ),
    Mutant(
        "an item Elasticsearch refused for good (a mapping error) counts as stored",
        "observability/pipeline/sink_elasticsearch.py",
        "            elif 200 <= code < 300 or code == 409:",
        "            elif 200 <= code < 500:",
        ("tests/integration/pipeline/test_process_reliability.py::"
         "test_malformed_input_goes_to_the_dead_letter_topic",),
    ),
    Mutant(
        "an item answered 429 or 5xx counts as stored instead of being retried",
        "observability/pipeline/sink_elasticsearch.py",
        "                retry.append(pending)\n",
        "                result.confirmed.append(pending.item)\n",
        ("tests/integration/pipeline/test_process_reliability.py::"
         "test_random_429_503_and_resets_store_every_event_exactly_once",),
    ),
    Mutant(
        "a request refused as a whole (413) is retried forever instead of bisected",
        "observability/pipeline/sink_elasticsearch.py",
        "BISECTED_STATUSES = frozenset({400, 411, 413, 414, 415, 422, 431})",
        "BISECTED_STATUSES: frozenset[int] = frozenset()",
        ("tests/unit/pipeline/test_process_sink_refusals.py",),
    ),
)


def _copy_project(into: Path) -> None:
    for name in ("observability", "tests", "bench", "tools", "alerts", "dashboards", "examples", "filebeat"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, into / name, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    shutil.copy2(REPO / "pyproject.toml", into / "pyproject.toml")
    # Tests start `.venv/bin/obs` as a subprocess; PYTHONPATH makes it import the mutated copy.
    (into / ".venv").symlink_to(REPO / ".venv")


def _check_imports_the_copy(copy: Path) -> None:
    # The project is installed in editable mode: without PYTHONPATH the tests would import this checkout.
    env = {**os.environ, "PYTHONPATH": str(copy)}
    probe = "import observability, sys; sys.stdout.write(observability.__file__)"
    found = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", probe], cwd=copy, env=env,
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    if not Path(found).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"mutants: the tests would import {found}, not the mutated copy in {copy}")


def _plant(copy: Path, mutant: Mutant) -> None:
    target = copy / mutant.path
    text = target.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        raise SystemExit(f"mutants: {mutant.path}: the text to mutate for {mutant.name!r} occurs "
                         f"{text.count(mutant.old)} times, not once; update scripts/mutants.py")  # fmt: skip
    target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


def _run_tests(copy: Path, tests: tuple[str, ...]) -> int:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(cmd, cwd=copy, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def main() -> int:
    survivors: list[str] = []
    for n, mutant in enumerate(MUTANTS, 1):
        started = time.monotonic()
        print(f"mutant {n}/{len(MUTANTS)}: {mutant.name} ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="obs-mutant-") as tmp:
            copy = Path(tmp)
            _copy_project(copy)
            _check_imports_the_copy(copy)
            _plant(copy, mutant)
            code = _run_tests(copy, mutant.tests)
        took = time.monotonic() - started
        if code == 1:
            print(f"  caught in {took:.0f} s by {', '.join(mutant.tests)}", flush=True)
        else:
            # 0: the tests passed with the bug; 5: they did not run (skipped or not collected) — neither catches it.
            why = "the tests passed with the bug planted" if code == 0 else f"pytest exited {code} (not a failure)"
            print(f"  SURVIVED ({why}): {mutant.path}", flush=True)
            survivors.append(mutant.name)
    if survivors:
        print(f"mutants: {len(survivors)} of {len(MUTANTS)} survived: " + "; ".join(survivors), file=sys.stderr)
        return 1
    print(f"mutants: all {len(MUTANTS)} caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
