"""Spec layer: the typed model of `stack.yaml` (pydantic v2, unknown keys forbidden).

Keys are snake_case, like Prometheus and Alertmanager configuration. Defaults are production-leaning
but small enough for a test cluster. Credentials are only ever *references* to Kubernetes Secrets.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Kubernetes quantities: "500m", "1", "1.5", "512Mi", "2Gi", "1e3".
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkKMGTPE]i?|)$")
# Prometheus/Go-style durations as used by Prometheus retention and Alertmanager: "30s", "1h30m", "15d".
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")

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


def _resources(cpu: str, memory: str, cpu_limit: str | None, memory_limit: str) -> Resources:
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


class ExternalKafka(StrictModel):
    bootstrap_servers: list[str] = Field(min_length=1)
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    credentials_secret: SecretRef | None = None
    tls: bool = False

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, v: list[str]) -> list[str]:
        for server in v:
            if not re.match(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", server):
                raise ValueError(f"each server must be host:port, got {server!r}")
        return v

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> ExternalKafka:
        if self.sasl_mechanism and self.credentials_secret is None:
            raise ValueError("sasl_mechanism is set, so credentials_secret (username/password keys) is required")
        return self


class Topic(StrictModel):
    name: str
    partitions: int | None = Field(default=None, ge=1, le=10000)
    replication: int | None = Field(default=None, ge=1, le=10)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _TOPIC.match(v) or v in {".", ".."}:
            raise ValueError(f"must be a Kafka topic name (letters, digits, '.', '_', '-'), got {v!r}")
        return v


class Topics(StrictModel):
    logs: Topic = Topic(name="logs")
    dead_letter: Topic = Topic(name="logs-dead-letter", partitions=3)


class Kafka(Component):
    mode: Literal["managed", "external"] = "managed"
    image: str = "apache/kafka:3.8.1"
    replicas: int = Field(default=3, ge=1, le=99)
    resources: Resources = _resources("500m", "1Gi", None, "2Gi")
    storage: Storage = Storage(size="20Gi")
    retention: Duration = "72h"
    partitions: int = Field(default=12, ge=1, le=10000, description="default partitions of each topic")
    replication: int = Field(default=3, ge=1, le=10, description="default replication factor of each topic")
    topics: Topics = Topics()
    external: ExternalKafka | None = None

    def topic_partitions(self, topic: Topic) -> int:
        return topic.partitions or self.partitions

    def topic_replication(self, topic: Topic) -> int:
        return topic.replication or min(self.replication, self.replicas)

    @model_validator(mode="after")
    def _consistent(self) -> Kafka:
        if self.mode == "external" and self.external is None:
            raise ValueError("mode is 'external', so 'external.bootstrap_servers' must say where Kafka runs")
        if self.mode == "managed" and self.enabled:
            if "replication" in self.model_fields_set and self.replication > self.replicas:
                raise ValueError(
                    f"replication {self.replication} exceeds {self.replicas} broker replicas; "
                    "lower replication or add replicas"
                )
            for topic in (self.topics.logs, self.topics.dead_letter):
                if self.topic_replication(topic) > self.replicas:
                    raise ValueError(
                        f"topic {topic.name!r} replication {self.topic_replication(topic)} exceeds "
                        f"{self.replicas} broker replicas; lower replication or add replicas"
                    )
        if self.topics.logs.name == self.topics.dead_letter.name:
            raise ValueError("topics.logs and topics.dead_letter must be different topics")
        return self


class Elasticsearch(Component):
    mode: Literal["managed", "external"] = "managed"
    image: str = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"
    replicas: int = Field(default=3, ge=1, le=99)
    resources: Resources = _resources("1", "2Gi", None, "4Gi")
    heap: str = Field(default="1g", description="JVM heap (-Xms/-Xmx), about half the memory limit")
    storage: Storage = Storage(size="50Gi")
    retention: Duration = Field(default="30d", description="ILM deletes log data older than this")
    external: External | None = None

    @field_validator("heap")
    @classmethod
    def _heap(cls, v: str) -> str:
        if not re.match(r"^[0-9]+[mg]$", v):
            raise ValueError(f"must be a JVM size such as 512m or 2g, got {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Elasticsearch:
        if self.mode == "external" and self.external is None:
            raise ValueError("mode is 'external', so 'external.url' must say where Elasticsearch runs")
        return self


class Kibana(Component):
    image: str = "docker.elastic.co/kibana/kibana:8.15.3"
    resources: Resources = _resources("200m", "1Gi", None, "2Gi")


class Filebeat(Component):
    image: str = "docker.elastic.co/beats/filebeat:8.15.3"
    resources: Resources = _resources("100m", "200Mi", None, "500Mi")
    exclude_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])
    topic_routing: Literal["none", "namespace", "app"] = Field(
        default="none",
        description="route to '<logs topic>.<namespace|app>' topics, all consumed by the processor; 'none': logs topic",
    )
    hints: bool = Field(default=True, description="honour co.elastic.logs/enabled annotations on pods")
    compression: Literal["none", "gzip", "snappy", "lz4"] = Field(
        default="lz4", description="codecs Filebeat's Kafka output documents; it has no zstd"
    )
    required_acks: Literal[-1, 0, 1] = 1
    max_message_bytes: int = Field(default=1_000_000, ge=1024)
    exporter_image: str = Field(
        default="docker.io/trustpilot/beat-exporter:0.4.0",
        description="sidecar turning Filebeat's JSON monitoring endpoint into Prometheus metrics",
    )


class DropRule(StrictModel):
    """Drop events whose field equals (or matches) a value before they are stored."""

    field: str
    equals: str | None = None
    matches: str | None = Field(default=None, description="a Python regular expression")

    @model_validator(mode="after")
    def _one_condition(self) -> DropRule:
        if (self.equals is None) == (self.matches is None):
            raise ValueError("set exactly one of 'equals' or 'matches'")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as e:
                raise ValueError(f"'matches' is not a valid regular expression: {e}") from None
        return self


class Processor(Component):
    image: str = "ghcr.io/observability/processor:0.1.0"
    replicas: int = Field(default=2, ge=1, le=99)
    resources: Resources = _resources("500m", "256Mi", None, "512Mi")
    consumer_group: str = "observability-processor"
    batch_size: int = Field(default=2000, ge=1, le=100_000, description="events per Elasticsearch bulk request")
    flush_interval: Duration = "1s"
    max_in_flight: int = Field(default=100_000, ge=100, description="events held before consumption pauses")
    index: str | None = Field(
        default=None, description="index name pattern; null writes data streams logs-<dataset>-<namespace>"
    )
    data_stream_dataset: str = "go"
    data_stream_namespace: str = "default"
    environment: str | None = Field(default=None, description="service.environment on every document")
    drop: list[DropRule] = Field(default_factory=list)
    redact_fields: list[str] = Field(
        default_factory=lambda: [
            "authorization",
            "password",
            "passwd",
            "secret",
            "token",
            "api_key",
            "cookie",
        ]
    )
    metrics_port: int = Field(default=9102, ge=1, le=65535)


class Logging(StrictModel):
    enabled: bool = True
    kafka: Kafka = Kafka()
    elasticsearch: Elasticsearch = Elasticsearch()
    kibana: Kibana = Kibana()
    filebeat: Filebeat = Filebeat()
    processor: Processor = Processor()


class Prometheus(Component):
    mode: Literal["managed", "external"] = "managed"
    image: str = "quay.io/prometheus/prometheus:v2.54.1"
    resources: Resources = _resources("500m", "2Gi", None, "4Gi")
    storage: Storage = Storage(size="50Gi")
    retention: Duration = "15d"
    scrape_interval: Duration = "30s"
    evaluation_interval: Duration = "30s"
    external: External | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Prometheus:
        if self.mode == "external" and self.external is None:
            raise ValueError("mode is 'external', so 'external.url' must say where Prometheus runs")
        return self


class Alertmanager(Component):
    image: str = "quay.io/prometheus/alertmanager:v0.27.0"
    resources: Resources = _resources("100m", "128Mi", None, "256Mi")
    storage: Storage = Storage(size="2Gi")
    retention: Duration = "120h"


class Grafana(Component):
    mode: Literal["managed", "external"] = "managed"
    image: str = "docker.io/grafana/grafana:11.3.0"
    resources: Resources = _resources("100m", "256Mi", None, "512Mi")
    storage: Storage = Storage(size="5Gi")
    external: External | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Grafana:
        if self.mode == "external" and self.external is None:
            raise ValueError("mode is 'external', so 'external.url' must say where Grafana runs")
        return self


class NodeExporter(Component):
    image: str = "quay.io/prometheus/node-exporter:v1.8.2"
    resources: Resources = _resources("50m", "64Mi", None, "128Mi")


class KubeStateMetrics(Component):
    image: str = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"
    resources: Resources = _resources("50m", "128Mi", None, "256Mi")


class KafkaExporter(Component):
    image: str = "docker.io/danielqsj/kafka-exporter:v1.8.0"
    resources: Resources = _resources("50m", "64Mi", None, "128Mi")


class ElasticsearchExporter(Component):
    image: str = "quay.io/prometheuscommunity/elasticsearch-exporter:v1.8.0"
    resources: Resources = _resources("50m", "64Mi", None, "128Mi")


class Metrics(StrictModel):
    enabled: bool = True
    prometheus: Prometheus = Prometheus()
    alertmanager: Alertmanager = Alertmanager()
    grafana: Grafana = Grafana()
    node_exporter: NodeExporter = NodeExporter()
    kube_state_metrics: KubeStateMetrics = KubeStateMetrics()
    kafka_exporter: KafkaExporter = KafkaExporter()
    elasticsearch_exporter: ElasticsearchExporter = ElasticsearchExporter()


class LatencySLO(StrictModel):
    threshold: Duration = Field(description="a request slower than this counts against the SLO, e.g. 300ms")
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
    port: int | str = Field(description="container port number or name serving metrics")
    path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"

    @field_validator("port")
    @classmethod
    def _port(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 1 <= v <= 65535:
            raise ValueError(f"must be a port between 1 and 65535, got {v}")
        if isinstance(v, str) and not re.match(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$", v):
            raise ValueError(f"must be a port number or a container port name (IANA_SVC_NAME), got {v!r}")
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
    slo: SLO | None = None

    @field_validator("selector")
    @classmethod
    def _selector(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _LABEL_KEY.match(key):
                raise ValueError(f"{key!r} is not a valid Kubernetes label key")
            if not isinstance(value, str) or not _LABEL_VALUE.match(value):
                raise ValueError(f"value of {key!r} must be a valid label value (a string), got {value!r}")
        return v


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


class Routing(StrictModel):
    default: str = Field(description="receiver for alerts no other rule matches")
    severity: dict[Literal["page", "ticket", "info"], str] = Field(default_factory=dict)
    team: dict[str, str] = Field(default_factory=dict, description="team label → receiver")
    namespace: dict[str, str] = Field(default_factory=dict, description="namespace label → receiver")
    group_by: list[str] = Field(default_factory=lambda: ["alertname", "namespace", "service"])
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"


class Alerting(StrictModel):
    receivers: list[Receiver] = Field(default_factory=list)
    routing: Routing | None = None

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
            for where, ref in refs:
                if ref not in names:
                    known = ", ".join(names) or "none defined"
                    raise ValueError(f"{where} refers to receiver {ref!r}, which is not in receivers ({known})")
        elif self.receivers:
            raise ValueError("receivers are defined but 'routing.default' is not; say which receiver gets alerts")
        return self


class Cluster(StrictModel):
    name: str
    namespace: DnsLabel = "observability"
    kube_version: str | None = Field(default=None, description="target Kubernetes minor version, e.g. '1.29'")
    storage_class: str | None = Field(default=None, description="default StorageClass; null uses the cluster's")

    @field_validator("kube_version")
    @classmethod
    def _version(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^1\.[0-9]+$", v):
            raise ValueError(f"must be a Kubernetes minor version such as '1.29' (quoted), got {v!r}")
        return v


class Stack(StrictModel):
    """The whole stack.yaml."""

    name: DnsLabel = Field(default="obs", description="instance name; app.kubernetes.io/instance on every object")
    cluster: Cluster
    logging: Logging = Logging()
    metrics: Metrics = Metrics()
    services: list[GoService] = Field(default_factory=list)
    alerting: Alerting = Alerting()

    @model_validator(mode="after")
    def _unique_services(self) -> Stack:
        seen: set[tuple[str, str]] = set()
        for svc in self.services:
            if (svc.namespace, svc.name) in seen:
                raise ValueError(f"service {svc.namespace}/{svc.name} is declared twice")
            seen.add((svc.namespace, svc.name))
        topics = self.logging.kafka.topics
        if self.logging.filebeat.topic_routing != "none" and topics.dead_letter.name.startswith(f"{topics.logs.name}."):
            raise ValueError(
                f"logging.kafka.topics.dead_letter {topics.dead_letter.name!r} starts with '{topics.logs.name}.', the "
                "prefix of routed topics the processor consumes; rename it (e.g. logs-dead-letter)"
            )
        if self.logging.enabled and self.logging.processor.enabled and self.logging.kafka.enabled is False:
            raise ValueError("logging.processor needs logging.kafka (enable it, or use mode: external)")
        return self
