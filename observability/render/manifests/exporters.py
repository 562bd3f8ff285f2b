"""Render layer (PURE): the exporters that make the nodes, the cluster and the pipeline observable.

node-exporter (DaemonSet on the host network, as it must be to see the host's interfaces),
kube-state-metrics (with read-only RBAC), kafka-exporter and elasticsearch-exporter.
"""

from __future__ import annotations

from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack

NOBODY = 65534


def _metrics_container(name: str, image: str, args: list[str], port: int, resources: c.Obj, **extra: object) -> c.Obj:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        **extra,
        "ports": [c.port(names.METRICS_PORT_NAME, port)],
        "resources": resources,
        "securityContext": c.container_security(),
    }


def render_node_exporter(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    component = "node-exporter"
    ne = stack.metrics.node_exporter
    container = _metrics_container(
        component,
        ne.image,
        [
            "--path.procfs=/host/proc",
            "--path.sysfs=/host/sys",
            "--path.rootfs=/host/root",
            f"--web.listen-address=:{names.NODE_EXPORTER_PORT}",
            "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)",
        ],
        names.NODE_EXPORTER_PORT,
        c.resources(ne.resources),
    )
    container["ports"][0]["hostPort"] = names.NODE_EXPORTER_PORT
    container["readinessProbe"] = c.http_probe("/", names.METRICS_PORT_NAME, initial=5, period=10)
    container["livenessProbe"] = c.http_probe("/", names.METRICS_PORT_NAME, initial=10, period=20)
    container["volumeMounts"] = [
        {"name": "proc", "mountPath": "/host/proc", "readOnly": True},
        {"name": "sys", "mountPath": "/host/sys", "readOnly": True},
        {"name": "root", "mountPath": "/host/root", "readOnly": True, "mountPropagation": "HostToContainer"},
    ]
    spec = w.pod_spec(
        stack,
        component,
        [container],
        c.pod_security(NOBODY, NOBODY),
        volumes=[
            {"name": "proc", "hostPath": {"path": "/proc"}},
            {"name": "sys", "hostPath": {"path": "/sys"}},
            {"name": "root", "hostPath": {"path": "/"}},
        ],
        # Host network and PID namespace: node metrics must describe the node, not the pod.
        hostNetwork=True,
        hostPID=True,
        dnsPolicy="ClusterFirstWithHostNet",
        tolerations=w.TOLERATE_EVERYTHING,
    )
    return [w.daemonset(stack, component, version, ne.image, spec)]


def _ksm_resources(version: KubeVersion) -> list[str]:
    """Resources to expose; those whose API version kube-state-metrics v2 reads appeared in 1.21/1.23."""
    resources = [
        "daemonsets", "deployments", "jobs", "namespaces", "nodes", "persistentvolumeclaims",
        "persistentvolumes", "pods", "replicasets", "resourcequotas", "services", "statefulsets", "storageclasses",
    ]  # fmt: skip
    if version.minor >= 21:
        resources += ["cronjobs", "poddisruptionbudgets"]
    if version.minor >= 23:
        resources.append("horizontalpodautoscalers")
    return sorted(resources)


_KSM_API_GROUPS = {
    "cronjobs": "batch", "daemonsets": "apps", "deployments": "apps", "horizontalpodautoscalers": "autoscaling",
    "jobs": "batch", "poddisruptionbudgets": "policy", "replicasets": "apps", "statefulsets": "apps",
    "storageclasses": "storage.k8s.io",
}  # fmt: skip


def render_kube_state_metrics(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    component = "kube-state-metrics"
    ksm = stack.metrics.kube_state_metrics
    resources = _ksm_resources(version)
    groups: dict[str, list[str]] = {}
    for resource in resources:
        groups.setdefault(_KSM_API_GROUPS.get(resource, ""), []).append(resource)
    rules = [{"apiGroups": [g], "resources": r, "verbs": ["list", "watch"]} for g, r in sorted(groups.items())]
    container = _metrics_container(
        component,
        ksm.image,
        [
            f"--port={names.KUBE_STATE_METRICS_PORT}",
            f"--telemetry-port={names.KUBE_STATE_METRICS_TELEMETRY_PORT}",
            f"--resources={','.join(resources)}",
        ],
        names.KUBE_STATE_METRICS_PORT,
        c.resources(ksm.resources),
    )
    container["ports"].append(c.port("telemetry", names.KUBE_STATE_METRICS_TELEMETRY_PORT))
    container["livenessProbe"] = c.http_probe("/livez", names.METRICS_PORT_NAME, initial=5, period=20)
    container["readinessProbe"] = c.http_probe("/readyz", "telemetry", initial=5, period=10)
    spec = w.pod_spec(stack, component, [container], c.pod_security(NOBODY, NOBODY), service_account=True)
    return [
        c.service_account(stack, component, version, api_access=True),
        *c.cluster_role(stack, component, version, rules),
        w.deployment(stack, component, version, ksm.image, ksm.replicas, spec),
    ]


def render_kafka_exporter(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    component = "kafka-exporter"
    ke = stack.metrics.kafka_exporter
    kafka = stack.logging.kafka
    args = [f"--kafka.server={server}" for server in names.kafka_bootstrap_servers(stack)]
    args.append(f"--web.listen-address=:{names.KAFKA_EXPORTER_PORT}")
    env: list[c.Obj] = []
    ext = kafka.external if kafka.mode == "external" else None
    if ext is not None:
        if ext.credentials_secret is not None:
            env = c.credentials_env(ext.credentials_secret, names.ENV_KAFKA_USERNAME, names.ENV_KAFKA_PASSWORD)
            mechanism = (ext.sasl_mechanism or "PLAIN").lower().replace("scram-sha-", "scram-sha")
            args += [
                "--sasl.enabled",
                f"--sasl.mechanism={mechanism}",
                # Kubernetes expands $(VAR) from the container's environment: the password stays in the Secret.
                f"--sasl.username=$({names.ENV_KAFKA_USERNAME})",
                f"--sasl.password=$({names.ENV_KAFKA_PASSWORD})",
            ]
        if ext.tls:
            args.append("--tls.enabled")
    container = _metrics_container(
        component, ke.image, args, names.KAFKA_EXPORTER_PORT, c.resources(ke.resources), env=env
    )
    container["readinessProbe"] = c.tcp_probe(names.METRICS_PORT_NAME, initial=5, period=10)
    container["livenessProbe"] = c.tcp_probe(names.METRICS_PORT_NAME, initial=30, period=20, failures=6)
    spec = w.pod_spec(stack, component, [container], c.pod_security(NOBODY, NOBODY))
    return [w.deployment(stack, component, version, ke.image, ke.replicas, spec)]


def render_elasticsearch_exporter(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    component = "elasticsearch-exporter"
    ee = stack.metrics.elasticsearch_exporter
    es = stack.logging.elasticsearch
    args = [
        f"--es.uri={names.elasticsearch_url(stack)}",
        "--es.all",
        "--es.indices",
        "--es.timeout=30s",
        f"--web.listen-address=:{names.ELASTICSEARCH_EXPORTER_PORT}",
    ]
    # The exporter reads ES_USERNAME / ES_PASSWORD from its environment.
    env = c.elasticsearch_credentials_env(stack, "ES_USERNAME", "ES_PASSWORD")
    if es.mode == "external" and es.external is not None and es.external.tls_skip_verify:
        args.append("--es.ssl-skip-verify")
    container = _metrics_container(
        component, ee.image, args, names.ELASTICSEARCH_EXPORTER_PORT, c.resources(ee.resources), env=env
    )
    container["readinessProbe"] = c.http_probe("/healthz", names.METRICS_PORT_NAME, initial=5, period=10)
    container["livenessProbe"] = c.http_probe("/healthz", names.METRICS_PORT_NAME, initial=30, period=20)
    spec = w.pod_spec(stack, component, [container], c.pod_security(NOBODY, NOBODY))
    return [w.deployment(stack, component, version, ee.image, ee.replicas, spec)]
