"""Spec layer: the typed model of the log processor's processor.yaml (pydantic v2, unknown keys forbidden).

It lives in spec/ because both sides need it: render/processor.py writes it from the Stack, and the
processor (pipeline/, cli/process_cmds.py) reads it. Environment variables override any scalar field as
`OBS_PROCESSOR_<SECTION>_<FIELD>` (lists comma-separated); credentials come only from the environment:

  OBS_PROCESSOR_ELASTICSEARCH_USERNAME / OBS_PROCESSOR_ELASTICSEARCH_PASSWORD   (or ..._API_KEY)
  OBS_PROCESSOR_KAFKA_USERNAME / OBS_PROCESSOR_KAFKA_PASSWORD                   (SASL)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from observability.errors import PipelineError
from observability.spec.model import DropRule, Duration, duration_seconds
from observability.spec.yamlsafe import YamlInputError, load_yaml

ENV_PREFIX = "OBS_PROCESSOR_"
DEFAULT_CONFIG_PATH = "/etc/processor/processor.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    bootstrap_servers: list[str] = Field(min_length=1)
    topic: str = "logs"
    topic_pattern: str | None = Field(
        default=None, description="also consume topics matching this regex (Filebeat topic routing: '^logs\\..+')"
    )
    group: str = "observability-processor"
    dead_letter_topic: str = "logs-dead-letter"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    username: SecretStr | None = None
    password: SecretStr | None = None
    max_message_bytes: int = Field(default=1_000_000, ge=1024, description="larger events are dead-lettered")
    client_config: dict[str, str | int | bool] = Field(
        default_factory=dict, description="extra librdkafka settings (advanced; overrides ours)"
    )

    @field_validator("topic_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("^"):
            raise ValueError(f"must be a regular expression starting with '^' (librdkafka's regex form), got {v!r}")
        return v

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, v: list[str]) -> list[str]:
        for server in v:
            if not re.match(r"^[A-Za-z0-9.\[\]:-]+:[0-9]{1,5}$", server):
                raise ValueError(f"each server must be host:port, got {server!r}")
        return v


class ElasticsearchSettings(_Section):
    url: str
    username: SecretStr | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    tls_skip_verify: bool = False
    request_timeout: Duration = "30s"
    index: str | None = Field(default=None, description="index name pattern; null = data streams")
    data_stream_dataset: str = "go"
    data_stream_namespace: str = "default"
    retention: Duration = "30d"
    setup: bool = Field(default=True, description="create the index template and ILM policy at start")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"must be an http:// or https:// URL, got {v!r}")
        return v.rstrip("/")

    @field_validator("data_stream_dataset", "data_stream_namespace")
    @classmethod
    def _ds_part(cls, v: str) -> str:
        # Elasticsearch data stream naming scheme: lowercase, no '-' (it separates type-dataset-namespace).
        if not re.match(r"^[a-z0-9_.]{1,100}$", v):
            raise ValueError(f"must be lowercase letters, digits, '_' or '.', without '-', got {v!r}")
        return v


class ProcessingSettings(_Section):
    batch_size: int = Field(default=2000, ge=1, le=100_000)
    flush_interval: Duration = "1s"
    max_in_flight: int = Field(default=100_000, ge=100)
    environment: str | None = None
    drop: list[DropRule] = Field(default_factory=list)
    redact_fields: list[str] = Field(
        default_factory=lambda: ["authorization", "password", "passwd", "secret", "token", "api_key", "cookie"]
    )
    shutdown_grace: Duration = Field(default="25s", description="drain time after SIGTERM")


class MetricsSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(default=9102, ge=0, le=65535, description="0 picks a free port")


class ProcessorConfig(_Section):
    """The whole processor.yaml."""

    kafka: KafkaSettings
    elasticsearch: ElasticsearchSettings
    processing: ProcessingSettings = ProcessingSettings()
    metrics: MetricsSettings = MetricsSettings()

    @property
    def flush_interval_s(self) -> float:
        return duration_seconds(self.processing.flush_interval)

    @property
    def shutdown_grace_s(self) -> float:
        return duration_seconds(self.processing.shutdown_grace)


_SECTIONS: dict[str, type[_Section]] = {
    "kafka": KafkaSettings,
    "elasticsearch": ElasticsearchSettings,
    "processing": ProcessingSettings,
    "metrics": MetricsSettings,
}


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """A copy of data with OBS_PROCESSOR_<SECTION>_<FIELD> values applied (scalars and lists only)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for section, model in _SECTIONS.items():
        for name, info in model.model_fields.items():
            value = env.get(f"{ENV_PREFIX}{section.upper()}_{name.upper()}")
            if value is None:
                continue
            target = out.setdefault(section, {})
            if not isinstance(target, dict):
                continue
            annotation = str(info.annotation)
            if annotation.startswith("list["):
                target[name] = [item.strip() for item in value.split(",") if item.strip()]
            elif annotation.startswith("dict["):
                continue
            else:
                target[name] = value
    return out


def parse_processor_config(text: str, source: str, env: Mapping[str, str] | None = None) -> ProcessorConfig:
    """Validate processor.yaml text plus environment overrides; raise PipelineError naming each bad field."""
    try:
        data = (load_yaml(text, source, plain=True) if text.strip() else None) or {}
    except YamlInputError as e:
        raise PipelineError("\n".join(e.problems)) from None
    if not isinstance(data, dict):
        raise PipelineError(f"{source}: the top level must be a mapping with 'kafka:' and 'elasticsearch:'")
    data = _apply_env(data, env or {})
    try:
        return ProcessorConfig.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = err["loc"]
            where = ".".join(str(p) for p in loc)
            hint = ""
            if len(loc) >= 2 and loc[0] in _SECTIONS and err["type"] != "extra_forbidden":
                env_name = f"{ENV_PREFIX}{loc[0]}_{loc[1]}".upper()
                hint = f" (set it in {source} or ${env_name})"
            problems.append(f"  {where}: {err['msg']}{hint}")
        raise PipelineError(f"{source}: invalid processor configuration\n" + "\n".join(problems)) from None
