"""Hostile YAML in every file the tool reads: each shape × each file kind is a clear `file:line` error.

The shapes are the classic parser attacks: "billion laughs" (the alias bomb from the PyYAML issue
yaml/pyyaml#375 and Wikipedia's "Billion laughs attack" page, rewritten in YAML), a recursive alias,
PyYAML's `!!python/object/apply` tag (the CVE-2017-18342 payload shape), an unknown local tag, deep
nesting, non-string keys and a 5000-digit integer (past CPython's int-from-str limit of 4300 digits).
"""

from __future__ import annotations

import textwrap
import tracemalloc
from collections.abc import Callable

import pytest

from observability.check.alerts_lint import lint_rule_files
from observability.check.alerts_routing_tests import parse_routing_tests
from observability.errors import ObservabilityError
from observability.render.dashboards import parse_definition
from observability.render.rules import render_rule_files
from observability.spec import parse_stack
from observability.spec.processor import parse_processor_config
from observability.spec.yamlsafe import LineDict, YamlInputError, load_yaml


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, tuple[str, str]] = {
    # shape: (text, what the message must say)
    "billion laughs": (_billion_laughs(), "alias bomb"),
    "recursive alias": ("groups: &g\n  - name: x\n    rules: *g\n", "alias refers to the mapping or list"),
    "python tag": ('groups: !!python/object/apply:os.system ["echo pwned"]\n', "tag !!python/object/apply"),
    "unknown tag": ("groups: !Ref other\n", "tag !Ref is not allowed"),
    "deep nesting": ("groups: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than 64 levels"),
    "list as key": ("? [a, b]\n: 1\n", "key must be a plain string"),
    "int as key": ("groups:\n  1: x\n", "keys must be strings"),
    "5000-digit int": ("groups: " + "7" * 5000 + "\n", "integer of 5000 characters"),
}

ROUTING_SPEC = "cluster: {name: dev}\n"


def _spec(text: str) -> None:
    parse_stack(text, source="stack.yaml")


def _rules_lint(text: str) -> None:
    problems = lint_rule_files({"stack.yaml": text})
    raise ObservabilityError("\n".join(f"{p.file}:{p.line}: {p.message}" for p in problems))


def _rules_render(text: str) -> None:
    render_rule_files(parse_stack(ROUTING_SPEC), {"stack.yaml": text})


def _dashboard(text: str) -> None:
    parse_definition(text, "stack.yaml")


def _routing_tests(text: str) -> None:
    parse_routing_tests(text, "stack.yaml")


def _processor(text: str) -> None:
    parse_processor_config(text, "stack.yaml", {})


FILE_KINDS: dict[str, Callable[[str], None]] = {
    "spec": _spec,
    "rules (lint)": _rules_lint,
    "rules (render)": _rules_render,
    "dashboard": _dashboard,
    "routing tests": _routing_tests,
    "processor config": _processor,
}


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("shape", HOSTILE)
def test_hostile_yaml_is_a_clear_error_naming_file_and_line(kind: str, shape: str) -> None:
    text, expected = HOSTILE[shape]
    with pytest.raises(ObservabilityError) as info:
        FILE_KINDS[kind](text)
    message = str(info.value)
    # rendering prefixes the alerts/ directory; every other reader names the file as given
    assert "stack.yaml:" in message, message
    assert expected in message, message


@pytest.mark.parametrize("shape", HOSTILE)
def test_hostile_yaml_stays_within_a_memory_bound(shape: str) -> None:
    text, _ = HOSTILE[shape]
    tracemalloc.start()
    try:
        with pytest.raises(YamlInputError):
            load_yaml(text, "x.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # billion laughs expanded is 9**9 strings (gigabytes); refused, it stays at the size of its nodes
    assert peak < 20 * 1024 * 1024, f"{shape}: peak {peak / 1e6:.1f} MB"


def test_merge_keys_are_ordinary_yaml() -> None:
    data = load_yaml(
        textwrap.dedent(
            """\
            defaults: &defaults
              for: 5m
              labels: {severity: page}
            alert:
              <<: *defaults
              for: 10m
            """
        ),
        "x.yaml",
    )
    assert data["alert"] == {"for": "10m", "labels": {"severity": "page"}}
    assert isinstance(data["alert"], LineDict)
    assert data["alert"].key_lines == {"for": 6, "labels": 3}


def test_merge_keys_work_in_a_spec_and_keep_lines_for_errors() -> None:
    text = textwrap.dedent(
        """\
        cluster: {name: dev}
        x-metrics: &metrics {port: 0, path: /metrics}
        services:
          - name: checkout
            namespace: shop
            selector: {app: checkout}
            metrics:
              <<: *metrics
        """
    )
    with pytest.raises(ObservabilityError) as info:
        parse_stack(text, source="stack.yaml")
    # the unknown top-level key and the bad merged port, each on its own line
    assert "stack.yaml:2 x-metrics: unknown key" in str(info.value)
    assert "stack.yaml:2 services[0].metrics.port: must be a port between 1 and 65535" in str(info.value)


def test_a_list_of_merges_lets_the_first_mapping_win() -> None:
    data = load_yaml("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n", "x.yaml")
    assert data["c"] == {"x": 1, "y": 2}


def test_a_big_real_world_file_is_not_refused() -> None:
    # 100 groups × 20 rules (~14k nodes): the size of kube-prometheus' rule set, far below the node bound
    rules = "".join(
        f"  - name: g{g}\n    rules:\n"
        + "".join(f"      - alert: A{g}x{r}\n        expr: up == 0\n        for: 5m\n" for r in range(20))
        for g in range(100)
    )
    data = load_yaml("groups:\n" + rules, "big.yaml")
    assert len(data["groups"]) == 100
