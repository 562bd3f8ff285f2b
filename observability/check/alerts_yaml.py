"""Check layer (PURE): YAML loading that remembers line numbers, for `file:line: problem` messages.

Mappings load as `LineDict` (a dict with `.line`, 1-based) and sequences as `LineList`; scalars stay
plain. Multi-document input (PrometheusRule bundles) yields one value per document.
"""

from __future__ import annotations

from typing import Any

import yaml

from observability.errors import CheckError


class LineDict(dict[str, Any]):
    line: int = 0


class LineList(list[Any]):
    line: int = 0


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise CheckError(f"line {key_node.start_mark.line + 1}: mapping keys must be scalars")
        out[str(key) if not isinstance(key, str) else key] = loader.construct_object(value_node, deep=True)
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def line_of(value: Any, default: int = 1) -> int:
    return int(getattr(value, "line", default) or default)


def load_documents(text: str, source: str) -> list[Any]:
    """Every YAML document in text; CheckError naming `source:line` for invalid YAML."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise CheckError(f"{where}: invalid YAML: {e.problem}") from None
    except yaml.YAMLError as e:
        raise CheckError(f"{source}: invalid YAML: {e}") from None
