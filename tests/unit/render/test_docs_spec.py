"""docs/spec.md is generated from the spec model and must be up to date (and complete)."""

from __future__ import annotations

import subprocess
import sys

from render_fixtures import REPO


def test_spec_reference_is_up_to_date() -> None:
    generated = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "spec_reference.py")], capture_output=True, text=True, check=True
    ).stdout
    committed = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/spec.md is stale: run `.venv/bin/python scripts/spec_reference.py > docs/spec.md`"
    )


def test_every_key_has_a_meaning_and_every_example_key_is_documented() -> None:
    import yaml

    text = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows and all(not line.rstrip().endswith("|  |") for line in rows), "a key lacks its meaning"
    documented = {line.split("`")[1] for line in rows}

    def keys(node: object, prefix: str = "") -> set[str]:
        out: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                path = f"{prefix}{key}"
                out.add(path)
                out |= keys(value, f"{path}.")
        elif isinstance(node, list):
            for item in node:
                out |= keys(item, f"{prefix[:-1]}[].")
        return out

    example = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text(encoding="utf-8"))
    # Free-form maps (label selectors, routing tables) have user-chosen keys.
    free_form = ("services[].selector.", "alerting.routing.severity.", "alerting.routing.team.")
    missing = {k for k in keys(example) if not k.startswith(free_form)} - documented
    assert missing == set()


def test_components_page_lists_every_rendered_component() -> None:
    from render_fixtures import minimal_stack, render

    text = (REPO / "docs" / "components.md").read_text(encoding="utf-8")
    for component in render(minimal_stack()).manifests:
        assert f"| `{component}` |" in text, f"docs/components.md does not describe {component}"
