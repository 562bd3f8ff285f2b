"""Production invariants every rendered object must keep: labels, resources, probes, security, secrets."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from render_fixtures import (
    all_objects,
    example_dict,
    external_stack,
    minimal_stack,
    pod_specs,
    render,
    render_example,
    stack_from,
)

from observability.render import names

LABEL_KEYS = {f"app.kubernetes.io/{k}" for k in ("name", "instance", "component", "part-of", "managed-by")}
# Containers allowed to run as root, and why: they read root-owned files on the node.
ROOT_CONTAINERS = {"filebeat"}
HOST_NETWORK_COMPONENTS = {"node-exporter"}


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return all_objects(render_example())


def test_every_object_carries_the_recommended_labels(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert set(labels) >= LABEL_KEYS, f"{obj['kind']}/{obj['metadata']['name']} lacks labels"
        assert labels["app.kubernetes.io/instance"] == "obs"
        assert labels["app.kubernetes.io/managed-by"] == names.MANAGED_BY
    for owner, _ in pod_specs(objects):
        assert set(owner["spec"]["template"]["metadata"]["labels"]) >= LABEL_KEYS


def test_namespaced_objects_live_in_the_stack_namespace(objects: list[dict[str, Any]]) -> None:
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for obj in objects:
        if obj["kind"] in cluster_scoped:
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == "observability", obj["metadata"]["name"]


def test_names_are_unique_per_kind(objects: list[dict[str, Any]]) -> None:
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys))


def test_every_container_has_requests_limits_and_a_restrictive_security_context(
    objects: list[dict[str, Any]],
) -> None:
    for owner, spec in pod_specs(objects):
        pod_sc = spec["securityContext"]
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is ("serviceAccountName" in spec)
        for container in _containers(spec):
            where = f"{owner['metadata']['name']}/{container['name']}"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["privileged"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["readOnlyRootFilesystem"] is True, where
            runs_as_root = sc.get("runAsNonRoot", pod_sc["runAsNonRoot"]) is False
            assert runs_as_root == (container["name"] in ROOT_CONTAINERS), where
            assert ":" in container["image"] and not container["image"].endswith(":latest"), where


def test_long_running_containers_have_liveness_and_readiness_probes(objects: list[dict[str, Any]]) -> None:
    for owner, spec in pod_specs(objects):
        if owner["kind"] == "Job":
            continue
        for container in spec["containers"]:
            where = f"{owner['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container and "readinessProbe" in container, where


def test_only_node_exporter_uses_the_host_network(objects: list[dict[str, Any]]) -> None:
    for owner, spec in pod_specs(objects):
        component = owner["metadata"]["labels"]["app.kubernetes.io/name"]
        assert spec.get("hostNetwork", False) == (component in HOST_NETWORK_COMPONENTS)


def test_no_credential_is_ever_a_literal(objects: list[dict[str, Any]]) -> None:
    for _, spec in pod_specs(objects):
        for container in _containers(spec):
            for env in container.get("env", []):
                if env["name"].upper().endswith(("PASSWORD", "TOKEN", "SECRET")):
                    assert "valueFrom" in env and "secretKeyRef" in env["valueFrom"], env
    rendered = render_example()
    for path, text in rendered.files.items():
        assert "changeme" not in text.lower(), path


def test_elasticsearch_password_comes_from_the_generated_secret(objects: list[dict[str, Any]]) -> None:
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-elasticsearch")
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["ELASTIC_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == names.elasticsearch_credentials(stack_from(example_dict())).name
    assert env["xpack.security.enabled"]["value"] == "true"
    assert env["node.store.allow_mmap"]["value"] == "false"  # no privileged sysctl init container needed
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["transport-tls"]["secret"]["secretName"] == "obs-elasticsearch-transport-tls"


def test_kafka_is_kraft_with_ordinal_node_ids_and_a_full_voter_set(objects: list[dict[str, Any]]) -> None:
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-kafka")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("apache/kafka:")
    assert 'KAFKA_NODE_ID="${HOSTNAME##*-}"' in container["command"][-1]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert [v.split("@")[0] for v in voters] == ["0", "1", "2"]
    assert voters[2] == "2@obs-kafka-2.obs-kafka-headless.observability.svc:9093"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    job = next(o for o in objects if o["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "--create --if-not-exists --topic logs --partitions 12 --replication-factor 3" in script
    assert "--topic logs-dead-letter --partitions 3 --replication-factor 3" in script
    assert "retention.ms=259200000" in script


def test_network_policies_admit_only_pipeline_components(objects: list[dict[str, Any]]) -> None:
    policies = {o["metadata"]["name"]: o for o in objects if o["kind"] == "NetworkPolicy"}
    assert set(policies) == {"obs-kafka-ingress", "obs-elasticsearch-ingress"}

    def peers(policy: dict[str, Any], port: int) -> set[str]:
        return {
            p["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in policy["spec"]["ingress"]
            if any(x["port"] == port for x in rule["ports"])
            for p in rule["from"]
        }

    assert peers(policies["obs-kafka-ingress"], 9092) == {
        "kafka", "kafka-topics", "filebeat", "processor", "kafka-exporter",
    }  # fmt: skip
    assert peers(policies["obs-kafka-ingress"], 9093) == {"kafka"}
    assert peers(policies["obs-elasticsearch-ingress"], 9200) == {
        "elasticsearch", "processor", "kibana", "grafana", "elasticsearch-exporter",
    }  # fmt: skip
    assert peers(policies["obs-elasticsearch-ingress"], 9300) == {"elasticsearch"}


def test_alertmanager_mounts_every_receiver_secret_where_names_says(objects: list[dict[str, Any]]) -> None:
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-alertmanager")
    mounts = {m["mountPath"] for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    stack = stack_from(example_dict())
    from observability.render.manifests.alertmanager import receiver_secret_refs

    refs = receiver_secret_refs(stack)
    assert len(refs) == 4
    for ref in refs:
        assert names.alertmanager_secret_path(ref).rsplit("/", 1)[0] in mounts


def test_config_changes_roll_the_pods() -> None:
    data = example_dict()
    before = render(stack_from(data))
    changed = copy.deepcopy(data)
    changed["metrics"]["prometheus"]["scrape_interval"] = "15s"
    after = render(stack_from(changed))

    def checksum(rendered: Any, name: str) -> str:
        obj = next(
            o for o in all_objects(rendered) if o["metadata"]["name"] == name and "template" in o.get("spec", {})
        )
        return str(obj["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum(before, "obs-prometheus") != checksum(after, "obs-prometheus")
    assert checksum(before, "obs-filebeat") == checksum(after, "obs-filebeat")


def test_external_components_render_no_workload_only_configuration() -> None:
    rendered = render(external_stack())
    assert not {"kafka", "elasticsearch", "kibana", "prometheus", "grafana"} & set(rendered.manifests)
    assert "processor" in rendered.manifests and "filebeat" in rendered.manifests
    assert "kafka-0.example.com:9093" in rendered.files["filebeat/filebeat.yml"]
    assert "https://es.example.com:9200" in rendered.files["processor/processor.yaml"]
    filebeat = next(o for o in rendered.manifests["filebeat"] if o["kind"] == "DaemonSet")
    env = {e["name"]: e for e in filebeat["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[names.ENV_KAFKA_PASSWORD]["valueFrom"]["secretKeyRef"] == {
        "name": "kafka-credentials",
        "key": "password",
    }
    exporter = next(o for o in rendered.manifests["kafka-exporter"] if o["kind"] == "Deployment")
    args = exporter["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--sasl.mechanism=scram-sha512" in args and "--tls.enabled" in args
    assert f"--sasl.password=$({names.ENV_KAFKA_PASSWORD})" in args
    assert names.generated_secrets(external_stack()) == []


@pytest.mark.parametrize(
    ("path", "gone"),
    [
        (("logging", "enabled"), {"kafka", "elasticsearch", "kibana", "processor", "filebeat", "kafka-exporter",
                                  "elasticsearch-exporter"}),
        (("metrics", "enabled"), {"prometheus", "alertmanager", "grafana", "node-exporter", "kube-state-metrics",
                                  "kafka-exporter", "elasticsearch-exporter"}),
        (("logging", "kibana", "enabled"), {"kibana"}),
        (("logging", "filebeat", "enabled"), {"filebeat"}),
        (("metrics", "node_exporter", "enabled"), {"node-exporter"}),
        (("metrics", "grafana", "enabled"), {"grafana"}),
    ],
)  # fmt: skip
def test_disabled_components_render_nothing(path: tuple[str, ...], gone: set[str]) -> None:
    data = example_dict()
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = False
    rendered = render(stack_from(data))
    assert not gone & set(rendered.manifests), gone & set(rendered.manifests)
    assert "namespace" in rendered.manifests
    for component in gone:
        assert f"manifests/{component}.yaml" not in rendered.files


def test_namespace_pod_security_level_follows_host_agents() -> None:
    assert (
        render_example().manifests["namespace"][0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "privileged"
    )
    data = example_dict()
    data["logging"]["filebeat"]["enabled"] = False
    data["metrics"]["node_exporter"]["enabled"] = False
    rendered = render(stack_from(data))
    assert (
        rendered.manifests["namespace"][0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    )


def test_single_replica_components_skip_quorum_settings() -> None:
    data = {"cluster": {"name": "small"}, "logging": {"kafka": {"replicas": 1}, "elasticsearch": {"replicas": 1}}}
    rendered = render(stack_from(data))
    es = next(o for o in rendered.manifests["elasticsearch"] if o["kind"] == "StatefulSet")
    env = {e["name"]: e.get("value") for e in es["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["discovery.type"] == "single-node"
    assert "cluster.initial_master_nodes" not in env
    assert not [o for o in rendered.manifests["elasticsearch"] if o["kind"] == "Job"]
    kafka = next(o for o in rendered.manifests["kafka"] if o["kind"] == "StatefulSet")
    kenv = {e["name"]: e.get("value") for e in kafka["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert kenv["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert kenv["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "0@obs-kafka-0.obs-kafka-headless.observability.svc:9093"


def test_minimal_spec_renders_every_default_component() -> None:
    rendered = render(minimal_stack())
    assert list(rendered.manifests) == [
        "namespace", "kafka", "elasticsearch", "kibana", "processor", "filebeat", "prometheus", "alertmanager",
        "grafana", "node-exporter", "kube-state-metrics", "kafka-exporter", "elasticsearch-exporter",
    ]  # fmt: skip
