"""Spec layer: the logging pipeline of stack.yaml — Kafka, Elasticsearch, Kibana, Filebeat, the processor."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from observability.spec.common import (
    Component,
    Duration,
    External,
    Resources,
    SecretRef,
    Storage,
    StrictModel,
    resources,
)

_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


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
    resources: Resources = resources("500m", "1Gi", None, "2Gi")
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
    resources: Resources = resources("1", "2Gi", None, "4Gi")
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
    resources: Resources = resources("200m", "1Gi", None, "2Gi")


class Filebeat(Component):
    image: str = "docker.elastic.co/beats/filebeat:8.15.3"
    resources: Resources = resources("100m", "200Mi", None, "500Mi")
    exclude_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])
    topic_routing: Literal["none", "namespace", "app"] = Field(
        default="none",
        description="route to '<logs topic>.<namespace|app>' topics, all consumed by the processor; 'none': logs topic",
    )
    hints: bool = Field(default=True, description="honour co.elastic.logs/enabled annotations on pods")
    compression: Literal["none", "gzip", "snappy", "lz4"] = Field(
        default="lz4", description="codecs Filebeat's Kafka output documents; it has no zstd"
    )
    required_acks: Literal[-1, 0, 1] = Field(
        default=-1,
        description="Kafka acks Filebeat waits for: -1 all in-sync replicas (at least min.insync.replicas), "
        "1 the leader only (an acknowledged event is lost if the leader fails before followers copy it), 0 none",
    )
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
    resources: Resources = resources("500m", "256Mi", None, "512Mi")
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
