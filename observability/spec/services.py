"""Spec layer: the Go services to monitor and their SLOs."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from observability.spec.common import DnsLabel, Duration, StrictModel, duration_seconds
from observability.spec.instrumentation import Instrumentation, Profile, bucket_problem, resolve

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def port_name_problems(name: str) -> list[str]:
    """Why `name` is not a valid container port name (empty: it is one).

    A port name is an IANA service name (RFC 6335 §5.1), checked as Kubernetes does in IsValidPortName
    (kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go): 1–15 of
    [a-z0-9-], at least one letter, no leading, trailing or double hyphen.
    """
    problems = []
    if not 1 <= len(name) <= 15:
        problems.append(f"must be 1 to 15 characters, got {len(name)}")
    if not re.fullmatch(r"[-a-z0-9]*", name):
        problems.append("may contain only lowercase letters, digits and '-'")
    elif not re.search(r"[a-z]", name):
        problems.append("must contain at least one letter")
    if "--" in name:
        problems.append("must not contain '--'")
    if name.startswith("-") or name.endswith("-"):
        problems.append("must not begin or end with '-'")
    return problems


def _port_problem(port: str) -> str | None:
    if re.fullmatch(r"[0-9]+", port):
        # Quoted, a number is a port *name*: Prometheus would keep only a container port named "8080",
        # which no container has, so the service would never be scraped.
        return (
            f"{port!r} is quoted, which makes it a port name that no container has (the service would never be "
            f"scraped); did you mean port: {int(port)} without quotes?"
        )
    problems = port_name_problems(port)
    if not problems:
        return None
    fixed = re.sub(r"-{2,}", "-", re.sub(r"[_\s.]", "-", port.lower())).strip("-")
    hint = f" (did you mean {fixed!r}?)" if fixed and not port_name_problems(fixed) else ""
    return f"{port!r} is not a valid container port name: {'; '.join(problems)}{hint}"


class LatencySLO(StrictModel):
    threshold: Duration = Field(
        description="a request slower than this counts against the SLO; a bucket bound of its histogram, e.g. 250ms"
    )
    target: float = Field(gt=0, lt=100, description="percent of requests faster than threshold, e.g. 99")


class SLO(StrictModel):
    availability: float | None = Field(
        default=None, gt=0, lt=100, description="percent of requests that are not 5xx, e.g. 99.9"
    )
    latency: LatencySLO | None = None
    window: Duration = "30d"

    @model_validator(mode="after")
    def _something(self) -> SLO:
        if self.availability is None and self.latency is None:
            raise ValueError("an slo needs 'availability', 'latency' or both")
        return self


class ServiceMetrics(StrictModel):
    port: int | str = Field(
        description="container port serving metrics: a number (8080, unquoted) or a port name (http-metrics)"
    )
    path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"

    @field_validator("port")
    @classmethod
    def _port(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 1 <= v <= 65535:
            raise ValueError(f"must be a port between 1 and 65535, got {v}")
        if isinstance(v, str) and (problem := _port_problem(v)):
            raise ValueError(problem)
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"must start with '/', got {v!r}")
        return v


class GoService(StrictModel):
    """A Go service whose metrics Prometheus scrapes and whose alerts and dashboards are generated."""

    name: DnsLabel
    namespace: DnsLabel
    selector: dict[str, str] = Field(min_length=1, description="pod labels that select this service's pods")
    metrics: ServiceMetrics
    team: str | None = Field(default=None, description="routes this service's alerts to the team's receiver")
    instrumentation: Instrumentation = Field(
        default_factory=Instrumentation, description="the library writing its HTTP metrics (default promhttp)"
    )
    slo: SLO | None = None

    @property
    def profile(self) -> Profile:
        """The metric and label names of this service's HTTP metrics (spec/instrumentation.py)."""
        return resolve(self.instrumentation)

    @model_validator(mode="after")
    def _latency_threshold_is_a_bucket(self) -> GoService:
        if self.slo is not None and self.slo.latency is not None:
            problem = bucket_problem(
                self.profile, duration_seconds(self.slo.latency.threshold), self.instrumentation.buckets is not None
            )
            if problem:
                raise ValueError(f"slo.latency.threshold: {problem}")
        return self

    @field_validator("selector")
    @classmethod
    def _selector(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _LABEL_KEY.match(key):
                raise ValueError(f"{key!r} is not a valid Kubernetes label key")
            if not isinstance(value, str) or not _LABEL_VALUE.match(value):
                raise ValueError(f"value of {key!r} must be a valid label value (a string), got {value!r}")
        return v
