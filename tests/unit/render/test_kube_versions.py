"""Target Kubernetes versions: parsing, range errors, and the apiVersion each supported version serves."""

from __future__ import annotations

import pytest

from observability.errors import RenderError
from observability.render.kube import api_version, parse_kube_version


@pytest.mark.parametrize("text", ["1.29", "v1.29.3", "1.29+", " 1.29 "])
def test_parse_accepts_server_style_versions(text: str) -> None:
    assert str(parse_kube_version(text)) == "1.29"


@pytest.mark.parametrize("text", ["1.19", "1.36", "2.0"])
def test_versions_outside_the_range_name_the_range(text: str) -> None:
    with pytest.raises(RenderError, match=r"supported versions are 1\.20 to 1\.35"):
        parse_kube_version(text)


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match=r"not of the form 1\.29"):
        parse_kube_version("latest")


@pytest.mark.parametrize(
    ("kind", "minor", "expected"),
    [
        ("PodDisruptionBudget", 20, "policy/v1beta1"),
        ("PodDisruptionBudget", 21, "policy/v1"),
        ("CronJob", 20, "batch/v1beta1"),
        ("CronJob", 31, "batch/v1"),
        ("HorizontalPodAutoscaler", 22, "autoscaling/v2beta2"),
        ("HorizontalPodAutoscaler", 23, "autoscaling/v2"),
        ("NetworkPolicy", 20, "networking.k8s.io/v1"),
    ],
)
def test_api_version_table(kind: str, minor: int, expected: str) -> None:
    assert api_version(kind, parse_kube_version(f"1.{minor}")) == expected


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(RenderError, match="no API version known for kind 'Gizmo'"):
        api_version("Gizmo", parse_kube_version("1.29"))
