"""Every rendered filebeat.yml variant, checked by the real Filebeat (`filebeat test config`, `export config`).

The binary is the `filebeat` real part (tools/filebeat/). `test config` loads the beat, its processors and
the output (a bad Kafka codec fails it) but not the inputs: a broken multiline pattern still says
"Config OK"; inputs are checked only when Filebeat starts them. Environment variables the DaemonSet fills in
(NODE_NAME, the Kafka credentials) are set as the pod would have them. A config Filebeat must reject
(an unknown compression codec) is checked too, so the check is known to be able to fail.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "render"))

from render_fixtures import example_dict, external_dict, render, stack_from

from observability.local.filebeat import check_config, export_config, write_config
from observability.render import filebeat as fb
from observability.render import names

pytestmark = pytest.mark.integration

POD_ENV = {"NODE_NAME": "node-1", names.ENV_KAFKA_USERNAME: "filebeat", names.ENV_KAFKA_PASSWORD: "secret"}


def _filebeat(**options: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["logging"]["filebeat"].update(options)

    return change


def _external(**external: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["logging"]["kafka"] = copy.deepcopy(external_dict()["logging"]["kafka"])
        data["logging"]["kafka"]["external"].update(external)
        for key in [k for k, v in external.items() if v is None]:
            del data["logging"]["kafka"]["external"][key]

    return change


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "example (hints autodiscover, kube-system excluded, lz4)": lambda data: None,
    "add_kubernetes_metadata instead of hints": _filebeat(hints=False),
    "no excluded namespaces": _filebeat(exclude_namespaces=[]),
    "several excluded namespaces, no hints": _filebeat(exclude_namespaces=["kube-system", "monitoring"], hints=False),
    "topics routed by namespace": _filebeat(topic_routing="namespace"),
    "topics routed by app label, no hints": _filebeat(topic_routing="app", hints=False),
    "gzip, acks from all replicas": _filebeat(compression="gzip", required_acks=-1),
    "snappy, no acks, small messages": _filebeat(compression="snappy", required_acks=0, max_message_bytes=1024),
    "no compression": _filebeat(compression="none"),
    "external Kafka, SCRAM-SHA-512 over TLS": _external(),
    "external Kafka, SCRAM-SHA-256 without TLS": _external(sasl_mechanism="SCRAM-SHA-256", tls=False),
    "external Kafka, PLAIN over TLS": _external(sasl_mechanism="PLAIN"),
    "external Kafka, TLS only, no credentials": _external(sasl_mechanism=None, credentials_secret=None),
}


def rendered_filebeat_yml(change: Callable[[dict[str, Any]], None]) -> str:
    data = example_dict()
    change(data)
    return render(stack_from(data)).files["filebeat/filebeat.yml"]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_filebeat_accepts_every_rendered_variant(variant: str, part_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    part_path("filebeat")
    config = write_config(tmp_path / "filebeat.yml", rendered_filebeat_yml(VARIANTS[variant]))
    check = check_config(config, tmp_path / "fb", POD_ENV)
    assert check.ok, f"filebeat test config rejected the {variant!r} variant:\n{check.output}\n{config.read_text()}"


def test_filebeat_rejects_a_broken_kafka_output(part_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    part_path("filebeat")
    broken = yaml.safe_load(rendered_filebeat_yml(lambda data: None))
    broken["output.kafka"]["compression"] = "brotli"
    config = write_config(tmp_path / "filebeat.yml", yaml.safe_dump(broken))
    check = check_config(config, tmp_path / "fb", POD_ENV)
    assert not check.ok
    assert "compression" in check.output, check.output


def test_filebeat_reads_the_multiline_and_exclusion_patterns_as_rendered(part_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    part_path("filebeat")
    rendered = rendered_filebeat_yml(_filebeat(hints=False))
    config = write_config(tmp_path / "filebeat.yml", rendered)
    exported = export_config(config, tmp_path / "fb", POD_ENV)
    (container_input,) = exported["filebeat"]["inputs"]
    assert container_input["multiline"]["pattern"] == fb.GO_STACK_CONTINUATION
    assert container_input["exclude_files"] == yaml.safe_load(rendered)["filebeat.inputs"][0]["exclude_files"]
    assert exported["output"]["kafka"]["compression"] == "lz4"
