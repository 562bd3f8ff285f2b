"""Spec layer: alert receivers (credentials by Secret reference only) and the routing of alerts to them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from observability.spec.common import Duration, SecretRef, StrictModel


class WebhookReceiver(StrictModel):
    url_secret: SecretRef
    send_resolved: bool = True


class SlackReceiver(StrictModel):
    api_url_secret: SecretRef
    channel: str
    send_resolved: bool = True


class EmailReceiver(StrictModel):
    to: str
    sender: str = Field(alias="from")
    smarthost: str
    auth_username: str | None = None
    auth_password_secret: SecretRef | None = None
    require_tls: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", v):
            raise ValueError(f"must be host:port, e.g. smtp.example.com:587, got {v!r}")
        return v


class PagerDutyReceiver(StrictModel):
    routing_key_secret: SecretRef
    send_resolved: bool = True


class Receiver(StrictModel):
    """One alert receiver; exactly one of webhook/slack/email/pagerduty is set."""

    name: str
    webhook: WebhookReceiver | None = None
    slack: SlackReceiver | None = None
    email: EmailReceiver | None = None
    pagerduty: PagerDutyReceiver | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Receiver:
        kinds = [k for k in ("webhook", "slack", "email", "pagerduty") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"receiver {self.name!r} must set exactly one of webhook, slack, email, pagerduty; "
                f"got {', '.join(kinds) or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("webhook", "slack", "email", "pagerduty") if getattr(self, k) is not None)


SeverityLevel = Literal["page", "ticket", "info"]
NO_SEVERITY = "none"
"""The severity of alerts that are never notified (Watchdog), as kube-prometheus names it."""


class Severities(StrictModel):
    """The `severity` label values of each level: ours (page/ticket/info) and the ecosystem's (critical/warning)."""

    page: list[str] = Field(
        default_factory=lambda: ["page", "critical"], min_length=1, description="severity values that page on-call"
    )
    ticket: list[str] = Field(
        default_factory=lambda: ["ticket", "warning"], min_length=1, description="severity values that open a ticket"
    )
    info: list[str] = Field(
        default_factory=lambda: ["info"], min_length=1, description="severity values for FYI alerts"
    )

    @model_validator(mode="after")
    def _disjoint(self) -> Severities:
        values = [v for level in (self.page, self.ticket, self.info) for v in level]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"a severity value belongs to one level only; repeated: {', '.join(dupes)}")
        if NO_SEVERITY in values:
            raise ValueError(f"{NO_SEVERITY!r} is reserved for alerts that are never notified (Watchdog)")
        return self

    def of(self, level: SeverityLevel) -> list[str]:
        return {"page": self.page, "ticket": self.ticket, "info": self.info}[level]

    def accepted(self) -> tuple[str, ...]:
        """Every value lint accepts in a `severity` label."""
        return (*self.page, *self.ticket, *self.info, NO_SEVERITY)


class Routing(StrictModel):
    default: str = Field(description="receiver for alerts no other rule matches")
    severity: dict[SeverityLevel, str] = Field(default_factory=dict)
    watchdog: str | None = Field(
        default=None, description="receiver of the always-firing Watchdog alert (a dead man's switch), never on-call"
    )
    team: dict[str, str] = Field(default_factory=dict, description="team label → receiver")
    namespace: dict[str, str] = Field(default_factory=dict, description="namespace label → receiver")
    group_by: list[str] = Field(default_factory=lambda: ["alertname", "namespace", "service"])
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"


class Alerting(StrictModel):
    receivers: list[Receiver] = Field(default_factory=list)
    routing: Routing | None = None
    severities: Severities = Field(
        default_factory=Severities, description="which severity label values route (and lint) as which level"
    )

    @model_validator(mode="after")
    def _references(self) -> Alerting:
        names = [r.name for r in self.receivers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"receiver names must be unique; duplicated: {', '.join(dupes)}")
        if self.routing is not None:
            refs = [("routing.default", self.routing.default)]
            refs += [(f"routing.severity.{k}", v) for k, v in self.routing.severity.items()]
            refs += [(f"routing.team.{k}", v) for k, v in self.routing.team.items()]
            refs += [(f"routing.namespace.{k}", v) for k, v in self.routing.namespace.items()]
            if self.routing.watchdog is not None:
                refs.append(("routing.watchdog", self.routing.watchdog))
            for where, ref in refs:
                if ref not in names:
                    known = ", ".join(names) or "none defined"
                    raise ValueError(f"{where} refers to receiver {ref!r}, which is not in receivers ({known})")
        elif self.receivers:
            raise ValueError("receivers are defined but 'routing.default' is not; say which receiver gets alerts")
        return self
