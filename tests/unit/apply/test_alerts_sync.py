"""Unit: `obs alerts sync` logic — diff first, write only on change, reload, idempotent — against an
in-memory ConfigStore double (cluster) and a temp directory (local, no server to reload)."""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.apply.alertmanager import AlertmanagerClusterTarget, sync_alertmanager_cluster
from observability.apply.prometheus import ClusterTarget, diff_files, sync_rules_cluster, sync_rules_local
from observability.errors import RemoteError


class FakeConfigStore:
    """In-memory double of the Kubernetes calls sync makes; records writes and reloads."""

    def __init__(self) -> None:
        self.config_maps: dict[tuple[str, str], dict[str, str]] = {}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.calls: list[str] = []

    def read_config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        found = self.config_maps.get((namespace, name))
        return None if found is None else dict(found)

    def write_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.calls.append(f"write configmap {namespace}/{name}")
        self.config_maps[(namespace, name)] = dict(data)

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        found = self.secrets.get((namespace, name))
        return None if found is None else dict(found)

    def write_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.calls.append(f"write secret {namespace}/{name}")
        self.secrets[(namespace, name)] = dict(data)

    def reload(self, namespace: str, service: str, port: int) -> None:
        self.calls.append(f"reload {namespace}/{service}:{port}")


TARGET = ClusterTarget("obs", "obs-prometheus-rules", "obs-prometheus", 9090)
AM_TARGET = AlertmanagerClusterTarget("obs", "obs-alertmanager", "obs-alertmanager", 9093)


def test_cluster_rules_sync_diffs_writes_reloads_then_is_a_no_op() -> None:
    store = FakeConfigStore()
    store.config_maps[("obs", "obs-prometheus-rules")] = {"old.yaml": "groups: []\n", "go.yaml": "a\n"}
    wanted = {"go.yaml": "b\n", "new.yaml": "groups: []\n"}
    dry = sync_rules_cluster(wanted, store, TARGET, dry_run=True)
    assert [(c.name, c.action) for c in dry.changes] == [
        ("go.yaml", "update"),
        ("new.yaml", "create"),
        ("old.yaml", "delete"),
    ]
    assert store.calls == []
    first = sync_rules_cluster(wanted, store, TARGET)
    assert first.reloaded and "-a\n+b\n" in first.changes[0].diff
    assert store.calls == ["write configmap obs/obs-prometheus-rules", "reload obs/obs-prometheus:9090"]
    assert store.config_maps[("obs", "obs-prometheus-rules")] == wanted
    second = sync_rules_cluster(wanted, store, TARGET)
    assert not second.changed and not second.reloaded
    assert len(store.calls) == 2


def test_cluster_sync_refuses_a_stack_that_was_never_applied() -> None:
    with pytest.raises(RemoteError, match="configmap/obs/obs-prometheus-rules does not exist"):
        sync_rules_cluster({"a.yaml": "x"}, FakeConfigStore(), TARGET)


def test_alertmanager_secret_sync_keeps_other_keys() -> None:
    store = FakeConfigStore()
    store.secrets[("obs", "obs-alertmanager")] = {"alertmanager.yml": "old\n", "extra.tmpl": "keep"}
    result = sync_alertmanager_cluster("new\n", store, AM_TARGET)
    assert result.reloaded and store.calls[-1] == "reload obs/obs-alertmanager:9093"
    assert store.secrets[("obs", "obs-alertmanager")] == {"alertmanager.yml": "new\n", "extra.tmpl": "keep"}
    assert not sync_alertmanager_cluster("new\n", store, AM_TARGET).changed


def test_local_sync_writes_only_changes_and_removes_stale_files(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "stale.yaml").write_text("groups: []\n")
    (rules / "notes.txt").write_text("not a rule file, left alone")
    result = sync_rules_local({"go.yaml": "groups: []\n"}, rules, None)
    assert [(c.name, c.action) for c in result.changes] == [("go.yaml", "create"), ("stale.yaml", "delete")]
    assert sorted(p.name for p in rules.iterdir()) == ["go.yaml", "notes.txt"]
    assert not sync_rules_local({"go.yaml": "groups: []\n"}, rules, None).changed


def test_diff_files_shows_unified_diffs() -> None:
    (change,) = diff_files({"a": "x\ny\n"}, {"a": "x\nz\n"}, "dir")
    assert change.diff.splitlines()[:2] == ["--- dir/a", "+++ dir/a"]
    assert "-y" in change.diff and "+z" in change.diff
