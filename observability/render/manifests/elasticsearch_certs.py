"""Render layer (PURE): the Job that creates Elasticsearch's transport-TLS Secret once, inside the cluster.

With security on and more than one node, Elasticsearch requires TLS between nodes, and every node must
trust the same CA. An init container per pod could only mint its own CA (mutually untrusted), so a
one-shot Job generates a CA and one node certificate with Elasticsearch's own `elasticsearch-certutil`
and stores them in the Secret `names.elasticsearch_transport_tls_secret`. It never overwrites an existing
Secret, so renders and re-applies keep the certificate; the CA key is discarded after signing.
The nodes use `verification_mode: certificate` (trust the CA, no host-name check), so one certificate
serves every replica, including ones added later. This works with `kubectl apply` of the rendered
manifests as well as with `obs apply`; the pods wait in ContainerCreating until the Secret exists.
The Secret carries this instance's labels, so `obs destroy` removes it with everything else (the Job is
removed too, and a later apply makes a fresh certificate); it is not applied by our field manager, so
`--prune` never deletes it.
"""

from __future__ import annotations

from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack

COMPONENT = "elasticsearch-certs"
ES_UID = 1000
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
VALID_DAYS = 3650


def _script(stack: Stack) -> str:
    ns = stack.cluster.namespace
    secret = names.elasticsearch_transport_tls_secret(stack)
    headless = names.headless_service_name(stack, "elasticsearch")
    dns = ",".join([f"{headless}.{ns}.svc", f"{names.resource_name(stack, 'elasticsearch')}.{ns}.svc"])
    labels = ",".join(f'"{k}":"{v}"' for k, v in names.labels(stack, "elasticsearch").items())
    secrets_url = f"https://kubernetes.default.svc/api/v1/namespaces/{ns}/secrets"
    api = f'curl -sS --cacert {SA_DIR}/ca.crt -H "Authorization: Bearer $(cat {SA_DIR}/token)"'
    return (
        "\n".join(
            [
                "set -eu",
                "cd /tmp",
                f'code=$({api} -o /dev/null -w "%{{http_code}}" "{secrets_url}/{secret}")',
                'if [ "$code" = 200 ]; then echo "Secret ' + secret + ' exists; nothing to do"; exit 0; fi',
                f"elasticsearch-certutil ca --silent --pem --days {VALID_DAYS} --out /tmp/ca.zip",
                "unzip -q /tmp/ca.zip -d /tmp",
                f"elasticsearch-certutil cert --silent --pem --days {VALID_DAYS} --ca-cert /tmp/ca/ca.crt"
                f" --ca-key /tmp/ca/ca.key --name transport --dns {dns} --out /tmp/transport.zip",
                "unzip -q /tmp/transport.zip -d /tmp",
                'b64() { base64 -w0 "$1"; }',
                f'body=\'{{"apiVersion":"v1","kind":"Secret","type":"Opaque",'
                f'"metadata":{{"name":"{secret}","labels":{{{labels}}}}},'
                '"data":{"ca.crt":"\'$(b64 /tmp/ca/ca.crt)\'","tls.crt":"\'$(b64 /tmp/transport/transport.crt)\'",'
                '"tls.key":"\'$(b64 /tmp/transport/transport.key)\'"}}\'',
                f'code=$({api} -o /tmp/response -w "%{{http_code}}" -X POST -H "Content-Type: application/json"'
                f' --data "$body" "{secrets_url}")',
                # 409: another run created it first — equally fine.
                'case "$code" in 201|409) echo "Secret ready";; *) cat /tmp/response; exit 1;; esac',
            ]
        )
        + "\n"
    )


def render_elasticsearch_certs(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    """ServiceAccount, Role (create Secrets; read only this one), RoleBinding and the Job."""
    es = stack.logging.elasticsearch
    name = names.resource_name(stack, COMPONENT)
    secret = names.elasticsearch_transport_tls_secret(stack)
    role = c.obj(
        "Role",
        version,
        c.meta(stack, COMPONENT),
        rules=[
            # `create` cannot be limited to a name; `get` can.
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret], "verbs": ["get"]},
        ],
    )
    binding = c.obj(
        "RoleBinding",
        version,
        c.meta(stack, COMPONENT),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        subjects=[{"kind": "ServiceAccount", "name": name, "namespace": stack.cluster.namespace}],
    )
    script = _script(stack)
    container = {
        "name": "create-transport-tls",
        "image": es.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", script],
        "env": [{"name": "ES_JAVA_OPTS", "value": "-Xms128m -Xmx128m"}],
        "resources": c.small_resources("100m", "256Mi", "512Mi"),
        "securityContext": c.container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(ES_UID, ES_UID),
        volumes=[c.empty_dir("tmp", "64Mi")],
        service_account=True,
        restartPolicy="OnFailure",
    )
    job_spec: c.Obj = {"backoffLimit": 6, "template": w.pod_template(stack, COMPONENT, es.image, spec)}
    if version.minor >= 21:  # ttlSecondsAfterFinished is beta (on by default) from 1.21
        job_spec["ttlSecondsAfterFinished"] = 86400
    job_name = f"{name}-{c.checksum(script)[:8]}"
    return [
        c.service_account(stack, COMPONENT, version, api_access=True),
        role,
        binding,
        c.obj("Job", version, c.meta(stack, COMPONENT, job_name, image=es.image), spec=job_spec),
    ]
