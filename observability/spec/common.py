"""Spec layer: shared building blocks of the stack.yaml model — value types, validators, Secret references,
resources, storage and the fields every component has.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# Kubernetes quantities: "500m", "1", "1.5", "512Mi", "2Gi", "1e3".
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkKMGTPE]i?|)$")
# Prometheus/Go-style durations as used by Prometheus retention and Alertmanager: "30s", "1h30m", "15d".
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus-style duration such as "1h30m"."""
    return sum(int(n) * _DURATION_UNITS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", value))


def _check_quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"must be a Kubernetes quantity such as 500m, 2, 512Mi or 10Gi, got {value!r}")
    return value


def _check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"must be a duration such as 30s, 15m, 12h or 15d, got {value!r}")
    return value


def _check_dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"must be a DNS label (lowercase letters, digits and '-', at most 63 characters, "
            f"starting and ending with a letter or digit), got {value!r}"
        )
    return value


Quantity = Annotated[str, AfterValidator(_check_quantity)]
Duration = Annotated[str, AfterValidator(_check_duration)]
DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]


class StrictModel(BaseModel):
    """Base for every spec model: unknown keys are errors, values are never coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SecretRef(StrictModel):
    """A key in a Kubernetes Secret; the value itself never appears in stack.yaml."""

    name: str
    key: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _DNS_SUBDOMAIN.match(v):
            raise ValueError(f"must be a valid Secret name (lowercase DNS subdomain), got {v!r}")
        return v

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not re.match(r"^[-._a-zA-Z0-9]+$", v):
            raise ValueError(f"must be a valid Secret key (letters, digits, '-', '_', '.'), got {v!r}")
        return v


class ResourceAmounts(StrictModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(StrictModel):
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


class Storage(StrictModel):
    size: Quantity = "10Gi"
    storage_class: str | None = Field(
        default=None, description="StorageClass name; null uses cluster.storage_class, then the default"
    )


def resources(cpu: str, memory: str, cpu_limit: str | None, memory_limit: str) -> Resources:
    return Resources(
        requests=ResourceAmounts(cpu=cpu, memory=memory),
        limits=ResourceAmounts(cpu=cpu_limit, memory=memory_limit),
    )


class Component(StrictModel):
    """Fields shared by every workload the stack runs."""

    enabled: bool = True
    image: str
    replicas: int = Field(default=1, ge=1, le=99)
    resources: Resources = Resources()

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError(f"must be a container image reference such as repo/name:tag, got {v!r}")
        if ":" not in v.rsplit("/", 1)[-1] and "@" not in v:
            raise ValueError(f"must pin a tag or digest (e.g. {v}:1.2.3); 'latest' is not reproducible")
        return v


class External(StrictModel):
    """Where an externally run service lives and how to authenticate."""

    url: str
    credentials_secret: SecretRef | None = Field(
        default=None, description="Secret with 'username' and 'password' keys, or a token key"
    )
    tls_skip_verify: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"must be an http:// or https:// URL, got {v!r}")
        return v.rstrip("/")
