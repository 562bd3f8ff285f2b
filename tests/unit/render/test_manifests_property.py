"""Property: any valid spec renders manifests that validate against the target version's schema."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from manifests_schema import schema_errors
from render_fixtures import all_objects, render, stack_from

dns_label = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
quantity_cpu = st.sampled_from(["50m", "250m", "1", "1.5", "2"])
quantity_mem = st.sampled_from(["64Mi", "512Mi", "1Gi", "2Gi", "1e9"])


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": {}, "limits": {}}
    if draw(st.booleans()):
        out["requests"]["cpu"] = draw(quantity_cpu)
    if draw(st.booleans()):
        out["requests"]["memory"] = draw(quantity_mem)
    if draw(st.booleans()):
        out["limits"]["memory"] = draw(quantity_mem)
    if draw(st.booleans()):
        out["limits"]["cpu"] = draw(quantity_cpu)
    return out


@st.composite
def services(draw: st.DrawFn) -> list[dict[str, Any]]:
    out, seen = [], set()
    for _ in range(draw(st.integers(0, 3))):
        name, namespace = draw(dns_label), draw(dns_label)
        if (namespace, name) in seen:
            continue
        seen.add((namespace, name))
        port = draw(st.one_of(st.integers(1, 65535), st.sampled_from(["http-metrics", "metrics", "web"])))
        selector = {draw(st.sampled_from(["app", "app.kubernetes.io/name", "tier"])): draw(dns_label)}
        out.append({"name": name, "namespace": namespace, "selector": selector, "metrics": {"port": port}})
    return out


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    kafka_replicas = draw(st.integers(1, 5))
    es_replicas = draw(st.integers(1, 4))
    spec: dict[str, Any] = {
        "name": draw(dns_label),
        "cluster": {"name": "prop", "namespace": draw(dns_label),
                    "storage_class": draw(st.sampled_from([None, "fast"]))},
        "logging": {
            "enabled": draw(st.booleans()),
            "kafka": {"replicas": kafka_replicas, "replication": draw(st.integers(1, kafka_replicas)),
                      "resources": draw(resources())},
            "elasticsearch": {"replicas": es_replicas, "resources": draw(resources())},
            "kibana": {"enabled": draw(st.booleans())},
            "filebeat": {
                "enabled": draw(st.booleans()),
                "hints": draw(st.booleans()),
                "topic_routing": draw(st.sampled_from(["none", "namespace", "app"])),
                "exclude_namespaces": draw(st.lists(dns_label, max_size=3)),
            },
            "processor": {"replicas": draw(st.integers(1, 4)), "resources": draw(resources())},
        },
        "metrics": {
            "enabled": draw(st.booleans()),
            "alertmanager": {"replicas": draw(st.integers(1, 3))},
            "grafana": {"replicas": draw(st.integers(1, 2))},
            "node_exporter": {"enabled": draw(st.booleans())},
            "kube_state_metrics": {"enabled": draw(st.booleans())},
        },
        "services": draw(services()),
    }  # fmt: skip
    if draw(st.booleans()):
        spec["logging"]["kafka"] = {
            "mode": "external",
            "external": {"bootstrap_servers": ["k.example:9093"], "sasl_mechanism": "PLAIN",
                         "credentials_secret": {"name": "k", "key": "password"}, "tls": draw(st.booleans())},
        }  # fmt: skip
    if draw(st.booleans()):
        spec["logging"]["elasticsearch"] = {"mode": "external", "external": {"url": "https://es.example:9200"}}
    if draw(st.booleans()):
        spec["alerting"] = {
            "receivers": [{"name": "hook", "webhook": {"url_secret": {"name": "hooks", "key": "url"}}}],
            "routing": {"default": "hook"},
        }
    return spec


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), version=st.sampled_from(["1.20", "1.27", "1.31"]))
def test_random_valid_specs_render_schema_valid_manifests(spec: dict[str, Any], version: str) -> None:
    rendered = render(stack_from(spec), version)
    objects = all_objects(rendered)
    assert objects[0]["kind"] == "Namespace"
    assert schema_errors(objects, version) == []
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), "two objects share kind, namespace and name"
