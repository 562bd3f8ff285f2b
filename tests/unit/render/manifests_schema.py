"""Test helper: validate rendered objects against the official Kubernetes OpenAPI schemas.

Uses the maintained `kubernetes-validate` package through its Python API, strict mode (unknown fields
are errors). The installed release ships schemas from 1.25 on; the schemas for 1.20–1.24 are taken from
release 1.28.3 (the last one shipping them). That release's code is slow with today's jsonschema
(about a second per object), so a side directory pairs the installed release's code with those schema
files, converted mechanically to the layout the installed code reads (draft 2020-12 `$defs` under the
same `$id`s; the definitions themselves are untouched), and validation for those versions runs there
in a subprocess.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import kubernetes_validate

REPO = Path(__file__).resolve().parents[3]
OLD_RELEASE = "1.28.3"
OLD_VERSIONS = ("1.20", "1.21", "1.22", "1.23", "1.24")
SIDE_DIR = REPO / ".venv" / f"kubernetes-validate-schemas-from-{OLD_RELEASE}"
PACKAGE_DIR = Path(kubernetes_validate.__file__).parent

_CHILD = r"""
import json, sys
import kubernetes_validate as kv
objs, version = json.load(sys.stdin)
errors = []
for o in objs:
    try:
        kv.validate(o, version, strict=True)
    except Exception as e:  # report every failure, whatever its kind
        errors.append(f"{o.get('kind')}/{o.get('metadata', {}).get('name')}: {type(e).__name__}: {e}")
print(json.dumps([kv.__file__, errors]))
"""


def _installed_versions() -> set[str]:
    schema_dir = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return {p.name.split("-")[0].lstrip("v") for p in schema_dir.iterdir() if p.name.endswith("-local-strict")}


_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"


def _convert(filename: str, schema: dict[str, Any]) -> str:
    """Old layout (`definitions`, refs `_definitions.json#/definitions/X`) → the installed layout."""
    text = json.dumps(schema)
    text = text.replace('"_definitions.json#/definitions/', '"/api/_definitions.json#/$defs/')
    text = text.replace('"#/definitions/', '"#/$defs/')
    converted = json.loads(text)
    converted["$schema"] = _DRAFT
    if filename == "_definitions.json":
        converted["$defs"] = converted.pop("definitions")
        converted["$id"] = _DEFINITIONS_ID
    else:
        converted["$id"] = f"https://kubernetes.io/api/{filename.removesuffix('.json')}"
    return json.dumps(converted)


def _ensure_side_dir() -> Path:
    """SIDE_DIR/kubernetes_validate: the installed code plus the 1.20–1.24 schemas of release 1.28.3."""
    package = SIDE_DIR / "kubernetes_validate"
    if (package / "kubernetes-json-schema" / "v1.24.0-local-strict" / "_definitions.json").is_file():
        return SIDE_DIR
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp,
             f"kubernetes-validate=={OLD_RELEASE}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(
                f"downloading kubernetes-validate=={OLD_RELEASE} (schemas for Kubernetes < 1.25) failed; "
                f"it needs PyPI access once:\n{result.stderr[-2000:]}"
            )
        staging = Path(tmp) / "kubernetes_validate"
        shutil.copytree(PACKAGE_DIR, staging, ignore=shutil.ignore_patterns("kubernetes-json-schema", "__pycache__"))
        prefixes = tuple(f"kubernetes_validate/kubernetes-json-schema/v{v}.0-local" for v in OLD_VERSIONS)
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in wheel.namelist():
                if member.startswith(prefixes) and member.endswith(".json"):
                    target = Path(tmp) / member
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(_convert(target.name, json.loads(wheel.read(member))))
        shutil.rmtree(SIDE_DIR, ignore_errors=True)
        SIDE_DIR.mkdir(parents=True)
        shutil.move(str(staging), package)
    return SIDE_DIR


def schema_errors(objects: list[dict[str, Any]], kube_version: str) -> list[str]:
    """Every schema violation of `objects` for Kubernetes `kube_version` ('1.20'); empty when all are valid."""
    full = f"{kube_version}.0"
    if full in _installed_versions():
        errors = []
        for obj in objects:
            try:
                kubernetes_validate.validate(obj, full, strict=True)
            except Exception as e:  # report every failure, whatever its kind
                name = obj.get("metadata", {}).get("name")
                errors.append(f"{obj.get('kind')}/{name}: {type(e).__name__}: {e}")
        return errors
    env = {"PYTHONPATH": str(_ensure_side_dir()), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD], input=json.dumps([objects, full]), capture_output=True, text=True,
        env=env, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"schema validation subprocess failed:\n{result.stderr[-3000:]}")
    location, errors = json.loads(result.stdout)
    assert location.startswith(str(SIDE_DIR)), f"subprocess imported kubernetes_validate from {location}"
    return list(errors)
