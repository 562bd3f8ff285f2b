"""Render layer (PURE): deterministic YAML and JSON serialisation shared by every renderer."""

from __future__ import annotations

import json
from typing import Any

import yaml

# libyaml's emitter when PyYAML was built with it: identical output, an order of magnitude faster.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Block style, multi-line strings as literal blocks, no aliases: readable and diff-friendly."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    """YAML with keys in the order given (renderers build dicts in a meaningful order)."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )


def dump_yaml_documents(documents: list[dict[str, Any]]) -> str:
    return "".join("---\n" + dump_yaml(doc) for doc in documents)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
