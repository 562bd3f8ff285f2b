"""Check layer (PURE): which instrumentation profile fits the series a service's targets expose, and why not.

Input is an inventory — metric name → the label names its series carry — of one service as Prometheus has it
(apply/prometheus.py `service_inventory`). A profile fits when its request counter is there with the label the
status comes from; among fitting profiles, the one whose other series (its histogram, the `markers` only that
library writes) are present most completely comes first. Used by `obs services detect` and `obs validate
--prometheus-url`; the names all come from spec/instrumentation.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from observability.spec.instrumentation import PROFILES, UNSUPPORTED, Profile

Inventory = dict[str, set[str]]
"""metric name → label names seen on its series."""


@dataclass(frozen=True)
class Fit:
    profile: str
    score: int
    """How many of the profile's own series are present (request counter, histogram parts, markers)."""
    evidence: str
    """e.g. http_requests_total{code,handler,method}."""


def _status_label(profile: Profile, labels: set[str]) -> str | None:
    return next((name for name in profile.status.labels if name in labels), None)


def profile_problem(profile: Profile, inventory: Inventory) -> str | None:
    """Why `profile` does not fit what the service exposes (None: it fits)."""
    labels = inventory.get(profile.requests)
    if labels is None:
        return f"{profile.requests} is absent"
    if _status_label(profile, labels) is None:
        wanted = " or ".join(profile.status.labels)
        return f"{profile.requests} has no {wanted} label (labels: {', '.join(sorted(labels)) or 'none'})"
    if profile.has_histogram and f"{profile.duration}_bucket" not in inventory:
        return f"{profile.duration}_bucket is absent (latency panels, alerts and SLOs stay empty)"
    return None


def fits(inventory: Inventory) -> list[Fit]:
    """Every profile that fits the inventory, best first."""
    out = []
    for name, profile in PROFILES.items():
        if name == "custom" or profile_problem(profile, inventory) is not None:
            continue
        own = set(profile.metric_names()) | set(profile.markers)
        score = sum(1 for metric in own if metric in inventory)
        labels = sorted(inventory[profile.requests] - {"instance", "job", "namespace", "service", "pod", "node"})
        out.append(Fit(name, score, f"{profile.requests}{{{','.join(labels)}}}"))
    return sorted(out, key=lambda f: (-f.score, f.profile))


def live_bucket_problem(threshold_s: float, le_values: list[str]) -> str | None:
    """Why a latency threshold is not a bucket bound of the histogram Prometheus really has (None: it is, or
    there is no live histogram to judge). `le` values are compared as numbers: 3.x stores 1 as "1.0"."""
    bounds = sorted({float(v) for v in le_values if v not in ("+Inf", "Inf")})
    if not bounds or any(abs(b - threshold_s) <= 1e-9 * max(1.0, abs(b)) for b in bounds):
        return None
    listed = ", ".join(f"{b:g}s" for b in bounds)
    return (
        f"slo.latency.threshold {threshold_s:g}s is not a bucket bound of the live histogram ({listed}); declare "
        "the buckets the service really uses in instrumentation.buckets and pick one of them"
    )


def none_fits_reason(inventory: Inventory) -> str:
    """Why no profile fits: a known unsupported library, or what the service exposes instead."""
    if not inventory:
        return "Prometheus has no series of it: is its scrape job up (obs status, Prometheus → Targets)?"
    for metric, why in UNSUPPORTED.items():
        if metric in inventory:
            return f"it exposes {metric}: {why}"
    prefixes = sorted({name.split("_", 1)[0] + "_*" for name in inventory})
    near = [f"{p.name}: {profile_problem(p, inventory)}" for p in PROFILES.values() if p.name != "custom"]
    return (
        f"none of the profiles' request metrics with a status label is there ({'; '.join(near)}); it exposes "
        f"{len(inventory)} metric names ({', '.join(prefixes[:8])}{', …' if len(prefixes) > 8 else ''}). "
        "Describe its metrics with profile: custom"
    )
