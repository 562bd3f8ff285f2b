"""Render layer (PURE): alertmanager.yml from the spec's `alerting` section.

The route tree, in order (Alertmanager walks children top to bottom):
  0. the Watchdog (always firing, alerts/stack.yaml) goes only to its own receiver (`routing.watchdog`, else a
     receiver without integrations) and repeats every few minutes, so a dead man's switch notices when it stops;
     any other alert with `severity: none` goes nowhere;
  1. team routes (`continue: true`): alerts of a team's services go to the team's receiver — by an
     explicit `team` label, or else by the service identity (`namespace` + `service`) from the spec,
     because the hand-written rules in alerts/ are generic and do not know teams;
  2. namespace routes (`continue: true`): every alert from that namespace also goes to its receiver;
  3. severity routes (final): page / ticket / info, each with its own repeat interval, matching every severity
     value of the level (`alerting.severities`: page|critical, ticket|warning, info by default);
  4. anything else falls back to `routing.default` on the root.

Secrets never appear here: receivers use Alertmanager's *_file keys pointing at the files where the
referenced Secret keys are mounted (render/names.py `alertmanager_secret_path`).
"""

from __future__ import annotations

import re
from typing import Any

from observability.render.names import ALERTMANAGER_SECRETS_DIR
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack
from observability.spec.alerting import NO_SEVERITY, Severities
from observability.spec.model import Receiver, Routing, SecretRef, duration_seconds

NULL_RECEIVER = "null"
"""Receiver with no integrations, used when the spec defines none (alerts are then only visible in the UI)."""
WATCHDOG_ALERT = "Watchdog"
WATCHDOG_RECEIVER = "watchdog"
"""The Watchdog's receiver when the spec names none: no integrations, the alert stays visible in the UI only."""
WATCHDOG_REPEAT = "5m"

# Alerts a service emits while it is down or failing as a whole: these inhibit its symptom alerts.
SERVICE_DOWN_ALERTS = ("GoServiceDown", "GoServiceAbsent")
# Symptom alerts of one service (namespace+service): meaningless while the service itself is down.
SERVICE_SYMPTOM_ALERTS = (
    "GoServiceHighErrorRate",
    "GoServiceHighLatency",
    "GoServiceHighErrorLogRate",
    "SLOErrorBudgetBurn",
    "SLOLatencyBudgetBurn",
)
# The processor being down explains lag on its consumer group.
PROCESSOR_DOWN_ALERT = "LogProcessorDown"
PROCESSOR_SYMPTOM_ALERTS = ("LogPipelineConsumerLagHigh",)

# Repeat intervals per severity: pages repeat at the configured interval, the rest less often
# (a ticket re-sent every few hours is noise). Never shorter than the configured interval.
_MIN_REPEAT = {"page": 0.0, "ticket": 12 * 3600.0, "info": 24 * 3600.0}
_MIN_REPEAT_TEXT = {"ticket": "12h", "info": "24h"}


def _secret_file(ref: SecretRef, secrets_dir: str) -> str:
    return f"{secrets_dir.rstrip('/')}/{ref.name}/{ref.key}"


def _receiver(receiver: Receiver, secrets_dir: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.name}
    if receiver.webhook is not None:
        out["webhook_configs"] = [
            {
                "url_file": _secret_file(receiver.webhook.url_secret, secrets_dir),
                "send_resolved": receiver.webhook.send_resolved,
            }
        ]
    elif receiver.slack is not None:
        out["slack_configs"] = [
            {
                "api_url_file": _secret_file(receiver.slack.api_url_secret, secrets_dir),
                "channel": receiver.slack.channel,
                "send_resolved": receiver.slack.send_resolved,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
                "text": (
                    "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n"
                    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
                ),
            }
        ]
    elif receiver.email is not None:
        email: dict[str, Any] = {
            "to": receiver.email.to,
            "from": receiver.email.sender,
            "smarthost": receiver.email.smarthost,
            "require_tls": receiver.email.require_tls,
            "send_resolved": True,
        }
        if receiver.email.auth_username is not None:
            email["auth_username"] = receiver.email.auth_username
        if receiver.email.auth_password_secret is not None:
            email["auth_password_file"] = _secret_file(receiver.email.auth_password_secret, secrets_dir)
        out["email_configs"] = [email]
    elif receiver.pagerduty is not None:
        out["pagerduty_configs"] = [
            {
                "routing_key_file": _secret_file(receiver.pagerduty.routing_key_secret, secrets_dir),
                "send_resolved": receiver.pagerduty.send_resolved,
                "description": "{{ .CommonAnnotations.summary }}",
            }
        ]
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matcher(name: str, op: str, value: str) -> str:
    return f"{name}{op}{_quote(value)}"


def _regex_literal(value: str) -> str:
    # Only RE2 metacharacters: re.escape would also escape '-', which is legal but noisy in DNS names.
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value)


def _alternatives(values: list[str]) -> str:
    return "|".join(_regex_literal(v) for v in sorted(set(values)))


def _team_routes(stack: Stack, routing: Routing) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = []
    for team, receiver in sorted(routing.team.items()):
        routes.append({"receiver": receiver, "matchers": [_matcher("team", "=", team)], "continue": True})
        by_namespace: dict[str, list[str]] = {}
        for svc in stack.services:
            if svc.team == team:
                by_namespace.setdefault(svc.namespace, []).append(svc.name)
        for namespace, names in sorted(by_namespace.items()):
            # `team=""` also matches alerts without a team label, so an alert is never sent twice.
            matchers = [
                _matcher("team", "=", ""),
                _matcher("namespace", "=", namespace),
                _matcher("service", "=~", _alternatives(names)),
            ]
            routes.append({"receiver": receiver, "matchers": matchers, "continue": True})
    return routes


def _severity_routes(routing: Routing, severities: Severities) -> list[dict[str, Any]]:
    routes = []
    configured = duration_seconds(routing.repeat_interval)
    for severity in ("page", "ticket", "info"):
        receiver = routing.severity.get(severity)
        if receiver is None:
            continue
        route: dict[str, Any] = {"receiver": receiver, "matchers": [_severity_matcher(severities.of(severity))]}
        if severity != "page" and configured < _MIN_REPEAT[severity]:
            route["repeat_interval"] = _MIN_REPEAT_TEXT[severity]
        routes.append(route)
    return routes


def _severity_matcher(values: list[str]) -> str:
    return (
        _matcher("severity", "=", values[0]) if len(values) == 1 else _matcher("severity", "=~", _alternatives(values))
    )


def _silent_routes(routing: Routing) -> list[dict[str, Any]]:
    """The Watchdog to its own receiver only, and `severity: none` alerts to nobody."""
    return [
        {
            "receiver": routing.watchdog or WATCHDOG_RECEIVER,
            "matchers": [_matcher("alertname", "=", WATCHDOG_ALERT)],
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "1m",
            "repeat_interval": WATCHDOG_REPEAT,
        },
        {"receiver": NULL_RECEIVER, "matchers": [_matcher("severity", "=", NO_SEVERITY)]},
    ]


def inhibit_rules(severities: Severities | None = None) -> list[dict[str, Any]]:
    """Inhibitions shared by every stack (they only reference labels our own rules set)."""
    levels = severities or Severities()
    return [
        {
            # A service that is down or absent: its error/latency/SLO alerts say nothing new.
            "source_matchers": [_matcher("alertname", "=~", _alternatives(list(SERVICE_DOWN_ALERTS)))],
            "target_matchers": [_matcher("alertname", "=~", _alternatives(list(SERVICE_SYMPTOM_ALERTS)))],
            "equal": ["namespace", "service"],
        },
        {
            "source_matchers": [_matcher("alertname", "=", PROCESSOR_DOWN_ALERT)],
            "target_matchers": [_matcher("alertname", "=~", _alternatives(list(PROCESSOR_SYMPTOM_ALERTS)))],
            "equal": ["namespace"],
        },
        {
            # The same alert paging already: its ticket- or info-level sibling (e.g. slow SLO burn) is redundant.
            "source_matchers": [_severity_matcher(levels.page)],
            "target_matchers": [_severity_matcher([*levels.ticket, *levels.info])],
            "equal": ["alertname", "namespace", "service"],
        },
        {
            # Likewise a ticket silences the info-level alert of the same name (kube-prometheus: warning → info).
            "source_matchers": [_severity_matcher(levels.ticket)],
            "target_matchers": [_severity_matcher(levels.info)],
            "equal": ["alertname", "namespace", "service"],
        },
    ]


def render_alertmanager_dict(stack: Stack, *, secrets_dir: str = ALERTMANAGER_SECRETS_DIR) -> dict[str, Any]:
    """alertmanager.yml as a value (tests and the routing evaluator use it directly)."""
    routing = stack.alerting.routing
    receivers = [_receiver(r, secrets_dir) for r in stack.alerting.receivers]
    if routing is None:
        routing = Routing(default=NULL_RECEIVER)
    for name in (routing.default, routing.watchdog or WATCHDOG_RECEIVER, NULL_RECEIVER):
        if not any(r["name"] == name for r in receivers):
            receivers.append({"name": name})
    route: dict[str, Any] = {
        "receiver": routing.default,
        "group_by": list(routing.group_by),
        "group_wait": routing.group_wait,
        "group_interval": routing.group_interval,
        "repeat_interval": routing.repeat_interval,
    }
    severities = stack.alerting.severities
    children = _silent_routes(routing) + _team_routes(stack, routing)
    children += [
        {"receiver": receiver, "matchers": [_matcher("namespace", "=", namespace)], "continue": True}
        for namespace, receiver in sorted(routing.namespace.items())
    ]
    children += _severity_routes(routing, severities)
    route["routes"] = children
    return {
        "global": {"resolve_timeout": "5m"},
        "route": route,
        "inhibit_rules": inhibit_rules(severities),
        "receivers": receivers,
    }


def render_alertmanager_config(stack: Stack, *, secrets_dir: str = ALERTMANAGER_SECRETS_DIR) -> str:
    """alertmanager.yml; `secrets_dir` is where receiver Secrets are mounted (a temp dir when run locally)."""
    return dump_yaml(render_alertmanager_dict(stack, secrets_dir=secrets_dir))
