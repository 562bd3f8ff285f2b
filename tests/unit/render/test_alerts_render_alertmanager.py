"""Unit: alertmanager.yml rendered from the spec — routes, receivers with *_file secrets, inhibition."""

from __future__ import annotations

import yaml

from observability.render.alertmanager import render_alertmanager_config, render_alertmanager_dict
from observability.spec import Stack
from observability.spec.alerting import Severities

_RECEIVERS = [
    {"name": "oncall", "pagerduty": {"routing_key_secret": {"name": "am", "key": "pd"}}},
    {"name": "team-a", "slack": {"channel": "#a", "api_url_secret": {"name": "am", "key": "slack"}}},
    {"name": "hook", "webhook": {"url_secret": {"name": "am", "key": "hook"}}},
    {
        "name": "mail",
        "email": {
            "to": "o@x.io",
            "from": "am@x.io",
            "smarthost": "smtp:587",
            "auth_username": "am",
            "auth_password_secret": {"name": "am", "key": "smtp"},
        },
    },
]


def _stack(routing: dict, services: list | None = None) -> Stack:
    return Stack.model_validate(
        {
            "cluster": {"name": "c"},
            "services": services or [],
            "alerting": {"receivers": _RECEIVERS, "routing": routing},
        }
    )


def test_receivers_reference_secret_files_never_values() -> None:
    config = render_alertmanager_dict(_stack({"default": "mail"}), secrets_dir="/s")
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["oncall"]["pagerduty_configs"][0]["routing_key_file"] == "/s/am/pd"
    assert by_name["team-a"]["slack_configs"][0]["api_url_file"] == "/s/am/slack"
    assert by_name["hook"]["webhook_configs"][0] == {"url_file": "/s/am/hook", "send_resolved": True}
    assert by_name["mail"]["email_configs"][0]["auth_password_file"] == "/s/am/smtp"
    text = render_alertmanager_config(_stack({"default": "mail"}))
    assert "/etc/alertmanager/secrets/am/pd" in text
    for key in ("routing_key:", "api_url:", " url:", "auth_password:"):
        assert key not in text


def test_route_tree_orders_team_namespace_then_severity() -> None:
    services = [
        {"name": "a", "namespace": "shop", "selector": {"x": "y"}, "metrics": {"port": 1}, "team": "alpha"},
        {"name": "b-2", "namespace": "shop", "selector": {"x": "y"}, "metrics": {"port": 1}, "team": "alpha"},
    ]
    routing = {
        "default": "mail",
        "severity": {"page": "oncall", "ticket": "mail"},
        "team": {"alpha": "team-a"},
        "namespace": {"infra": "hook"},
        "repeat_interval": "2h",
    }
    route = render_alertmanager_dict(_stack(routing, services))["route"]
    assert route["receiver"] == "mail" and route["repeat_interval"] == "2h"
    assert [(r["receiver"], r["matchers"], r.get("continue", False)) for r in route["routes"]] == [
        ("watchdog", ['alertname="Watchdog"'], False),
        ("null", ['severity="none"'], False),
        ("team-a", ['team="alpha"'], True),
        ("team-a", ['team=""', 'namespace="shop"', 'service=~"a|b-2"'], True),
        ("hook", ['namespace="infra"'], True),
        ("oncall", ['severity=~"critical|page"'], False),
        ("mail", ['severity=~"ticket|warning"'], False),
    ]
    assert route["routes"][6]["repeat_interval"] == "12h"
    assert "repeat_interval" not in route["routes"][5]
    assert route["routes"][0]["repeat_interval"] == "5m"  # the dead man's switch pings often


def test_watchdog_goes_to_its_own_receiver_and_severity_vocabulary_is_configurable() -> None:
    routing = {"default": "mail", "severity": {"page": "oncall"}, "watchdog": "hook"}
    stack = _stack(routing)
    stack = stack.model_copy(
        update={"alerting": stack.alerting.model_copy(update={"severities": Severities(page=["sev1"])})}
    )
    config = render_alertmanager_dict(stack)
    assert config["route"]["routes"][0]["receiver"] == "hook"
    assert config["route"]["routes"][2] == {"receiver": "oncall", "matchers": ['severity="sev1"']}
    ticket_info = config["inhibit_rules"][3]
    assert ticket_info["source_matchers"] == ['severity=~"ticket|warning"']
    assert ticket_info["target_matchers"] == ['severity="info"']


def test_a_long_configured_repeat_interval_is_not_shortened_for_tickets() -> None:
    routing = {"default": "mail", "severity": {"ticket": "mail"}, "repeat_interval": "24h"}
    route = render_alertmanager_dict(_stack(routing))["route"]
    assert "repeat_interval" not in route["routes"][2]


def test_inhibition_service_down_silences_symptoms_of_the_same_service() -> None:
    rules = render_alertmanager_dict(_stack({"default": "mail"}))["inhibit_rules"]
    down = rules[0]
    assert down["equal"] == ["namespace", "service"]
    assert "GoServiceDown" in down["source_matchers"][0]
    assert "GoServiceHighErrorRate" in down["target_matchers"][0]
    assert "GoServiceHighLatency" in down["target_matchers"][0]


def test_without_alerting_section_a_null_receiver_keeps_the_config_valid() -> None:
    config = yaml.safe_load(render_alertmanager_config(Stack.model_validate({"cluster": {"name": "c"}})))
    assert config["route"]["receiver"] == "null"
    assert config["receivers"] == [{"name": "null"}, {"name": "watchdog"}]
