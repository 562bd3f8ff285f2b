"""Golden files for the example spec, determinism and render time.

tests/golden/example/ holds the manifests and the configs this area renders (filebeat.yml,
prometheus.yml, Grafana provisioning). Config files other areas render (processor.yaml, rules,
alertmanager.yml, dashboards) are embedded in ConfigMaps/Secrets: there the golden copy keeps their
size and digest instead of their text, so each area's own golden tests own their content.
`UPDATE_GOLDEN=1 pytest tests/unit/render/test_render_golden.py` rewrites the golden files and
filebeat/filebeat.yml.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from render_fixtures import REPO, all_objects, example_stack, render, render_example, repo_sources

from observability.render import render_stack
from observability.render.yamlfmt import dump_yaml_documents

GOLDEN = REPO / "tests" / "golden" / "example"
OWN_FILES = (
    "filebeat/filebeat.yml",
    "prometheus/prometheus.yml",
    "grafana/provisioning/datasources/datasources.yaml",
    "grafana/provisioning/dashboards/dashboards.yaml",
)
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _digest(text: str) -> str:
    return f"<{len(text)} bytes, sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}>"


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """Embedded config text → its digest; so are the checksum annotations derived from it."""
    out = copy.deepcopy(obj)
    if out["kind"] == "ConfigMap":
        out["data"] = {k: _digest(v) for k, v in out.get("data", {}).items()}
    if out["kind"] == "Secret":
        out["data"] = {k: _digest(base64.b64decode(v).decode()) for k, v in out.get("data", {}).items()}
    template = out.get("spec", {}).get("template", {})
    annotations = template.get("metadata", {}).get("annotations", {})
    if "checksum/config" in annotations:
        annotations["checksum/config"] = "<digest of the embedded config>"
    return out


def golden_files() -> dict[str, str]:
    rendered = render_example()
    files = {f"manifests/{c}.yaml": dump_yaml_documents([_normalized(o) for o in objs])
             for c, objs in rendered.manifests.items()}  # fmt: skip
    files.update({path: rendered.files[path] for path in OWN_FILES})
    return files


def test_golden_files_match() -> None:
    expected = golden_files()
    if UPDATE:
        for old in GOLDEN.rglob("*"):
            if old.is_file():
                old.unlink()
        for rel, text in expected.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text, encoding="utf-8")
        (REPO / "filebeat" / "filebeat.yml").write_text(expected["filebeat/filebeat.yml"], encoding="utf-8")
    on_disk = {str(p.relative_to(GOLDEN)): p.read_text(encoding="utf-8") for p in GOLDEN.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(expected), "golden file set differs; run with UPDATE_GOLDEN=1 and review the diff"
    for rel, text in expected.items():
        assert on_disk[rel] == text, f"{rel} differs from tests/golden/example/{rel}; UPDATE_GOLDEN=1 regenerates"


def test_embedded_configs_are_the_rendered_files() -> None:
    """What the golden files abbreviate is checked here: each ConfigMap/Secret holds the rendered file."""
    rendered = render_example()
    objects = {o["metadata"]["name"]: o for o in all_objects(rendered) if o["kind"] in {"ConfigMap", "Secret"}}
    assert objects["obs-processor"]["data"]["processor.yaml"] == rendered.files["processor/processor.yaml"]
    secret = base64.b64decode(objects["obs-alertmanager"]["data"]["alertmanager.yml"]).decode()
    assert secret == rendered.files["alertmanager/alertmanager.yml"]
    assert objects["obs-prometheus"]["data"]["prometheus.yml"] == rendered.files["prometheus/prometheus.yml"]
    dashboards = {p.rsplit("/", 1)[1]: t for p, t in rendered.files.items() if p.startswith("grafana/dashboards/")}
    assert objects["obs-grafana-dashboards"]["data"] == dashboards


def test_render_is_deterministic_within_and_across_processes(tmp_path: Path) -> None:
    first = render(example_stack()).files
    second = render(example_stack()).files
    assert first == second
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        argv = [sys.executable, "-m", "observability", "render", "--spec", str(REPO / "examples" / "stack.yaml")]
        argv += ["--out", str(out), "--alerts", str(REPO / "alerts"), "--dashboards", str(REPO / "dashboards")]
        subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)
        outputs.append({str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0] == outputs[1]
    assert {k: v.decode() for k, v in outputs[0].items()} == first


def test_render_takes_well_under_a_second() -> None:
    stack, sources = example_stack(), repo_sources()
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        render_stack(stack, sources)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[1] < 0.75, f"median render time {sorted(timings)[1]:.3f}s"


@pytest.mark.parametrize("version", ["1.20", "1.31"])
def test_kube_version_picks_api_versions(version: str) -> None:
    objects = all_objects(render(example_stack(), version))
    pdbs = {o["apiVersion"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    assert pdbs == {"policy/v1beta1" if version == "1.20" else "policy/v1"}
    job = next(o for o in objects if o["kind"] == "Job")
    assert ("ttlSecondsAfterFinished" in job["spec"]) is (version != "1.20")
