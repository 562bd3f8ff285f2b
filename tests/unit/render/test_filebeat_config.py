"""filebeat.yml: only documented options, routing, credentials by environment, multiline joining."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from render_fixtures import REPO, example_dict, external_stack, render, render_example, stack_from

from observability.render import filebeat as fb
from observability.render import names

# Options per section as Filebeat's reference documents them (elastic.co/guide/en/beats/filebeat/8.15:
# "Container input", "Kubernetes autodiscover provider", "Add Kubernetes metadata", "Drop events",
# "Add fields", "Configure the Kafka output", "Configure the HTTP endpoint", "Configure logging",
# "Monitor Filebeat"). Anything the renderer emits outside these lists fails the test.
DOCUMENTED = {
    "top": {
        "filebeat.inputs", "filebeat.autodiscover", "processors", "output.kafka", "http.enabled", "http.host",
        "http.port", "monitoring.enabled", "logging.level", "logging.metrics.enabled",
    },
    "container_input": {
        "type", "paths", "stream", "format", "exclude_files", "multiline.type", "multiline.pattern",
        "multiline.negate", "multiline.match", "multiline.max_lines", "multiline.timeout",
    },
    "kubernetes_provider": {
        "type", "node", "add_resource_metadata", "hints.enabled", "hints.default_config", "namespace", "scope",
    },
    "add_resource_metadata": {"namespace", "node", "deployment", "cronjob"},
    "add_kubernetes_metadata": {"host", "matchers", "add_resource_metadata", "namespace", "scope"},
    "kafka": {
        "hosts", "topic", "topics", "partition.round_robin", "required_acks", "compression", "max_message_bytes",
        "client_id", "username", "password", "sasl.mechanism", "ssl.enabled", "version",
    },
    "topic_rule": {"topic", "when.has_fields", "when.equals", "mappings", "default"},
}  # fmt: skip


def _config(rendered_text: str) -> dict[str, Any]:
    return yaml.safe_load(rendered_text)


def _documented_problems(config: dict[str, Any]) -> list[str]:
    problems = [f"top: {k}" for k in set(config) - DOCUMENTED["top"]]
    inputs = list(config.get("filebeat.inputs", []))
    for provider in config.get("filebeat.autodiscover", {}).get("providers", []):
        problems += [f"provider: {k}" for k in set(provider) - DOCUMENTED["kubernetes_provider"]]
        problems += [f"provider resource: {k}" for k in set(provider["add_resource_metadata"]) - DOCUMENTED[
            "add_resource_metadata"]]  # fmt: skip
        inputs.append(provider["hints.default_config"])
    for item in inputs:
        problems += [f"input: {k}" for k in set(item) - DOCUMENTED["container_input"]]
        assert item["type"] == "container"
    for processor in config["processors"]:
        ((name, options),) = processor.items()
        if name == "add_kubernetes_metadata":
            problems += [f"add_kubernetes_metadata: {k}" for k in set(options) - DOCUMENTED["add_kubernetes_metadata"]]
        elif name == "drop_event":
            assert set(options) == {"when"}
        elif name == "add_fields":
            assert set(options) == {"target", "fields"}
        else:
            problems.append(f"processor: {name}")
    kafka = config["output.kafka"]
    problems += [f"kafka: {k}" for k in set(kafka) - DOCUMENTED["kafka"]]
    for rule in kafka.get("topics", []):
        problems += [f"topic rule: {k}" for k in set(rule) - DOCUMENTED["topic_rule"]]
    return problems


@pytest.mark.parametrize("hints", [True, False])
@pytest.mark.parametrize("routing", ["none", "namespace", "app"])
def test_only_documented_options_are_used(hints: bool, routing: str) -> None:
    data = example_dict()
    data["logging"]["filebeat"].update(hints=hints, topic_routing=routing)
    config = _config(render(stack_from(data)).files["filebeat/filebeat.yml"])
    assert _documented_problems(config) == []
    assert ("filebeat.autodiscover" in config) is hints
    assert ("filebeat.inputs" in config) is not hints


def test_the_documented_check_catches_an_unknown_option() -> None:
    config = _config(render_example().files["filebeat/filebeat.yml"])
    config["output.kafka"]["partition.round_robbin"] = {}
    assert _documented_problems(config) == ["kafka: partition.round_robbin"]


def test_kafka_output_follows_the_spec() -> None:
    kafka = _config(render_example().files["filebeat/filebeat.yml"])["output.kafka"]
    assert kafka["hosts"] == names.kafka_bootstrap_servers(stack_from(example_dict()))
    assert kafka["topic"] == "logs"
    assert "topics" not in kafka
    assert kafka["partition.round_robin"] == {"reachable_only": True}
    assert (kafka["required_acks"], kafka["compression"], kafka["max_message_bytes"]) == (-1, "lz4", 1_000_000)
    assert not {"username", "password", "sasl.mechanism", "ssl.enabled"} & set(kafka)


@pytest.mark.parametrize(
    ("routing", "rules"),
    [
        ("namespace", [{"topic": "logs.%{[kubernetes.namespace]}", "when.has_fields": ["kubernetes.namespace"]}]),
        (
            "app",
            [
                {
                    "topic": "logs.%{[kubernetes.labels.app_kubernetes_io/name]}",
                    "when.has_fields": ["kubernetes.labels.app_kubernetes_io/name"],
                },
                {"topic": "logs.%{[kubernetes.labels.app]}", "when.has_fields": ["kubernetes.labels.app"]},
            ],
        ),
    ],
)
def test_topic_routing_has_a_fallback_topic(routing: str, rules: list[dict[str, Any]]) -> None:
    data = example_dict()
    data["logging"]["filebeat"]["topic_routing"] = routing
    rendered = render(stack_from(data))
    kafka = _config(rendered.files["filebeat/filebeat.yml"])["output.kafka"]
    assert kafka["topics"] == rules
    assert kafka["topic"] == "logs"  # used when no rule matches
    # the processor consumes every routed topic, and never its own dead-letter topic
    pattern = yaml.safe_load(rendered.files["processor/processor.yaml"])["kafka"]["topic_pattern"]
    assert re.fullmatch(pattern.lstrip("^"), "logs.shop") and not re.fullmatch(pattern.lstrip("^"), "logs-dead-letter")
    kafka_sts = next(o for o in rendered.manifests["kafka"] if o["kind"] == "StatefulSet")
    env = {e["name"]: e.get("value") for e in kafka_sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "true"


def test_external_kafka_gets_sasl_and_tls_with_credentials_from_the_environment() -> None:
    rendered = render(external_stack())
    text = rendered.files["filebeat/filebeat.yml"]
    kafka = _config(text)["output.kafka"]
    assert kafka["hosts"] == ["kafka-0.example.com:9093", "kafka-1.example.com:9093"]
    assert kafka["username"] == "${KAFKA_SASL_USERNAME}"
    assert kafka["password"] == "${KAFKA_SASL_PASSWORD}"
    assert kafka["sasl.mechanism"] == "SCRAM-SHA-512"
    assert kafka["ssl.enabled"] is True


def test_excluded_namespaces_are_neither_read_nor_shipped() -> None:
    data = example_dict()
    data["logging"]["filebeat"].update(hints=False, exclude_namespaces=["kube-system", "local-path-storage"])
    config = _config(render(stack_from(data)).files["filebeat/filebeat.yml"])
    (exclude,) = config["filebeat.inputs"][0]["exclude_files"]
    assert re.search(exclude, "/var/log/containers/coredns-abc_kube-system_coredns-0123.log")
    assert not re.search(exclude, "/var/log/containers/checkout-abc_shop_checkout-0123.log")
    drop = next(p["drop_event"] for p in config["processors"] if "drop_event" in p)
    pattern = drop["when"]["regexp"]["kubernetes.namespace"]
    assert re.match(pattern, "local-path-storage") and not re.match(pattern, "local-path-storage-2")
    assert config["processors"][0]["add_kubernetes_metadata"]["host"] == "${NODE_NAME}"


def group_events(lines: list[str], pattern: str) -> list[str]:
    """Filebeat's multiline with negate: false, match: after — a matching line joins the event before it."""
    regex = re.compile(pattern)
    events: list[list[str]] = []
    for line in lines:
        if events and regex.search(line):
            events[-1].append(line)
        else:
            events.append([line])
    return ["\n".join(e) for e in events]


# A recorded panic of a Go 1.22 HTTP handler and a zap console-encoder stack trace.
PANIC = """panic: runtime error: index out of range [5] with length 3

goroutine 34 [running]:
main.(*server).handleOrder(0xc0000a2000, {0x7f3a10, 0xc0001c0000}, 0xc0001b2000)
\t/src/shop/main.go:88 +0x1d8
net/http.HandlerFunc.ServeHTTP(0x0?, {0x7f3a10?, 0xc0001c0000?}, 0x0?)
\t/usr/lib/go/src/net/http/server.go:2171 +0x29
created by net/http.(*Server).Serve in goroutine 1
\t/usr/lib/go/src/net/http/server.go:3285 +0x4b4
exit status 2"""
ZAP_CONSOLE = """2024-05-01T10:00:00.000Z\tERROR\tshop/main.go:42\tcharge failed\t{"order": 7}
main.(*server).charge
\t/src/shop/main.go:42
github.com/acme/shop/pay.(*Client).Do
\t/src/shop/pay/client.go:17"""


def test_multiline_joins_a_go_panic_and_keeps_json_lines_apart() -> None:
    json_before = '{"level":"info","msg":"request","status":200}'
    json_after = '{"level":"error","msg":"recovered","stacktrace":"main.handle\\n\\t/src/main.go:9"}'
    lines = [json_before, *PANIC.splitlines(), json_after, *ZAP_CONSOLE.splitlines(), json_before]
    events = group_events(lines, fb.GO_STACK_CONTINUATION)
    assert events == [json_before, PANIC, json_after, ZAP_CONSOLE, json_before]


def test_repo_filebeat_directory_holds_the_current_render() -> None:
    """filebeat/filebeat.yml is the example spec's render (UPDATE_GOLDEN=1 rewrites it with the golden files)."""
    committed = (REPO / "filebeat" / "filebeat.yml").read_text(encoding="utf-8")
    assert committed == render_example().files["filebeat/filebeat.yml"]
    assert (REPO / "filebeat" / "README.md").is_file()


def test_daemonset_reads_node_logs_read_only_and_keeps_its_registry_on_the_host() -> None:
    objects = render_example().manifests["filebeat"]
    role = next(o for o in objects if o["kind"] == "ClusterRole")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "list", "watch"]}
    ]
    ds = next(o for o in objects if o["kind"] == "DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    host_paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    assert host_paths == {
        "data": "/var/lib/filebeat-data",
        "varlogcontainers": "/var/log/containers",
        "varlogpods": "/var/log/pods",
    }
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["varlogcontainers"]["readOnly"] and mounts["varlogpods"]["readOnly"]
    assert mounts["data"]["mountPath"] == fb.DATA_DIR
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    assert config_map["data"]["filebeat.yml"] == render_example().files["filebeat/filebeat.yml"]
    exporter = spec["containers"][1]
    assert exporter["ports"][0]["name"] == names.METRICS_PORT_NAME


def test_filebeat_readme_documents_the_render_command() -> None:
    text = Path(REPO / "filebeat" / "README.md").read_text(encoding="utf-8")
    assert "obs render" in text


def test_the_cluster_name_is_added_under_one_key() -> None:
    # add_fields puts `target` in as one key (beats libbeat/processors/actions/add_fields.go makeFieldsProcessor,
    # then DeepUpdate, which does not expand dots): `orchestrator.cluster` would be a top-level key with a dot,
    # beside the `orchestrator` object add_kubernetes_metadata fills. A real Filebeat shows it
    # (tests/integration/filebeat/test_filebeat_node_logs.py).
    processors = _config(render_example().files["filebeat/filebeat.yml"])["processors"]
    (add_fields,) = [p["add_fields"] for p in processors if "add_fields" in p]
    assert "." not in add_fields["target"]
    assert {add_fields["target"]: add_fields["fields"]} == {"orchestrator": {"cluster": {"name": "prod-eu-1"}}}
