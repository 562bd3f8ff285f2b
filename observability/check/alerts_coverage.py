"""Check layer (PURE): does every alert have a promtool unit test where it fires and one where it stays quiet?

An `alert_rule_test` entry with a non-empty `exp_alerts` is a firing case for its `alertname`; an empty
`exp_alerts` is a quiet case. promtool itself verifies that the expectations hold; this module only
checks that both kinds of expectation exist for each alert defined in the rule files.
"""

from __future__ import annotations

from dataclasses import dataclass

from observability.check.alerts_lint import rule_groups
from observability.check.alerts_yaml import line_of, load_documents
from observability.errors import CheckError


@dataclass(frozen=True)
class AlertCoverage:
    alert: str
    file: str
    line: int
    firing: int
    """Number of test expectations in which the alert fires."""
    quiet: int
    """Number of test expectations in which it must not fire."""
    always_firing: bool = False
    """A dead man's switch (`expr: vector(1)`, the Watchdog) has no quiet case by design."""

    @property
    def problem(self) -> str | None:
        kinds = (("firing", self.firing),) if self.always_firing else (("firing", self.firing), ("quiet", self.quiet))
        missing = [kind for kind, n in kinds if n == 0]
        if not missing:
            return None
        return f"{self.file}:{self.line}: {self.alert}: no promtool test where it is {' or '.join(missing)}"


def defined_alerts(rule_files: dict[str, str]) -> dict[str, tuple[str, int]]:
    """Alert name → (file, line) of its first definition."""
    out: dict[str, tuple[str, int]] = {}
    for name, text in sorted(rule_files.items()):
        for src in rule_groups(name, text):
            for rule in src.group.get("rules") or []:
                if isinstance(rule, dict) and "alert" in rule:
                    out.setdefault(str(rule["alert"]), (name, line_of(rule)))
    return out


def expectations_by_alert(test_files: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Alert name → (firing expectations, quiet expectations) across promtool test files."""
    counts: dict[str, list[int]] = {}
    for name, text in sorted(test_files.items()):
        docs = load_documents(text, name)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise CheckError(f"{name}: not a promtool test file (expected rule_files and tests)")
        for case in docs[0].get("tests") or []:
            for expectation in (case or {}).get("alert_rule_test") or []:
                alert = str(expectation.get("alertname", ""))
                slot = counts.setdefault(alert, [0, 0])
                slot[0 if expectation.get("exp_alerts") else 1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _always_firing(rule_files: dict[str, str]) -> set[str]:
    out: set[str] = set()
    for name, text in sorted(rule_files.items()):
        for src in rule_groups(name, text):
            for rule in src.group.get("rules") or []:
                constant = isinstance(rule, dict) and " ".join(str(rule.get("expr")).split()) == "vector(1)"
                if constant and "alert" in rule:
                    out.add(str(rule["alert"]))
    return out


def alert_coverage(rule_files: dict[str, str], test_files: dict[str, str]) -> list[AlertCoverage]:
    expectations = expectations_by_alert(test_files)
    always = _always_firing(rule_files)
    return [
        AlertCoverage(alert, file, line, *expectations.get(alert, (0, 0)), always_firing=alert in always)
        for alert, (file, line) in sorted(defined_alerts(rule_files).items())
    ]
