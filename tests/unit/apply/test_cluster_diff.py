"""Unit: field-level diff between live objects and dry-run results (apply/cluster/diff.py)."""

from __future__ import annotations

from observability.apply.cluster.diff import MASK, comparable, diff_objects, mask_secret


def _deploy(image: str, replicas: int = 1, **meta: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", **meta},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": image}, {"name": "side", "image": "s:1"}]}},
        },
    }


def test_server_populated_fields_are_ignored() -> None:
    live = _deploy("a:1", uid="u1", resourceVersion="5", generation=3, creationTimestamp="t", managedFields=[{}])
    live["status"] = {"readyReplicas": 0}
    desired = _deploy("a:1", uid="u1", resourceVersion="9", generation=4, managedFields=[{"x": 1}])
    assert diff_objects(live, desired) == []


def test_changed_fields_are_reported_by_path_with_named_list_items() -> None:
    changes = diff_objects(_deploy("a:1", replicas=1), _deploy("a:2", replicas=3))
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("spec.replicas", "1", "3"),
        ("spec.template.spec.containers[name=app].image", "a:1", "a:2"),
    ]


def test_added_and_removed_fields_show_absent() -> None:
    live = _deploy("a:1")
    desired = _deploy("a:1", labels={"team": "ops"})
    changes = diff_objects(live, desired)
    assert [(c.path, c.before, c.after) for c in changes] == [("metadata.labels", "<absent>", '{"team":"ops"}')]
    back = diff_objects(desired, live)
    assert [(c.path, c.before, c.after) for c in back] == [("metadata.labels", '{"team":"ops"}', "<absent>")]


def test_secret_values_are_never_shown() -> None:
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "b2xk"}}
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "bmV3", "k": "eA=="},
    }
    changes = diff_objects(live, desired)
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("data.k", "<absent>", MASK),
        ("data.password", MASK, MASK),
    ]
    assert "b2xk" not in repr(changes) and "bmV3" not in repr(changes)
    assert mask_secret(desired)["data"] == {"password": MASK, "k": MASK}


def test_multiline_text_changes_carry_a_unified_diff() -> None:
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"f.yml": "a: 1\nb: 2\nc: 3\n"}}
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"f.yml": "a: 1\nb: 5\nc: 3\n"},
    }
    [change] = diff_objects(live, desired)
    assert (change.path, change.before, change.after) == ("data.f.yml", "<3 lines>", "<3 lines>")
    assert "-b: 2" in change.detail and "+b: 5" in change.detail


def test_comparable_does_not_mutate_its_input() -> None:
    live = _deploy("a:1", uid="u", annotations={})
    live["status"] = {"x": 1}
    out = comparable(live)
    assert "status" not in out and "uid" not in out["metadata"] and "annotations" not in out["metadata"]
    assert live["status"] == {"x": 1} and live["metadata"]["uid"] == "u"
