"""Spec layer: how a Go service is instrumented — the one table of the metric and label names each library writes.

`services[].instrumentation` names a profile (or describes `custom` metrics). Everything that reads a service's
HTTP metrics — the recording rules the alerts and dashboards use (render/http_rules.py), the SLO rules
(render/rules.py), detection (`obs services detect`, check/instrumentation.py) and `obs validate
--prometheus-url` — takes the names from `resolve()` here, so a library's naming lives in exactly one place.

Every name below is taken from the library's source (cited per profile). The canonical vocabulary the recorded
series use is `method`, `route` and `status`, with errors = the status values matching `errors`.

Default: `promhttp`. It is what client_golang's own middleware writes (`code`, `method`, the route curried in as
`handler`) under the names the Prometheus naming guide uses in its examples, and it also reads the `status`/`route`
labels this project's rules assumed before profiles existed, so services instrumented that way keep working.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import Field, field_validator, model_validator

from observability.spec.common import StrictModel

ProfileName = Literal["promhttp", "otel", "go-http-metrics", "gin-prometheus", "grpc", "custom"]
DurationKind = Literal["histogram", "summary"]

# prometheus/client_golang prometheus/histogram.go: `var DefBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1,
# 2.5, 5, 10}` — the buckets of every client_golang histogram that sets none.
GO_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# open-telemetry/opentelemetry-go-contrib instrumentation/net/http/otelhttp/internal/semconv/server.go (v0.72):
# http.server.request.duration is created with WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1,
# 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10) — the semconv advice; the SDK's own default (sdk/metric/reader.go:
# 0, 5, 10, 25, …, 10000) is meant for milliseconds and only applies to instruments without advice.
OTEL_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# grpc-ecosystem/grpc-gateway runtime/errors.go HTTPStatusFromCode: the gRPC codes it answers with a 5xx status
# (Unknown, DeadlineExceeded → 504, Unimplemented, Internal, Unavailable, DataLoss) — server-side failures.
GRPC_SERVER_ERRORS = "Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"
HTTP_SERVER_ERRORS = "5.."

CANONICAL_LABELS = ("method", "route", "status")


@dataclass(frozen=True)
class LabelSource:
    """Where a canonical label comes from: the first non-empty of `labels`, or all of them joined by `join`."""

    labels: tuple[str, ...] = ()
    join: str | None = None


@dataclass(frozen=True)
class Profile:
    """The metric and label names one instrumentation library writes (after Prometheus' own renaming)."""

    name: str
    library: str
    """The Go module (and package) that writes these metrics."""
    source: str
    """repo + path of the code the names were taken from."""
    requests: str
    """A counter with one increment per request, labelled with the status (for OTel: the histogram's _count)."""
    duration: str | None
    """Base name of the request duration metric (…_bucket/_sum/_count are appended), None when there is none."""
    duration_kind: DurationKind | None
    method: LabelSource
    status: LabelSource
    route: LabelSource
    duration_has_route: bool
    """Whether the duration metric carries the route (zsais' summary has no labels at all)."""
    errors: str
    """RE2 regex of the status values that count as failed requests."""
    buckets: tuple[float, ...]
    """Bucket upper bounds of the duration histogram (the library's default unless the spec declares others)."""
    notes: str = ""
    markers: tuple[str, ...] = ()
    """Other series only this library writes: they tell it apart from a profile with the same request metric."""

    @property
    def has_histogram(self) -> bool:
        return self.duration is not None and self.duration_kind == "histogram"

    def label(self, canonical: str) -> LabelSource:
        return {"method": self.method, "route": self.route, "status": self.status}[canonical]

    def metric_names(self) -> tuple[str, ...]:
        """The series names a service with this profile exposes (for detection and `obs validate`)."""
        names = [self.requests]
        if self.duration is not None:
            suffixes = ("_bucket", "_sum", "_count") if self.has_histogram else ("_sum", "_count")
            names += [self.duration + s for s in suffixes if self.duration + s != self.requests]
        return tuple(dict.fromkeys(names))


PROFILES: dict[str, Profile] = {
    "promhttp": Profile(
        name="promhttp",
        library="github.com/prometheus/client_golang/prometheus/promhttp (InstrumentHandlerCounter/Duration)",
        source=(
            "prometheus/client_golang prometheus/promhttp/instrument_server.go: only `code` and `method` may stay "
            "uncurried; the route is curried in, by convention as `handler`"
        ),
        requests="http_requests_total",
        duration="http_request_duration_seconds",
        duration_kind="histogram",
        method=LabelSource(("method",)),
        # `status`/`route`: the names this project's rules used before profiles, read as a fallback
        status=LabelSource(("code", "status")),
        route=LabelSource(("handler", "route")),
        duration_has_route=True,
        errors=HTTP_SERVER_ERRORS,
        buckets=GO_DEFAULT_BUCKETS,
        markers=("http_requests_total",),
        notes="promhttp lowercases methods it knows (get, post); you name the metrics: set requests_metric and "
        "duration_metric when yours differ from http_requests_total / http_request_duration_seconds.",
    ),
    "otel": Profile(
        name="otel",
        library="go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp + go.opentelemetry.io/otel/exporters/"
        "prometheus",
        source=(
            "otelhttp internal/semconv/server.go (http.server.request.duration, unit s, attributes "
            "http.request.method, http.response.status_code, http.route); exporters/prometheus config.go "
            "(UnderscoreEscapingWithSuffixes: unit suffix _seconds, _total on counters) and exporter.go "
            "(otel_scope_name/version/schema_url labels)"
        ),
        requests="http_server_request_duration_seconds_count",
        duration="http_server_request_duration_seconds",
        duration_kind="histogram",
        method=LabelSource(("http_request_method",)),
        status=LabelSource(("http_response_status_code",)),
        route=LabelSource(("http_route",)),
        duration_has_route=True,
        errors=HTTP_SERVER_ERRORS,
        buckets=OTEL_HTTP_BUCKETS,
        markers=("http_server_request_body_size_bytes_count", "http_server_response_body_size_bytes_count"),
        notes="stable HTTP semantic conventions only (otelhttp ≥ v0.5x); the older http_server_duration_milliseconds"
        "{http_method,http_status_code} is not supported (its buckets are in milliseconds). http_route is set from "
        "the ServeMux pattern (Go ≥ 1.22) or otelhttp.WithRouteTag.",
    ),
    "go-http-metrics": Profile(
        name="go-http-metrics",
        library="github.com/slok/go-http-metrics (metrics/prometheus recorder)",
        source="slok/go-http-metrics metrics/prometheus/prometheus.go: http_request_duration_seconds{service,handler,"
        "method,code}, buckets prometheus.DefBuckets",
        requests="http_request_duration_seconds_count",
        duration="http_request_duration_seconds",
        duration_kind="histogram",
        method=LabelSource(("method",)),
        status=LabelSource(("code",)),
        route=LabelSource(("handler",)),
        duration_has_route=True,
        errors=HTTP_SERVER_ERRORS,
        buckets=GO_DEFAULT_BUCKETS,
        markers=("http_requests_inflight", "http_response_size_bytes_count"),
        notes="its own `service` label becomes exported_service (the scrape job's service label wins); with "
        "GroupedStatus codes read 5xx, which the error regex matches too.",
    ),
    "gin-prometheus": Profile(
        name="gin-prometheus",
        library='github.com/zsais/go-gin-prometheus (NewPrometheus("gin"))',
        source="zsais/go-gin-prometheus middleware.go (v0.1.0): <subsystem>_requests_total{code,method,handler,host,"
        "url}, <subsystem>_request_duration_seconds a Summary without labels or quantiles",
        requests="gin_requests_total",
        duration="gin_request_duration_seconds",
        duration_kind="summary",
        method=LabelSource(("method",)),
        status=LabelSource(("code",)),
        route=LabelSource(("url",)),
        duration_has_route=False,
        errors=HTTP_SERVER_ERRORS,
        buckets=(),
        markers=("gin_request_size_bytes_count", "gin_response_size_bytes_count"),
        notes="the most used Gin middleware (452 stars, 133 forks; penglongli/gin-metrics and chenjiandongx/ginprom "
        "are less used and not served by the module proxy here). Its duration is a Summary without buckets: mean "
        "latency works, p99 panels, GoServiceHighLatency and latency SLOs cannot. `url` is the raw URL unless "
        "ReqCntURLLabelMappingFn maps it to the route (c.FullPath()), as its README recommends. Metric names "
        "start with the subsystem you pass to NewPrometheus: set requests_metric/duration_metric for another.",
    ),
    "grpc": Profile(
        name="grpc",
        library="github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus (ServerMetrics)",
        source="grpc-ecosystem/go-grpc-middleware providers/prometheus/server_metrics.go: grpc_server_handled_total"
        "{grpc_type,grpc_service,grpc_method,grpc_code}, grpc_server_handling_seconds (DefBuckets, only with "
        "WithServerHandlingTimeHistogram)",
        requests="grpc_server_handled_total",
        duration="grpc_server_handling_seconds",
        duration_kind="histogram",
        method=LabelSource(("grpc_type",)),
        status=LabelSource(("grpc_code",)),
        route=LabelSource(("grpc_service", "grpc_method"), join="/"),
        duration_has_route=True,
        errors=GRPC_SERVER_ERRORS,
        buckets=GO_DEFAULT_BUCKETS,
        markers=("grpc_server_started_total", "grpc_server_msg_received_total"),
        notes="route = grpc_service/grpc_method, method = grpc_type (unary, server_stream, …), status = the gRPC "
        "code; errors are the codes grpc-gateway answers with a 5xx. Latency needs "
        "WithServerHandlingTimeHistogram().",
    ),
}


# Series of libraries (or library versions) no profile supports, and why: detection says so instead of "none".
# (penglongli/gin-metrics ginmetrics/middleware.go names gin_uri_request_total and gin_request_duration.)
UNSUPPORTED = {
    "http_server_duration_milliseconds_count": (
        "the older OpenTelemetry HTTP conventions (http.server.duration in milliseconds, otelhttp before the stable "
        "semconv): upgrade otelhttp so it writes http_server_request_duration_seconds, then use profile otel"
    ),
    "gin_uri_request_total": (
        "penglongli/gin-metrics (gin_uri_request_total{uri,method,code}, gin_request_duration{uri}): describe it with "
        "profile custom (requests_metric gin_uri_request_total, labels {status: code, method: method, route: uri}, "
        "duration_metric gin_request_duration)"
    ),
}


class CustomLabels(StrictModel):
    """Which of your labels carry the request's method, status and route (the canonical names on the left)."""

    method: str | None = Field(default=None, description="label with the HTTP method (or RPC type)")
    status: str = Field(description="label with the status code whose values `errors` matches")
    route: str | None = Field(default=None, description="label with the route template (bounded, not the raw URL)")

    @field_validator("method", "status", "route")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", v):
            raise ValueError(f"must be a Prometheus label name (letters, digits, '_'), got {v!r}")
        return v


def _metric_name(v: str | None) -> str | None:
    if v is not None and not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", v):
        raise ValueError(f"must be a Prometheus metric name, got {v!r}")
    return v


class Instrumentation(StrictModel):
    """`services[].instrumentation`: a profile name, or a mapping with the profile and what differs from it."""

    profile: ProfileName = Field(default="promhttp", description="the library; see docs/alerts.md for each one's names")
    requests_metric: str | None = Field(
        default=None, description="counter with one increment per request (default: the profile's)"
    )
    duration_metric: str | None = Field(
        default=None, description="request duration histogram base name, in seconds (default: the profile's)"
    )
    duration_type: DurationKind = Field(default="histogram", description="custom only: histogram or summary")
    buckets: list[float] | None = Field(
        default=None, description="the histogram's bucket bounds when not the library's default (seconds)"
    )
    labels: CustomLabels | None = Field(default=None, description="custom only: your method/status/route labels")
    errors: str | None = Field(default=None, description="custom only: regex of failed status values (default 5..)")

    @field_validator("requests_metric", "duration_metric")
    @classmethod
    def _metric(cls, v: str | None) -> str | None:
        return _metric_name(v)

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, v: list[float] | None) -> list[float] | None:
        bad = v is not None and (
            not v or any(not math.isfinite(b) for b in v) or any(b <= a for a, b in itertools.pairwise(v))
        )
        if bad:
            raise ValueError(f"must be finite bucket bounds in increasing order, got {v}")
        return v

    @field_validator("errors")
    @classmethod
    def _errors(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"is not a regular expression: {e}") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Instrumentation:
        custom_only = [k for k in ("labels", "errors") if getattr(self, k) is not None]
        if "duration_type" in self.model_fields_set:
            custom_only.append("duration_type")
        if self.profile != "custom" and custom_only:
            raise ValueError(
                f"{', '.join(custom_only)} can only be set with profile: custom (profile {self.profile} fixes them "
                "as the library writes them)"
            )
        if self.profile == "custom":
            if self.labels is None:
                raise ValueError("profile custom needs 'labels' with at least 'status' (e.g. {status: code})")
            if self.requests_metric is None and self.duration_metric is None:
                raise ValueError("profile custom needs 'requests_metric', 'duration_metric' or both")
        if self.buckets is not None and self.profile == "gin-prometheus":
            raise ValueError("gin-prometheus records a summary, which has no buckets; remove 'buckets'")
        return self

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        """`instrumentation: otel` is short for `instrumentation: {profile: otel}`."""
        return {"profile": value} if isinstance(value, str) else value


def resolve(instr: Instrumentation) -> Profile:
    """The profile with the spec's overrides applied: the names every rule and panel of the service uses."""
    if instr.profile != "custom":
        base = PROFILES[instr.profile]
        return replace(
            base,
            requests=instr.requests_metric or _requests_default(base, instr.duration_metric),
            duration=instr.duration_metric or base.duration,
            buckets=tuple(instr.buckets) if instr.buckets is not None else base.buckets,
        )
    labels = instr.labels
    assert labels is not None  # guaranteed by Instrumentation validation
    duration = instr.duration_metric
    return Profile(
        name="custom",
        library="your own metrics",
        source="services[].instrumentation in the stack spec",
        requests=instr.requests_metric or f"{duration}_count",
        duration=duration,
        duration_kind=instr.duration_type if duration else None,
        method=LabelSource((labels.method,) if labels.method else ()),
        status=LabelSource((labels.status,)),
        route=LabelSource((labels.route,) if labels.route else ()),
        duration_has_route=labels.route is not None,
        errors=instr.errors or HTTP_SERVER_ERRORS,
        buckets=tuple(instr.buckets or ()) if instr.duration_type == "histogram" else (),
    )


def _requests_default(base: Profile, duration: str | None) -> str:
    """A renamed duration histogram renames the request count of profiles that count with its _count."""
    if duration and base.duration and base.requests == f"{base.duration}_count":
        return f"{duration}_count"
    return base.requests


def format_bound(x: float) -> str:
    """A bucket bound as Go's client libraries write it in `le` (shortest %g form: 0.25, 1, 2.5)."""
    return f"{x:g}"


def bucket_problem(profile: Profile, threshold_s: float, declared: bool) -> str | None:
    """Why a latency SLO threshold cannot work with this profile's histogram, or None when it is a bucket bound."""
    if not profile.has_histogram:
        what = "has no request duration histogram" if profile.duration is None else "records duration as a summary"
        return (
            f"instrumentation {profile.name} {what}, so a latency SLO cannot be measured; remove slo.latency or "
            "instrument the service with a histogram (e.g. promhttp, otel)"
        )
    if not profile.buckets:
        return "declare the histogram's bucket bounds in instrumentation.buckets so the threshold can be checked"
    if any(math.isclose(threshold_s, b, rel_tol=1e-9) for b in profile.buckets):
        return None
    where = "instrumentation.buckets" if declared else f"the {profile.name} default buckets"
    bounds = ", ".join(f"{format_bound(b)}s" for b in profile.buckets)
    return (
        f"threshold {format_bound(threshold_s)}s is not a bucket bound of {profile.duration} ({where}: {bounds}); "
        "pick one of them, or declare the buckets your service really uses in instrumentation.buckets"
    )
