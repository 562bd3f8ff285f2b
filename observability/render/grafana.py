"""Render layer (PURE): Grafana provisioning files — datasources and the dashboards provider.

Datasource uids are fixed (names.GRAFANA_*_UID) so the dashboards from render/dashboards.py can refer
to them. Passwords are `${VAR}` references that Grafana expands from its environment at start-up;
the Deployment fills those variables from Secrets.
"""

from __future__ import annotations

from typing import Any

from observability.render import names
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack

DASHBOARDS_DIR = "/etc/grafana/dashboards"
ENV_PROMETHEUS_USERNAME = "PROMETHEUS_USERNAME"
ENV_PROMETHEUS_PASSWORD = "PROMETHEUS_PASSWORD"


def log_index_pattern(stack: Stack) -> str:
    """Index pattern covering the processor's log data streams (or its custom index pattern)."""
    proc = stack.logging.processor
    if proc.index:
        # Date-math or placeholder parts of a custom pattern become a wildcard.
        return proc.index.split("%", 1)[0].split("{", 1)[0].rstrip("-.") + "*"
    return f"logs-{proc.data_stream_dataset}-*"


def _prometheus(stack: Stack) -> dict[str, Any]:
    prom = stack.metrics.prometheus
    ds: dict[str, Any] = {
        "name": "Prometheus",
        "uid": names.GRAFANA_PROMETHEUS_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": names.prometheus_url(stack),
        "isDefault": True,
        "editable": False,
        "jsonData": {"httpMethod": "POST", "timeInterval": prom.scrape_interval},
    }
    if prom.mode == "external" and prom.external is not None:
        if prom.external.credentials_secret is not None:
            ds["basicAuth"] = True
            ds["basicAuthUser"] = f"${{{ENV_PROMETHEUS_USERNAME}}}"
            ds["secureJsonData"] = {"basicAuthPassword": f"${{{ENV_PROMETHEUS_PASSWORD}}}"}
        if prom.external.tls_skip_verify:
            ds["jsonData"]["tlsSkipVerify"] = True
    return ds


def _elasticsearch(stack: Stack) -> dict[str, Any]:
    es = stack.logging.elasticsearch
    ds: dict[str, Any] = {
        "name": "Elasticsearch logs",
        "uid": names.GRAFANA_ELASTICSEARCH_UID,
        "type": "elasticsearch",
        "access": "proxy",
        "url": names.elasticsearch_url(stack),
        "editable": False,
        "jsonData": {
            "index": log_index_pattern(stack),
            "timeField": "@timestamp",
            "logMessageField": "message",
            "logLevelField": "log.level",
            "maxConcurrentShardRequests": 5,
        },
    }
    has_credentials = es.mode == "managed" or (es.external is not None and es.external.credentials_secret is not None)
    if has_credentials:
        ds["basicAuth"] = True
        ds["basicAuthUser"] = f"${{{names.ENV_ELASTICSEARCH_USERNAME}}}"
        ds["secureJsonData"] = {"basicAuthPassword": f"${{{names.ENV_ELASTICSEARCH_PASSWORD}}}"}
    if es.mode == "external" and es.external is not None and es.external.tls_skip_verify:
        ds["jsonData"]["tlsSkipVerify"] = True
    return ds


def _alertmanager(stack: Stack) -> dict[str, Any]:
    return {
        "name": "Alertmanager",
        "uid": names.GRAFANA_ALERTMANAGER_UID,
        "type": "alertmanager",
        "access": "proxy",
        "url": names.alertmanager_url(stack),
        "editable": False,
        "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
    }


def render_datasources(stack: Stack) -> dict[str, Any]:
    datasources = [_prometheus(stack)]
    if stack.logging.enabled and stack.logging.elasticsearch.enabled:
        datasources.append(_elasticsearch(stack))
    if stack.metrics.alertmanager.enabled:
        datasources.append(_alertmanager(stack))
    return {"apiVersion": 1, "datasources": datasources}


def render_dashboard_provider(stack: Stack) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "observability",
                "orgId": 1,
                "folder": "Observability",
                "type": "file",
                # Dashboards are code: edits happen in dashboards/, not in the UI.
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": False},
            }
        ],
    }


def render_grafana_provisioning(stack: Stack) -> dict[str, str]:
    """Provisioning files by path relative to Grafana's provisioning directory."""
    return {
        "datasources/datasources.yaml": dump_yaml(render_datasources(stack)),
        "dashboards/dashboards.yaml": dump_yaml(render_dashboard_provider(stack)),
    }
