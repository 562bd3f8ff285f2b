"""Render layer (PURE): Elasticsearch (StatefulSet, security on) and Kibana.

Choices that keep the pods unprivileged:
- `node.store.allow_mmap: false` instead of a privileged init container raising vm.max_map_count: the
  node then needs no host sysctl at all (Elasticsearch documents this setting for exactly that case).
- The config directory is copied into an emptyDir by an init container, so the root filesystem stays
  read-only while the image's entrypoint still writes its keystore.
- With more than one node, transport TLS (mandatory with security on) uses one CA-signed certificate
  that a one-shot Job creates in the cluster (elasticsearch_certs.py explains why not per pod).
"""

from __future__ import annotations

import json

from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.render.manifests.elasticsearch_certs import render_elasticsearch_certs
from observability.spec import Stack

COMPONENT = "elasticsearch"
KIBANA = "kibana"
ES_HOME = "/usr/share/elasticsearch"
ES_UID = 1000
KIBANA_UID = 1000
CERTS_DIR = f"{ES_HOME}/config/certs"


def clients(stack: Stack) -> list[str]:
    """Components that may call the Elasticsearch HTTP API (the NetworkPolicy allow-list)."""
    out = []
    if stack.logging.processor.enabled:
        out.append("processor")
    if stack.logging.kibana.enabled:
        out.append(KIBANA)
    if stack.metrics.enabled:
        if stack.metrics.grafana.enabled and stack.metrics.grafana.mode == "managed":
            out.append("grafana")
        if stack.metrics.elasticsearch_exporter.enabled:
            out.append("elasticsearch-exporter")
    return out


def _settings(stack: Stack) -> dict[str, str]:
    es = stack.logging.elasticsearch
    out = {
        "cluster.name": names.resource_name(stack, COMPONENT),
        "node.name": "$(POD_NAME)",
        "network.host": "0.0.0.0",
        "node.store.allow_mmap": "false",
        "xpack.security.enabled": "true",
        "xpack.security.http.ssl.enabled": "false",
    }
    if es.replicas == 1:
        out["discovery.type"] = "single-node"
        out["xpack.security.transport.ssl.enabled"] = "false"
    else:
        out["discovery.seed_hosts"] = names.headless_service_name(stack, COMPONENT)
        out["cluster.initial_master_nodes"] = ",".join(
            f"{names.resource_name(stack, COMPONENT)}-{i}" for i in range(es.replicas)
        )
        out.update(
            {
                "xpack.security.transport.ssl.enabled": "true",
                "xpack.security.transport.ssl.verification_mode": "certificate",
                "xpack.security.transport.ssl.key": "certs/tls.key",
                "xpack.security.transport.ssl.certificate": "certs/tls.crt",
                "xpack.security.transport.ssl.certificate_authorities": "certs/ca.crt",
            }
        )
    return out


def _health_command() -> list[str]:
    return [
        "/bin/bash",
        "-c",
        'curl -fsS -o /dev/null -u "elastic:${ELASTIC_PASSWORD}" "http://127.0.0.1:9200/_cluster/health?local=true"',
    ]


def _statefulset(stack: Stack, version: KubeVersion) -> c.Obj:
    es = stack.logging.elasticsearch
    creds = names.elasticsearch_credentials(stack)
    env = [
        c.field_env("POD_NAME", "metadata.name"),
        *({"name": k, "value": v} for k, v in _settings(stack).items()),
        {"name": "ES_JAVA_OPTS", "value": f"-Xms{es.heap} -Xmx{es.heap}"},
        c.secret_env("ELASTIC_PASSWORD", creds.name, "password"),
    ]
    mounts: list[c.Obj] = [
        {"name": "data", "mountPath": f"{ES_HOME}/data"},
        {"name": "config", "mountPath": f"{ES_HOME}/config"},
        {"name": "logs", "mountPath": f"{ES_HOME}/logs"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes = [c.empty_dir("config", "32Mi"), c.empty_dir("logs", "1Gi"), c.empty_dir("tmp", "1Gi")]
    if es.replicas > 1:
        mounts.append({"name": "transport-tls", "mountPath": CERTS_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "transport-tls",
                "secret": {"secretName": names.elasticsearch_transport_tls_secret(stack), "defaultMode": 0o440},
            }
        )
    copy_config = {
        "name": "copy-config",
        "image": es.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", f"cp -a {ES_HOME}/config/. /mnt/config/"],
        "resources": c.small_resources("10m", "32Mi", "64Mi"),
        "securityContext": c.container_security(),
        "volumeMounts": [{"name": "config", "mountPath": "/mnt/config"}],
    }
    container = {
        "name": "elasticsearch",
        "image": es.image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": [c.port("http", names.ELASTICSEARCH_PORT), c.port("transport", names.ELASTICSEARCH_TRANSPORT_PORT)],
        "resources": c.resources(es.resources),
        "startupProbe": c.tcp_probe("http", initial=10, period=10, failures=30),
        "readinessProbe": c.exec_probe(_health_command(), initial=0, period=10, timeout=5),
        "livenessProbe": c.tcp_probe("transport", initial=0, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": mounts,
    }
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(ES_UID, ES_UID, ES_UID),
        init_containers=[copy_config],
        volumes=volumes,
        grace=120,
        affinity=w.spread(stack, COMPONENT),
    )
    claims = [c.volume_claim(stack, COMPONENT, "data", es.storage)]
    return w.statefulset(stack, COMPONENT, version, es.image, es.replicas, spec, claims, parallel=True)


def render_elasticsearch(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    http = c.service_port("http", names.ELASTICSEARCH_PORT)
    certs = render_elasticsearch_certs(stack, version) if stack.logging.elasticsearch.replicas > 1 else []
    return [
        *certs,
        c.headless_service(
            stack, COMPONENT, version, [http, c.service_port("transport", names.ELASTICSEARCH_TRANSPORT_PORT)]
        ),
        c.service(stack, COMPONENT, version, [http]),
        _statefulset(stack, version),
        c.pod_disruption_budget(stack, COMPONENT, version),
        c.network_policy(
            stack,
            COMPONENT,
            version,
            [
                ([COMPONENT], [names.ELASTICSEARCH_PORT, names.ELASTICSEARCH_TRANSPORT_PORT]),
                (clients(stack), [names.ELASTICSEARCH_PORT]),
            ],
        ),
    ]


def _kibana_password_script(stack: Stack) -> str:
    """Sets the kibana_system password through the security API, retrying until Elasticsearch answers.

    Generated passwords are URL-safe (see apply's secret generator), so embedding them in JSON is safe.
    """
    url = f"{names.elasticsearch_url(stack)}/_security/user/kibana_system/_password"
    return (
        'until curl -fsS -o /dev/null -u "elastic:${ELASTIC_PASSWORD}" -X POST'
        f" -H 'Content-Type: application/json' \"{url}\""
        ' -d "{\\"password\\":\\"${KIBANA_PASSWORD}\\"}"; do\n'
        '  echo "waiting for Elasticsearch"; sleep 5\n'
        "done\n"
    )


def render_kibana(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    """Kibana against the managed Elasticsearch, logging in as kibana_system (Kibana 8 refuses elastic)."""
    kibana = stack.logging.kibana
    es_creds = names.elasticsearch_credentials(stack)
    kb_creds = names.kibana_system_credentials(stack)
    set_password = {
        "name": "set-kibana-system-password",
        "image": stack.logging.elasticsearch.image,  # has curl; Kibana's image is not guaranteed to
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", _kibana_password_script(stack)],
        "env": [
            c.secret_env("ELASTIC_PASSWORD", es_creds.name, "password"),
            c.secret_env("KIBANA_PASSWORD", kb_creds.name, "password"),
        ],
        "resources": c.small_resources("10m", "32Mi", "64Mi"),
        "securityContext": c.container_security(),
    }
    container = {
        "name": "kibana",
        "image": kibana.image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "ELASTICSEARCH_HOSTS", "value": json.dumps([names.elasticsearch_url(stack)])},
            c.secret_env("ELASTICSEARCH_USERNAME", kb_creds.name, "username"),
            c.secret_env("ELASTICSEARCH_PASSWORD", kb_creds.name, "password"),
            {"name": "SERVER_NAME", "value": names.resource_name(stack, KIBANA)},
            {"name": "SERVER_HOST", "value": "0.0.0.0"},
            {"name": "TELEMETRY_OPTIN", "value": "false"},
        ],
        "ports": [c.port("http", names.KIBANA_PORT)],
        "resources": c.resources(kibana.resources),
        "startupProbe": c.http_probe("/login", "http", initial=10, period=10, failures=30),
        "readinessProbe": c.http_probe("/login", "http", initial=0, period=10),
        "livenessProbe": c.tcp_probe("http", initial=0, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/usr/share/kibana/data"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    spec = w.pod_spec(
        stack,
        KIBANA,
        [container],
        c.pod_security(KIBANA_UID, KIBANA_UID, KIBANA_UID),
        init_containers=[set_password],
        volumes=[c.empty_dir("data", "256Mi"), c.empty_dir("tmp", "256Mi")],
    )
    return [
        c.service(stack, KIBANA, version, [c.service_port("http", names.KIBANA_PORT)]),
        w.deployment(stack, KIBANA, version, kibana.image, kibana.replicas, spec),
    ]
