"""Test helper: run the rendered prometheus.yml through Debian's Prometheus, which lacks Kubernetes SD.

Debian builds Prometheus without the Kubernetes service discovery (its client libraries are not
packaged), so `kubernetes_sd_configs` is an unknown field there. For the checks, each job's
`kubernetes_sd_configs` is swapped for a `file_sd_configs` entry; everything else (relabelling, regexes,
paths, schemes, alerting, rule files) reaches the real binary unchanged. The discovery blocks themselves
are checked separately against the documented fields (role, namespaces.names). The service-account
token and CA that exist inside a pod are pointed at stand-in files, since promtool checks they exist.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KUBERNETES_SD_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}


def with_file_sd(config: dict[str, Any], sd_dir: Path) -> dict[str, Any]:
    """A copy of `config` whose Kubernetes discovery reads `sd_dir/<job index>.json` instead."""
    out = copy.deepcopy(config)
    for i, job in enumerate(out["scrape_configs"]):
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [str(sd_dir / f"{i}.json")], "refresh_interval": "1s"}]
        for section, key in (("tls_config", "ca_file"), ("authorization", "credentials_file")):
            path = job.get(section, {}).get(key)
            if path and path.startswith(SA_DIR):
                stand_in = sd_dir / path.rsplit("/", 1)[1]
                stand_in.write_text("stand-in for the pod's service-account file\n")
                job[section][key] = str(stand_in)
    return out


def kubernetes_sd_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    for job in config["scrape_configs"]:
        for sd in job.get("kubernetes_sd_configs", []):
            unknown = set(sd) - {"role", "namespaces", "selectors", "api_server", "kubeconfig_file"}
            if unknown:
                problems.append(f"{job['job_name']}: unknown kubernetes_sd_configs keys {sorted(unknown)}")
            if sd.get("role") not in KUBERNETES_SD_ROLES:
                problems.append(
                    f"{job['job_name']}: role {sd.get('role')!r} is not one of {sorted(KUBERNETES_SD_ROLES)}"
                )
            namespaces = sd.get("namespaces")
            if namespaces is not None and (set(namespaces) - {"names", "own_namespace"} or not namespaces["names"]):
                problems.append(f"{job['job_name']}: namespaces must be {{names: [...]}}, got {namespaces}")
    return problems
