"""Every rendered manifest validates against the official Kubernetes OpenAPI schema (strict) per version."""

from __future__ import annotations

import pytest
from manifests_schema import schema_errors
from render_fixtures import all_objects, external_stack, minimal_stack, render, render_example

# The ends of the supported range plus every version where an API the renderer picks changes
# (1.21: policy/v1 PDBs and batch/v1 CronJobs; 1.23: autoscaling/v2; 1.25: the v1beta1 removals).
VERSIONS = ["1.20", "1.21", "1.23", "1.25", "1.27", "1.29", "1.31", "1.35"]


@pytest.mark.parametrize("version", VERSIONS)
def test_example_stack_is_schema_valid(version: str) -> None:
    objects = all_objects(render_example(version))
    assert len(objects) > 30
    assert schema_errors(objects, version) == []


@pytest.mark.parametrize("version", ["1.20", "1.27", "1.31", "1.35"])
@pytest.mark.parametrize("make", [external_stack, minimal_stack], ids=["external", "minimal"])
def test_variants_are_schema_valid(make, version: str) -> None:
    assert schema_errors(all_objects(render(make(), version)), version) == []


def test_validator_rejects_what_the_api_server_would() -> None:
    """The check can fail: a wrong apiVersion for the target and an unknown field are both reported."""
    objects = all_objects(render_example("1.31"))
    pdb = next(o for o in objects if o["kind"] == "PodDisruptionBudget")
    assert schema_errors([pdb], "1.20"), "policy/v1 PodDisruptionBudget must not validate on 1.20"
    broken = {**pdb, "spec": {**pdb["spec"], "maxUnavailabel": 1}}
    assert schema_errors([broken], "1.31")


@pytest.mark.parametrize("version", ["1.20", "1.24", "1.27", "1.31"])
def test_validator_checks_nested_fields_for_old_and_new_versions(version: str) -> None:
    """Deep references resolve (also in the converted 1.20–1.24 schemas): a typo inside a container fails."""
    deployment = next(o for o in all_objects(render_example(version)) if o["kind"] == "Deployment")
    assert schema_errors([deployment], version) == []
    container = {**deployment["spec"]["template"]["spec"]["containers"][0], "imagePullPolicyy": "Always"}
    pod = {**deployment["spec"]["template"]["spec"], "containers": [container]}
    broken = {**deployment, "spec": {**deployment["spec"], "template": {"metadata": {}, "spec": pod}}}
    errors = schema_errors([broken], version)
    assert len(errors) == 1 and "imagePullPolicyy" in errors[0]
    wrong_type = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    assert schema_errors([wrong_type], version)
