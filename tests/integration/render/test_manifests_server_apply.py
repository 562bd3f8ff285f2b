"""Every rendered object is accepted by a real kube-apiserver through server-side apply, on v1.20 and the
current release (tests/integration/kapi_server.py), each rendered for the version it is applied to.

The API server runs its own defaulting, validation and admission (no nodes: pods stay Pending), which
catches what schemas cannot: immutable-field rules, cross-field validation, name formats. Applying
twice must also succeed, as `obs apply` re-applies the same render.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "render"))

from kapi_server import ClusterUnderTest
from render_fixtures import all_objects, external_stack, minimal_stack, render, render_example

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def dynamic_client(kube_cluster: ClusterUnderTest) -> Iterator[Any]:
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient

    yield DynamicClient(config.new_client_from_config(str(kube_cluster.kubeconfig)))


@pytest.fixture(scope="module")
def version(kube_cluster: ClusterUnderTest) -> str:
    return str(kube_cluster.kube_version)


def apply_all(client: Any, objects: list[dict[str, Any]]) -> list[str]:
    errors = []
    for obj in objects:
        resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        try:
            client.server_side_apply(
                resource,
                body=obj,
                name=obj["metadata"]["name"],
                namespace=obj["metadata"].get("namespace"),
                field_manager="obs-render-test",
                force_conflicts=True,
            )
        except Exception as e:  # every rejection is collected with the server's reason
            body = getattr(e, "body", "") or str(e)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {str(body)[:600]}")
    return errors


@pytest.mark.parametrize(
    "make",
    [render_example, lambda v: render(minimal_stack(), v), lambda v: render(external_stack(), v)],
    ids=["example", "minimal", "external"],
)
def test_server_side_apply_accepts_every_object_twice(dynamic_client: Any, version: str, make: Any) -> None:
    objects = all_objects(make(version))
    assert apply_all(dynamic_client, objects) == []
    assert apply_all(dynamic_client, objects) == []
    sts = dynamic_client.resources.get(api_version="apps/v1", kind="StatefulSet")
    stored = {o.metadata.name for o in sts.get(namespace="observability").items}
    expected = {o["metadata"]["name"] for o in objects if o["kind"] == "StatefulSet"}
    assert expected <= stored


def test_the_server_rejects_what_it_should(dynamic_client: Any, version: str) -> None:
    """The check can fail: a Deployment whose selector does not match its pod labels is refused."""
    deployment = next(o for o in all_objects(render_example(version)) if o["kind"] == "Deployment")
    broken = {**deployment, "metadata": {**deployment["metadata"], "name": "broken-selector"}}
    broken["spec"] = {**deployment["spec"], "selector": {"matchLabels": {"app.kubernetes.io/name": "nothing"}}}
    errors = apply_all(dynamic_client, [broken])
    assert len(errors) == 1 and "selector" in errors[0]
