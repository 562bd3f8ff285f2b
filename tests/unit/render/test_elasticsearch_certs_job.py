"""The transport-TLS Job's script, run by bash with stand-ins for the API server and elasticsearch-certutil.

`curl` records what the script sends and answers with a chosen status; `elasticsearch-certutil` is played by
openssl producing the same zip layout (`ca/ca.crt`, `<name>/<name>.crt`) as certutil's `--pem` mode. The
test checks the glue: the Secret body is valid JSON, its certificate verifies against its CA, and an
existing Secret is left alone.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from render_fixtures import render_example

CURL = r"""#!/bin/bash
# Stand-in for curl: GET answers $GET_STATUS; POST saves the --data body and answers 201.
data=""; method=GET
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift;;
    -X) method="$2"; shift;;
  esac
  shift
done
if [ "$method" = POST ]; then printf '%s' "$data" > "$WORK/posted.json"; printf 201; else printf '%s' "$GET_STATUS"; fi
"""

CERTUTIL = r"""#!/bin/bash
# Stand-in for elasticsearch-certutil --pem, built on openssl.
set -eu
mode="$1"; shift
days=30; out=""; name=""; cacert=""; cakey=""; dns=""
while [ $# -gt 0 ]; do
  case "$1" in
    --days) days="$2"; shift;; --out) out="$2"; shift;; --name) name="$2"; shift;;
    --ca-cert) cacert="$2"; shift;; --ca-key) cakey="$2"; shift;; --dns) dns="$2"; shift;;
  esac
  shift
done
tmp=$(mktemp -d)
if [ "$mode" = ca ]; then
  mkdir "$tmp/ca"
  openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "/CN=test-ca" \
    -keyout "$tmp/ca/ca.key" -out "$tmp/ca/ca.crt" 2>/dev/null
  (cd "$tmp" && zip -qr "$out" ca)
else
  mkdir "$tmp/$name"
  san="DNS:$(echo "$dns" | sed 's/,/,DNS:/g')"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$tmp/$name/$name.key" -out "$tmp/req.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$san" > "$tmp/ext"
  openssl x509 -req -in "$tmp/req.csr" -CA "$cacert" -CAkey "$cakey" -CAcreateserial -days "$days" \
    -extfile "$tmp/ext" -out "$tmp/$name/$name.crt" 2>/dev/null
  (cd "$tmp" && zip -qr "$out" "$name")
fi
"""


def _script() -> str:
    job = next(o for o in render_example().manifests["elasticsearch"] if o["kind"] == "Job")
    return str(job["spec"]["template"]["spec"]["containers"][0]["command"][-1])


def _run(tmp_path: Path, get_status: str, curl: str = CURL) -> subprocess.CompletedProcess[str]:
    for tool in ("bash", "openssl", "zip", "unzip", "base64"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("curl", curl), ("elasticsearch-certutil", CERTUTIL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    script = _script().replace("/tmp", str(work))  # the pod's /tmp emptyDir
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "WORK": str(work), "GET_STATUS": get_status}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_job_creates_a_secret_whose_certificate_verifies_against_its_ca(tmp_path: Path) -> None:
    result = _run(tmp_path, "404")
    assert result.returncode == 0, result.stderr
    assert "Secret ready" in result.stdout
    body = json.loads((tmp_path / "work" / "posted.json").read_text())
    assert body["metadata"]["name"] == "obs-elasticsearch-transport-tls"
    # destroy finds it by the instance labels; prune never does (not applied by our field manager)
    assert body["metadata"]["labels"]["app.kubernetes.io/instance"] == "obs"
    assert body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "observability"
    files = {}
    for key in ("ca.crt", "tls.crt", "tls.key"):
        files[key] = tmp_path / key
        files[key].write_bytes(base64.b64decode(body["data"][key]))
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(files["ca.crt"]), str(files["tls.crt"])], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(files["tls.crt"]), "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "DNS:obs-elasticsearch-headless.observability.svc" in text


def test_job_leaves_an_existing_secret_alone(tmp_path: Path) -> None:
    result = _run(tmp_path, "200")
    assert result.returncode == 0, result.stderr
    assert "exists; nothing to do" in result.stdout
    assert not (tmp_path / "work" / "posted.json").exists()
    assert not os.listdir(tmp_path / "work")


def test_job_fails_loudly_when_the_api_refuses(tmp_path: Path) -> None:
    refusing = CURL.replace("printf 201", 'printf forbidden > "$WORK/response"; printf 403')
    result = _run(tmp_path, "404", curl=refusing)
    assert result.returncode == 1
    assert "forbidden" in result.stdout
