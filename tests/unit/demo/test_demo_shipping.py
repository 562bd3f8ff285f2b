"""The demo's filebeat.yml: the demo stack's rendered static-input config, changed only where the demo has no
cluster (the node's log directory, the pod metadata), and the summary naming the shipper."""

from __future__ import annotations

from pathlib import Path

import yaml

from observability.demo.config import DEMO_SPEC
from observability.demo.shipping import localize_filebeat, node_container_log, static_input_stack
from observability.demo.summary import DemoSnapshot, summary_rows
from observability.local.container_logs import KUBELET_LOG_DIR
from observability.pipeline.shipper import PodMeta, pod_metadata
from observability.render.filebeat import render_filebeat_config
from observability.spec import parse_stack

STACK = parse_stack(DEMO_SPEC.read_text(encoding="utf-8"), str(DEMO_SPEC))
POD = PodMeta(service="checkout", namespace="shop")


def test_only_the_log_directory_and_the_metadata_source_differ_from_the_rendered_config(tmp_path: Path) -> None:
    rendered = yaml.safe_load(render_filebeat_config(static_input_stack(STACK)))
    local = yaml.safe_load(localize_filebeat(STACK, tmp_path / "node", POD))
    assert "filebeat.autodiscover" not in local
    (rendered_input,), (local_input,) = rendered["filebeat.inputs"], local["filebeat.inputs"]
    root = str((tmp_path / "node").resolve())
    assert local_input["paths"] == [root + path for path in rendered_input["paths"]]
    assert local_input.pop("paths") and rendered_input.pop("paths")
    assert [p.replace(root, "") for p in local_input.pop("exclude_files")] == rendered_input.pop("exclude_files")
    assert local_input == rendered_input  # multiline, stream, type: as rendered
    (kube,) = [i for i, p in enumerate(rendered["processors"]) if "add_kubernetes_metadata" in p]
    assert local["processors"][kube] == {"add_fields": {"target": "", "fields": pod_metadata(POD)}}
    del local["processors"][kube], rendered["processors"][kube]
    assert local["processors"] == rendered["processors"]  # drop_event and the cluster name as rendered
    del local["filebeat.inputs"], rendered["filebeat.inputs"], local["processors"], rendered["processors"]
    assert local == rendered  # the Kafka output, the HTTP endpoint, logging


def test_the_service_log_is_where_the_kubelet_links_it(tmp_path: Path) -> None:
    log = node_container_log(tmp_path, POD)
    assert log.path.parent == tmp_path / "node" / KUBELET_LOG_DIR.lstrip("/")
    assert log.path.name == f"{POD.pod}_shop_checkout-{POD.container_id}.log" == Path(POD.log_path).name


def test_the_summary_says_which_shipper_runs() -> None:
    snapshot = DemoSnapshot(
        uptime_s=1, lines_read=3, events_shipped=2, ship_failures=0, events_consumed=2, events_indexed=2,
        events_dead_lettered=None, requests_sent=1, requests_5xx=0, burst=False, alerts_prometheus=(),
        alerts_alertmanager=(), alerts_webhook=(), sink="embedded store x", shipper="real Filebeat 9.0.0",
    )  # fmt: skip
    rows = summary_rows(snapshot)
    assert rows[rows.index(("shipped", "2 of 3 log lines to Kafka")) + 1] == ("log shipper", "real Filebeat 9.0.0")
