"""sync / diff / export against FakeGrafana (a real HTTP server speaking Grafana's documented API)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grafana_double import FakeGrafana, FakeKibana
from typer.testing import CliRunner

from observability.apply.grafana import (
    FOLDER_UID,
    Grafana,
    GrafanaTarget,
    SyncReport,
    content_hash,
    dashboard_status,
    diff_dashboard,
    grafana_datasources,
    sync_dashboards,
    sync_datasources,
)
from observability.apply.kibana import KibanaTarget, sync_kibana
from observability.cli import _register, app
from observability.errors import RemoteError
from observability.render.dashboards import compile_sources
from observability.spec import parse_stack

REPO = Path(__file__).resolve().parents[3]


def code() -> dict[str, dict[str, Any]]:
    return compile_sources({p.name: p.read_text() for p in (REPO / "dashboards").glob("*.yaml")})


@pytest.fixture
def fake() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    yield server
    server.close()


def client(fake: FakeGrafana) -> Grafana:
    return Grafana(GrafanaTarget(url=fake.url, token=fake.token, timeout=5))


def sync(fake: FakeGrafana, dashboards: dict[str, dict[str, Any]], **kw: Any) -> SyncReport:
    report = SyncReport()
    sync_dashboards(client(fake), dashboards, report, **kw)
    return report


def test_first_sync_creates_everything_and_a_second_sync_posts_nothing(fake: FakeGrafana) -> None:
    dashboards = code()
    first = sync(fake, dashboards)
    assert first.count("created") == len(dashboards) + 1  # + the folder
    assert set(fake.dashboards) == set(dashboards)
    assert all(fake.meta[uid]["folderUid"] == FOLDER_UID for uid in dashboards)
    expected = f"obs sync sha256={content_hash(dashboards['obs-go-service'])}"
    assert fake.versions["obs-go-service"][-1]["message"] == expected
    fake.requests.clear()
    second = sync(fake, dashboards)
    assert fake.writes() == []
    assert second.count("unchanged") == len(dashboards) + 1
    assert {uid: d["version"] for uid, d in fake.dashboards.items()} == dict.fromkeys(dashboards, 1)


def test_a_code_change_updates_only_that_dashboard(fake: FakeGrafana) -> None:
    dashboards = code()
    sync(fake, dashboards)
    changed = copy.deepcopy(dashboards)
    changed["obs-slo"]["title"] = "SLOs"
    assert dashboard_status(client(fake), "obs-slo", changed["obs-slo"]).state == "code-changed"
    fake.requests.clear()
    report = sync(fake, changed)
    assert fake.writes() == [("POST", "/api/dashboards/db")]
    assert report.count("updated") == 1 and fake.dashboards["obs-slo"]["title"] == "SLOs"
    assert fake.dashboards["obs-slo"]["version"] == 2


@pytest.mark.parametrize("wrapped", [False, True], ids=["grafana-11-versions", "grafana-12-versions"])
def test_ui_edits_are_detected_and_not_overwritten_without_force(wrapped: bool) -> None:
    fake = FakeGrafana(versions_wrapped=wrapped)
    try:
        dashboards = code()
        sync(fake, dashboards)
        fake.ui_save("obs-logs", lambda d: d.update(title="Logs (tuned in UI)"), message="tweak")
        status = dashboard_status(client(fake), "obs-logs", dashboards["obs-logs"])
        assert status.state == "edited-in-grafana"
        text = diff_dashboard(status, dashboards["obs-logs"])
        assert '-  "title": "Logs (tuned in UI)",' in text and '+  "title": "Logs",' in text
        fake.requests.clear()
        report = sync(fake, dashboards)
        assert fake.writes() == [] and [a[1] for a in report.refused] == ["dashboard obs-logs (Logs)"]
        changed = copy.deepcopy(dashboards)
        changed["obs-logs"]["description"] = "new in code"
        assert dashboard_status(client(fake), "obs-logs", changed["obs-logs"]).state == "conflict"
        forced = sync(fake, dashboards, force=True)
        assert forced.count("updated") == 1 and fake.dashboards["obs-logs"]["title"] == "Logs"
        assert dashboard_status(client(fake), "obs-logs", dashboards["obs-logs"]).state == "unchanged"
    finally:
        fake.close()


def test_dashboards_not_managed_by_obs_are_never_touched(fake: FakeGrafana) -> None:
    dashboards = code()
    fake.add_foreign("obs-slo", "Someone's SLO board")  # same uid, no managed tag
    fake.add_foreign("team-board", "Team board", tags=["obs-managed"])  # tagged, but in another folder
    report = sync(fake, dashboards, prune=True)
    assert fake.dashboards["obs-slo"]["title"] == "Someone's SLO board"
    assert "team-board" in fake.dashboards
    assert [a[1] for a in report.refused] == ["dashboard obs-slo (SLO and error budget)"]
    assert "not managed by obs" in report.refused[0][2]


def test_prune_removes_only_managed_dashboards_gone_from_code(fake: FakeGrafana) -> None:
    dashboards = code()
    sync(fake, dashboards)
    fewer = {uid: d for uid, d in dashboards.items() if uid != "obs-kubernetes-nodes"}
    kept = sync(fake, fewer)
    assert "obs-kubernetes-nodes" in fake.dashboards and kept.count("deleted") == 0
    fake.requests.clear()
    dry = sync(fake, fewer, prune=True, dry_run=True)
    assert fake.writes() == [] and dry.count("would be deleted") == 1
    pruned = sync(fake, fewer, prune=True)
    assert fake.writes() == [("DELETE", "/api/dashboards/uid/obs-kubernetes-nodes")]
    assert pruned.count("deleted") == 1 and set(fake.dashboards) == set(fewer)


def test_datasources_are_created_once_and_provisioned_ones_left_alone(fake: FakeGrafana) -> None:
    stack = parse_stack("cluster: {name: test}\n")
    wanted = grafana_datasources(stack, elasticsearch_password="pw")
    assert {d["type"] for d in wanted} == {"prometheus", "elasticsearch", "alertmanager"}
    report = SyncReport()
    sync_datasources(client(fake), wanted, report)
    assert report.count("created") == 3
    assert fake.datasources["elasticsearch-logs"]["secureJsonFields"] == {"basicAuthPassword": True}
    assert "pw" not in str(fake.datasources)
    fake.requests.clear()
    again = SyncReport()
    sync_datasources(client(fake), wanted, again)
    assert fake.writes() == [] and again.count("unchanged") == 3
    fake.datasources["prometheus"].update(readOnly=True, url="http://elsewhere:9090")
    third = SyncReport()
    sync_datasources(client(fake), wanted, third)
    assert fake.writes() == [] and "provisioned" in third.actions[0][2]


def test_wrong_credentials_and_unreachable_grafana_are_clear_errors(fake: FakeGrafana) -> None:
    bad = Grafana(GrafanaTarget(url=fake.url, token="nope", timeout=5))
    with pytest.raises(RemoteError) as err:
        sync_dashboards(bad, code(), SyncReport())
    assert err.value.status == 401 and "--token" in str(err.value)
    basic = Grafana(GrafanaTarget(url=fake.url, username="admin", password="admin-password", timeout=5))
    sync_dashboards(basic, code(), SyncReport())
    assert len(fake.dashboards) == len(code())
    fake.close()
    with pytest.raises(RemoteError, match="cannot reach Grafana"):
        sync_dashboards(Grafana(GrafanaTarget(url=fake.url, token="x", timeout=2)), code(), SyncReport())


def test_cli_sync_diff_export_workflow(fake: FakeGrafana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _register()
    runner = CliRunner()
    env = {"GRAFANA_URL": fake.url, "GRAFANA_TOKEN": fake.token}
    monkeypatch.chdir(REPO)
    result = runner.invoke(app, ["dashboards", "sync", "--spec", "examples/stack.yaml"], env=env)
    assert result.exit_code == 0, result.output
    assert "7 created" not in result.output and "synced to" in result.output
    assert len(fake.dashboards) == 7 and len(fake.datasources) == 3
    result = runner.invoke(app, ["dashboards", "diff", "--exit-code"], env=env)
    assert result.exit_code == 0 and "0 dashboard(s) differ" in result.output
    fake.ui_save("obs-go-fleet", lambda d: d["panels"][1].update(title="Traffic"))
    result = runner.invoke(app, ["dashboards", "diff", "--exit-code"], env=env)
    assert result.exit_code == 2 and "obs-go-fleet: edited-in-grafana" in result.output
    changed = [line.strip() for line in result.output.splitlines() if line.startswith(("+ ", "- "))]
    assert changed == ['-      "title": "Traffic",', '+      "title": "Traffic and errors",']
    result = runner.invoke(app, ["dashboards", "sync"], env=env)
    assert result.exit_code == 1 and "refused" in result.output
    result = runner.invoke(app, ["dashboards", "export", "obs-go-fleet", "--dashboards", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    exported = (tmp_path / "obs-go-fleet.yaml").read_text()
    assert "- row: Traffic\n" in exported
    result = runner.invoke(app, ["dashboards", "lint", "--dashboards", str(tmp_path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["dashboards", "export", "obs-go-fleet", "--dashboards", str(tmp_path)], env=env)
    assert result.exit_code == 1 and "--overwrite" in str(result.exception or result.output)


def test_kibana_objects_are_created_once() -> None:
    kibana = FakeKibana()
    try:
        target = KibanaTarget(url=kibana.url, username="elastic", password="pw", timeout=5)
        assert sync_kibana(target) == [("created", "index-pattern/obs-logs"), ("created", "search/obs-errors")]
        saved = kibana.objects[("search", "obs-errors")]
        assert saved["references"][0]["id"] == "obs-logs"
        assert "log.level" in saved["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
        kibana.requests.clear()
        assert sync_kibana(target) == [("unchanged", "index-pattern/obs-logs"), ("unchanged", "search/obs-errors")]
        assert kibana.writes() == []
        kibana.objects[("index-pattern", "obs-logs")]["attributes"]["timeFieldName"] = "event.created"
        assert sync_kibana(target)[0] == ("updated", "index-pattern/obs-logs")
    finally:
        kibana.close()
