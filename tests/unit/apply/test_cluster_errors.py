"""Unit: API errors translated at the boundary into ClusterError (apply/kubernetes.py)."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.rest import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from observability.apply.kubernetes import translate_exception, translate_status


def _status(message: str, causes: list[dict] | None = None, reason: str = "") -> str:
    return json.dumps({"kind": "Status", "message": message, "reason": reason, "details": {"causes": causes or []}})


def test_403_names_the_verb_resource_and_fix() -> None:
    body = _status('deployments.apps "web" is forbidden: User "bob" cannot patch resource "deployments"')
    err = translate_status(403, body, verb="apply", target="Deployment ns/web")
    assert err.status == 403
    assert "may not apply Deployment ns/web" in err.message and 'cannot patch resource "deployments"' in err.message
    assert err.hint and "Role" in err.hint


def test_401_says_to_refresh_credentials() -> None:
    err = translate_status(401, _status("Unauthorized"), verb="get", target="/version")
    assert "401" in err.message and err.hint and "credentials" in err.hint


def test_409_field_manager_conflict_names_field_and_manager() -> None:
    causes = [{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-edit"', "field": ".spec.replicas"}]
    err = translate_status(
        409, _status("Apply failed with 1 conflict", causes), verb="apply", target="Deployment ns/web"
    )
    assert ".spec.replicas" in err.message and "kubectl-edit" in err.message
    assert err.hint and "--force-conflicts" in err.hint


def test_422_names_object_and_every_invalid_field() -> None:
    causes = [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.template.spec.containers[0].image",
        },
        {"reason": "FieldValueInvalid", "message": "Invalid value: -1", "field": "spec.replicas"},
    ]
    err = translate_status(422, _status("Deployment is invalid", causes), verb="apply", target="Deployment ns/web")
    assert err.message.startswith("the API server rejected Deployment ns/web as invalid (422)")
    assert "spec.template.spec.containers[0].image: Required value" in err.message
    assert "spec.replicas: Invalid value: -1" in err.message


def test_404_and_5xx_and_non_json_bodies() -> None:
    assert (
        "not found (404)" in translate_status(404, _status('namespaces "x" not found'), verb="get", target="x").message
    )
    err = translate_status(503, b"upstream down", verb="list", target="Pod")
    assert "503" in err.message and "upstream down" in err.message and err.hint
    assert "timed out" in translate_status(504, None, verb="get", target="x").message


def test_long_server_bodies_are_truncated() -> None:
    err = translate_status(400, _status("x" * 5000), verb="get", target="t")
    assert len(err.message) < 700


def test_api_exception_is_translated_with_its_status() -> None:
    exc = ApiException(status=422, reason="Unprocessable Entity")
    exc.body = _status("bad", [{"field": "spec.x", "message": "Invalid value"}])
    err = translate_exception(exc, verb="apply", target="Service ns/s", server="https://k:6443")
    assert err.status == 422 and "spec.x: Invalid value" in err.message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            MaxRetryError(None, "/version", NewConnectionError(None, "refused")),
            "cannot reach the API server at https://k:6443",
        ),
        (ReadTimeoutError(None, "/version", "read timed out"), "did not answer in time"),
        (ConnectionRefusedError(111, "refused"), "cannot reach the API server"),
    ],
)
def test_unreachable_and_timeouts(exc: Exception, expected: str) -> None:
    err = translate_exception(exc, verb="get", target="/version", server="https://k:6443")
    assert expected in err.message and err.hint
