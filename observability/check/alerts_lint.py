"""Check layer (PURE): our own lint checks for Prometheus rule files and PrometheusRule custom resources.

`promtool check rules` proves a file loads; these checks catch what loads fine but pages badly:
  required-label       severity missing or not in the vocabulary (default page|critical, ticket|warning, info,
                       and none for alerts never notified; `alerting.severities` in the spec changes it)
  required-annotation  summary, description or runbook_url missing
  runbook              runbook_url not docs/runbooks/<AlertName>.md, or that page missing
  for-on-page          a paging alert without `for:` pages on a single bad scrape
  rate-window          rate()/increase()/... over less than 4 scrape intervals is noisy or empty
  label-name           an invalid or reserved (__*) label name
  label-cardinality    an alert's identity includes a high-cardinality label or changes with $value
  duplicate            the same alert (name + static labels) or group defined twice
  never-fires          an expression that can never return a result
  counter-without-rate a counter (…_total, …_count, …_sum, …_bucket) compared as it is: its value only ever grows
                       since the process started, so the comparison says nothing about now; use rate()/increase()
  promql               the expression does not parse
PromQL is parsed with promql-parser (the Rust parser used by GreptimeDB), never with regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import promql_parser as pp

from observability.check.alerts_yaml import LineDict, LineList, line_of, load_documents
from observability.errors import CheckError

SEVERITIES = ("page", "critical", "ticket", "warning", "info", "none")
"""Accepted by default: ours, the ecosystem's (kube-prometheus: critical/warning/info) and none (Watchdog)."""
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
# A counter inside these is used as a counter (rate of change, resets) or only for its presence.
COUNTER_SAFE_FUNCTIONS = {
    "rate", "irate", "increase", "resets", "changes", "absent", "absent_over_time", "present_over_time",
    "count_over_time", "timestamp",
}  # fmt: skip
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
RANGE_FUNCTIONS = {"rate", "irate", "increase", "delta", "idelta", "deriv"}
NON_NEGATIVE_FUNCTIONS = {"rate", "irate", "increase", "absent", "absent_over_time", "count_over_time", "changes"}
HIGH_CARDINALITY_LABELS = {
    "request_id", "trace_id", "span_id", "user_id", "user", "session_id", "email", "ip", "client_ip",
    "remote_addr", "url", "path", "uri", "query", "le", "quantile",
}  # fmt: skip
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RUNBOOK = re.compile(r"/docs/runbooks/(?P<name>[A-Za-z0-9_.-]+)\.md$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    group: str
    rule: str
    check: str
    message: str
    severity: str = "error"
    """error (fails the lint) or warning."""

    def __str__(self) -> str:
        where = f"{self.group}/{self.rule}" if self.rule else self.group
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {where + ': ' if where else ''}{tag}{self.message} [{self.check}]"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RuleGroupSource:
    """One rule group with where it came from (plain rule file or a PrometheusRule document)."""

    file: str
    group: LineDict
    kind: str
    """'rules' for a Prometheus rule file, 'PrometheusRule' for a custom resource."""


def rule_groups(name: str, text: str) -> list[RuleGroupSource]:
    """The rule groups in a rule file or in PrometheusRule documents; CheckError when it is neither."""
    out: list[RuleGroupSource] = []
    for doc in load_documents(text, name):
        if not isinstance(doc, dict):
            raise CheckError(f"{name}:{line_of(doc)}: expected a mapping with 'groups:' or a PrometheusRule")
        kind = "rules"
        body: Any = doc
        if doc.get("kind") == "PrometheusRule":
            kind, body = "PrometheusRule", doc.get("spec") or {}
        elif doc.get("kind") is not None:
            continue  # other Kubernetes objects in a bundle are not ours to lint
        groups = body.get("groups") if isinstance(body, dict) else None
        if not isinstance(groups, list):
            raise CheckError(f"{name}:{line_of(body)}: no 'groups:' list (expected a Prometheus rule file)")
        for group in groups:
            if not isinstance(group, LineDict):
                raise CheckError(f"{name}:{line_of(groups)}: each group must be a mapping with name and rules")
            out.append(RuleGroupSource(name, group, kind))
    return out


def key_line(mapping: Any, key: str, default: int) -> int:
    """The line of `key` in a loaded mapping (where the user has to look), else `default`."""
    lines = getattr(mapping, "key_lines", None) or {}
    return int(lines.get(key, default))


def _walk(expr: Any) -> Iterator[Any]:
    yield expr
    for attr in ("expr", "lhs", "rhs", "param"):
        child = getattr(expr, attr, None)
        if isinstance(child, pp.Expr):
            yield from _walk(child)
    if isinstance(expr, pp.Call):
        for arg in expr.args:
            yield from _walk(arg)
    if isinstance(expr, pp.MatrixSelector):
        yield from _walk(expr.vector_selector)


def _func_name(expr: Any) -> str | None:
    return expr.func.name if isinstance(expr, pp.Call) else None


def _unwrap(expr: Any) -> Any:
    while isinstance(expr, pp.ParenExpr):
        expr = expr.expr
    return expr


def _number(expr: Any) -> float | None:
    expr = _unwrap(expr)
    if isinstance(expr, pp.NumberLiteral):
        return float(expr.val)
    if isinstance(expr, pp.UnaryExpr) and isinstance(_unwrap(expr.expr), pp.NumberLiteral):
        return -float(_unwrap(expr.expr).val)
    if _func_name(expr) == "vector" and expr.args:
        return _number(expr.args[0])  # vector(1) is a constant too
    return None


def _is_comparison(expr: Any) -> bool:
    return isinstance(expr, pp.BinaryExpr) and str(expr.op) in {"==", "!=", ">", "<", ">=", "<="}


def _compare(op: str, a: float, b: float) -> bool:
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


def _never_fires(expr: Any) -> list[str]:
    """Reasons why `expr` can never return a sample (empty list: it can)."""
    reasons = []
    for node in _walk(expr):
        if isinstance(node, pp.VectorSelector):
            equal: dict[str, set[str]] = {}
            for m in node.matchers.matchers:
                if str(m.op) in ("=", "MatchOp.Equal"):
                    equal.setdefault(m.name, set()).add(m.value)
            for label, values in equal.items():
                if len(values) > 1:
                    reasons.append(f"selector requires {label} to equal {sorted(values)} at once")
        if not _is_comparison(node) or (node.modifier is not None and node.modifier.return_bool):
            continue
        op, lhs, rhs = str(node.op), _unwrap(node.lhs), _unwrap(node.rhs)
        left, right = _number(lhs), _number(rhs)
        if left is not None and right is not None and not _compare(op, left, right):
            reasons.append(f"{left:g} {op} {right:g} is always false")
            continue
        if right is None:
            continue
        if isinstance(lhs, pp.AggregateExpr) and str(lhs.op) == "count" and _compare_all_false(op, right, 1.0):
            reasons.append(f"count() returns nothing instead of 0, so `count(...) {op} {right:g}` never holds")
        elif _non_negative(lhs) and _compare_all_false(op, right, 0.0):
            reasons.append(f"{_func_name(lhs) or 'count'}() is never negative, so `{op} {right:g}` never holds")
    return reasons


def _metric_name(selector: Any) -> str:
    if selector.name:
        return str(selector.name)
    for m in selector.matchers.matchers:
        if m.name == "__name__" and str(m.op) in ("=", "MatchOp.Equal"):
            return str(m.value)
    return ""


def _bare_counters(expr: Any) -> Iterator[str]:
    """Counter selectors in `expr` whose raw value is used (not under rate(), increase(), absent(), …)."""
    expr = _unwrap(expr)
    if isinstance(expr, pp.Call) and _func_name(expr) in COUNTER_SAFE_FUNCTIONS:
        return
    if isinstance(expr, pp.VectorSelector):
        name = _metric_name(expr)
        if name.endswith(COUNTER_SUFFIXES):
            yield name
        return
    if isinstance(expr, pp.MatrixSelector):
        yield from _bare_counters(expr.vector_selector)
        return
    children = [getattr(expr, a, None) for a in ("expr", "lhs", "rhs")]
    if isinstance(expr, pp.Call):
        children += list(expr.args)
    for child in children:
        if isinstance(child, pp.Expr):
            yield from _bare_counters(child)


def _compared_counters(expr: Any) -> list[str]:
    """Counters compared by their raw value somewhere in `expr` (`x_total > 100000`)."""
    found: list[str] = []
    for node in _walk(expr):
        if _is_comparison(node) and (_number(node.lhs) is not None or _number(node.rhs) is not None):
            for side in (node.lhs, node.rhs):
                found += [n for n in _bare_counters(side) if n not in found]
    return found


def _non_negative(expr: Any) -> bool:
    if isinstance(expr, pp.AggregateExpr) and str(expr.op) == "count":
        return True
    return _func_name(expr) in NON_NEGATIVE_FUNCTIONS


def _compare_all_false(op: str, threshold: float, minimum: float) -> bool:
    """Whether `x op threshold` is false for every x ≥ minimum."""
    if op in ("<",):
        return threshold <= minimum
    if op in ("<=", "=="):
        return threshold < minimum
    return False


def _range_windows(expr: Any) -> Iterator[tuple[str, float]]:
    for node in _walk(expr):
        name = _func_name(node)
        if name in RANGE_FUNCTIONS and node.args and isinstance(node.args[0], pp.MatrixSelector | pp.SubqueryExpr):
            window = node.args[0].range
            if window is not None:
                yield name, window.total_seconds()


def _output_labels(expr: Any) -> set[str] | None:
    """Labels the result can carry when the expression fixes them (aggregation `by`); None = unknown."""
    expr = _unwrap(expr)
    if isinstance(expr, pp.AggregateExpr):
        mod = expr.modifier
        if mod is not None and "By" in str(mod.type):
            return set(mod.labels)
        if mod is None:
            return set()
        return None
    if isinstance(expr, pp.BinaryExpr):
        left = _output_labels(expr.lhs) if _number(expr.lhs) is None else set()
        if expr.modifier is not None and expr.modifier.group_labels and left is not None:
            left = left | set(expr.modifier.group_labels)
        return left
    return None


def _check_alert(src: RuleGroupSource, gname: str, rule: LineDict, ctx: _Context) -> list[Problem]:
    name = str(rule.get("alert"))
    line = line_of(rule)
    out: list[Problem] = []

    def problem(check: str, message: str, severity: str = "error", at: int | None = None) -> None:
        out.append(Problem(src.file, at or line, gname, name, check, message, severity))

    labels = rule.get("labels") or {}
    annotations = rule.get("annotations") or {}
    severity = labels.get("severity") if isinstance(labels, dict) else None
    if severity is None:
        problem(
            "required-label",
            f"label 'severity' is missing; set one of {', '.join(ctx.severities)}",
            at=key_line(rule, "labels", line),
        )
    elif severity not in ctx.severities:
        problem(
            "required-label",
            f"severity {severity!r} is not one of {', '.join(ctx.severities)} (alerting.severities in the spec "
            "adds values)",
            at=key_line(labels, "severity", line),
        )
    for key in REQUIRED_ANNOTATIONS:
        if not str((annotations or {}).get(key) or "").strip():
            problem(
                "required-annotation",
                f"annotation '{key}' is missing or empty",
                at=key_line(annotations, key, key_line(rule, "annotations", line)),
            )
    url = str((annotations or {}).get("runbook_url") or "")
    url_line = key_line(annotations, "runbook_url", line)
    if url:
        match = _RUNBOOK.search(url)
        if not match or match.group("name") != name:
            problem(
                "runbook", f"runbook_url should end in /docs/runbooks/{name}.md, got {url!r}", "warning", at=url_line
            )
        elif ctx.runbooks is not None and name not in ctx.runbooks:
            problem(
                "runbook",
                f"runbook docs/runbooks/{name}.md does not exist; write it (meaning, check, fix)",
                at=url_line,
            )
    if severity in ctx.paging and not _positive_duration(rule.get("for")):
        problem(
            "for-on-page",
            "paging alert has no 'for:'; one bad evaluation would page (add e.g. for: 5m)",
            at=key_line(rule, "for", line),
        )
    for key, value in labels.items() if isinstance(labels, dict) else []:
        if "$value" in str(value) or ".Value" in str(value):
            problem(
                "label-cardinality",
                f"label {key!r} uses $value: every new value makes a new alert; move it to an annotation",
                at=key_line(labels, key, line),
            )
    return out


def _positive_duration(value: Any) -> bool:
    return bool(value) and bool(re.search(r"[1-9]", str(value)))


@dataclass(frozen=True)
class _Context:
    scrape_interval: float
    runbooks: set[str] | None
    severities: tuple[str, ...] = SEVERITIES
    paging: tuple[str, ...] = ("page", "critical")


def _check_rule(src: RuleGroupSource, gname: str, rule: Any, ctx: _Context) -> list[Problem]:
    if not isinstance(rule, LineDict):
        return [Problem(src.file, line_of(src.group), gname, "", "promql", "each rule must be a mapping")]
    name = str(rule.get("alert") or rule.get("record") or "")
    line = line_of(rule)
    # Expression problems point at `expr:`, not at the rule's first key: that is where the fix goes.
    expr_line = key_line(rule, "expr", line)
    out: list[Problem] = []
    for key in rule.get("labels") or {}:
        if not _LABEL_NAME.match(str(key)) or str(key).startswith("__"):
            out.append(
                Problem(
                    src.file,
                    key_line(rule.get("labels"), str(key), line),
                    gname,
                    name,
                    "label-name",
                    f"label name {key!r} is invalid (letters, digits, '_'; not starting with '__')",
                )
            )
    try:
        expr = pp.parse(str(rule.get("expr", "")))
    except (ValueError, RuntimeError) as e:
        return [*out, Problem(src.file, expr_line, gname, name, "promql", f"expression does not parse: {e}")]
    for fn, seconds in _range_windows(expr):
        if seconds < 4 * ctx.scrape_interval:
            out.append(
                Problem(
                    src.file,
                    expr_line,
                    gname,
                    name,
                    "rate-window",
                    f"{fn}() over {seconds:g}s is less than 4 scrape intervals "
                    f"({4 * ctx.scrape_interval:g}s): results are noisy or empty",
                )
            )
    for reason in _never_fires(expr):
        out.append(Problem(src.file, expr_line, gname, name, "never-fires", f"can never fire: {reason}"))
    for counter in _compared_counters(expr):
        out.append(
            Problem(
                src.file,
                expr_line,
                gname,
                name,
                "counter-without-rate",
                f"{counter} is a counter: compared as it is, it only says how much happened since the process "
                f"started; compare rate({counter}[5m]) or increase({counter}[1h]) instead",
            )
        )
    if "alert" in rule:
        out += _check_alert(src, gname, rule, ctx)
        risky = (_output_labels(expr) or set()) & HIGH_CARDINALITY_LABELS
        for label in sorted(risky):
            out.append(
                Problem(
                    src.file,
                    expr_line,
                    gname,
                    name,
                    "label-cardinality",
                    f"alert identity includes high-cardinality label {label!r}; aggregate it away",
                    "warning",
                )
            )
    return out


def lint_rule_files(
    files: dict[str, str],
    *,
    scrape_interval: float = 30.0,
    runbooks: set[str] | None = None,
    severities: tuple[str, ...] = SEVERITIES,
    paging: tuple[str, ...] = ("page", "critical"),
) -> list[Problem]:
    """Problems in rule files (name → text); `runbooks` = names of docs/runbooks/*.md, None = do not check.

    `severities` are the accepted `severity` values and `paging` those that page (spec: alerting.severities).
    """
    ctx = _Context(scrape_interval, runbooks, severities, paging)
    problems: list[Problem] = []
    seen_alerts: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    for name, text in sorted(files.items()):
        try:
            sources = rule_groups(name, text)
        except CheckError as e:
            problems.append(Problem(name, _line_in(str(e)), "", "", "promql", str(e).split(": ", 1)[-1]))
            continue
        seen_groups: set[str] = set()
        for src in sources:
            gname = str(src.group.get("name") or "")
            if gname in seen_groups:
                problems.append(
                    Problem(
                        name,
                        line_of(src.group),
                        gname,
                        "",
                        "duplicate",
                        f"group {gname!r} is defined twice in this file",
                    )
                )
            seen_groups.add(gname)
            for rule in src.group.get("rules") or []:
                problems += _check_rule(src, gname, rule, ctx)
                if isinstance(rule, dict) and "alert" in rule:
                    labels = rule.get("labels") or {}
                    key = (str(rule["alert"]), tuple(sorted((str(k), str(v)) for k, v in labels.items())))
                    where = f"{name}:{line_of(rule)}"
                    if key in seen_alerts:
                        problems.append(
                            Problem(
                                name,
                                line_of(rule),
                                gname,
                                key[0],
                                "duplicate",
                                f"alert with the same name and labels already at {seen_alerts[key]}",
                            )
                        )
                    else:
                        seen_alerts[key] = where
    return problems


def _line_in(message: str) -> int:
    match = re.match(r"^[^:]+:(\d+):", message)
    return int(match.group(1)) if match else 1


# promtool prints `<file>: <error>`; rule errors are formatted by Prometheus' rulefmt (prometheus/prometheus
# model/rulefmt/rulefmt.go, Error.Error): "L:C: [L:C: ]group %q, rule %d, %q: <cause>", or without the
# positions when the error has no YAML node. Rules are numbered from 1 within their group.
_PROMTOOL_RULE_ERROR = re.compile(
    r'^(?:(?P<line>\d+):\d+: )?(?:\d+:\d+: )?group (?P<group>"(?:[^"\\]|\\.)*"), rule (?P<index>\d+), '
    r'(?P<rule>"(?:[^"\\]|\\.)*"): (?P<message>.*)$'
)
_YAML_LINE = re.compile(r"\bline (\d+):")


def promtool_problems(output: str, files: dict[str, str]) -> list[Problem]:
    """`promtool check rules` output as problems naming file, line, group and rule (files: name → text,
    to find the rule's line when promtool gives none)."""
    out: list[Problem] = []
    current = ""
    for raw in output.splitlines():
        text = raw.strip()
        if text.startswith("Checking "):
            current = text.removeprefix("Checking ")
            continue
        if not text or text.startswith(("SUCCESS", "FAILED")) or not current:
            continue
        text = text.removeprefix(f"{current}: ")
        match = _PROMTOOL_RULE_ERROR.match(text)
        if match is None:
            line = _YAML_LINE.search(text)
            out.append(Problem(current, int(line.group(1)) if line else 1, "", "", "promtool", text))
            continue
        group, rule = _go_unquote(match["group"]), _go_unquote(match["rule"])
        line_no = (
            int(match["line"]) if match["line"] else _rule_line(files.get(current), current, group, int(match["index"]))
        )
        out.append(Problem(current, line_no, group, rule, "promtool", match["message"]))
    return out or [Problem("promtool", 1, "", "", "promtool", output.strip()[:500])]


def _go_unquote(quoted: str) -> str:
    """A Go %q string back to text (enough of Go's escapes for names: \\" and \\\\)."""
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _rule_line(text: str | None, name: str, group: str, index: int) -> int:
    """The line of rule `index` (from 1) of `group` in a rule file, else 1."""
    if text is None:
        return 1
    try:
        sources = rule_groups(name, text)
    except CheckError:
        return 1
    for src in sources:
        rules = src.group.get("rules")
        if str(src.group.get("name") or "") == group and isinstance(rules, LineList) and 0 < index <= len(rules):
            return int(rules.item_lines[index - 1])
    return 1
