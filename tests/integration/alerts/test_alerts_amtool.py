"""Integration: the rendered alertmanager.yml passes the real `amtool check-config`, and our routing
evaluator agrees with `amtool config routes test` on every case of alerts/routing-tests.yaml — with
Debian's amtool 0.25 and the current one built by `make tools` (am_release in tests/conftest.py)."""

from __future__ import annotations

import pytest
import yaml

from observability.check.alerts_routing import routing_tree
from observability.check.alerts_routing_tests import parse_routing_tests
from observability.cli.io import read_spec
from observability.local.tools import amtool_check_config, amtool_routes_test
from observability.render.alertmanager import render_alertmanager_config

pytestmark = pytest.mark.integration


def test_rendered_example_config_passes_amtool_check_config(example_spec_path, am_release) -> None:
    result = amtool_check_config(render_alertmanager_config(read_spec(example_spec_path)), amtool=am_release.amtool)
    assert result.ok, result.output
    assert "SUCCESS" in result.output and "4 inhibit rules" in result.output and "6 receivers" in result.output


def test_amtool_check_config_rejects_a_broken_config(am_release) -> None:
    result = amtool_check_config("route: {receiver: missing}\nreceivers: [{name: other}]\n", amtool=am_release.amtool)
    assert not result.ok
    assert "missing" in result.output


def test_routing_evaluator_agrees_with_amtool(repo, example_spec_path, am_release) -> None:
    text = render_alertmanager_config(read_spec(example_spec_path))
    tree = routing_tree(yaml.safe_load(text))
    cases = parse_routing_tests((repo / "alerts" / "routing-tests.yaml").read_text())
    extra = [
        {"alertname": "X", "team": "payments"},
        {"alertname": "X", "namespace": "shop", "service": "checkout"},
        {"alertname": "X", "namespace": "shop", "service": "checkout", "team": "other", "severity": "info"},
    ]
    label_sets = [c.alert for c in cases] + extra
    for labels in label_sets:
        assert tree.receivers_for(labels) == amtool_routes_test(text, labels, amtool=am_release.amtool), labels
