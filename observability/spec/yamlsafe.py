"""Spec layer (PURE): the one YAML loader for every file a user gives us (spec, rules, dashboards, tests).

PyYAML's SafeLoader refuses Python tags but not hostile shapes: an alias bomb ("billion laughs") expands
a 350-byte file into gigabytes once anything walks it, a recursive alias makes a cycle, deep nesting
overflows the recursive composer, and a 5000-digit integer raises a bare ValueError. This module
composes the node graph with a depth bound, then checks it once (cycles, expanded size, tags, keys,
integer length) before building plain Python values, so each of those is a `file:line: problem` error
within a bounded time and memory. YAML merge keys (`<<: *defaults`) are ordinary YAML and supported.

Mappings come back as `LineDict` (a dict with `.line` and `.key_lines`), sequences as `LineList`
(`.line`, `.item_lines`); scalars stay plain. Duplicate keys are errors, as they are for Prometheus
and Alertmanager (Go yaml.v3: `mapping key "x" already defined`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from observability.errors import ObservabilityError

_TAG = "tag:yaml.org,2002:"
# The tags of YAML 1.1's core schema that SafeLoader resolves; anything else (!!python/..., !Ref) is refused.
_ALLOWED_TAGS = frozenset(
    _TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp", "map", "seq", "merge")
)
_MERGE_TAG = _TAG + "merge"


@dataclass(frozen=True)
class YamlLimits:
    """Bounds for user-written YAML; generous for real files (kube-prometheus rules: ~20k nodes)."""

    max_depth: int = 64
    """nesting of mappings and sequences, levels"""
    max_nodes: int = 200_000
    """nodes after expanding every alias, count"""
    max_int_digits: int = 64
    """characters of an integer scalar (Python refuses > 4300 digits; no field needs more than 20)"""


LIMITS = YamlLimits()


class YamlInputError(ObservabilityError):
    """A user's YAML file is invalid or hostile; `problems` are `source:line: message` lines."""

    def __init__(self, problems: list[str], source: str) -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(problems))


class LineDict(dict[str, Any]):
    """A mapping from YAML; `.line` is where it starts, `.key_lines[key]` where each key is (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence from YAML; `.line` is where it starts, `.item_lines[i]` where each item is (1-based)."""

    line: int = 0
    item_lines: list[int]


def line_of(value: Any, default: int = 1) -> int:
    """The line a loaded mapping or sequence started on, else `default`."""
    return int(getattr(value, "line", default) or default)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at `max_depth` instead of overflowing Python's stack."""

    def __init__(self, text: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self._limits = limits
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > self._limits.max_depth:
                mark = self.peek_event().start_mark
                raise _Refused(mark.line + 1, f"nested more than {self._limits.max_depth} levels deep; flatten it")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def load_yaml_documents(text: str, source: str, *, plain: bool = False, limits: YamlLimits = LIMITS) -> list[Any]:
    """Every non-empty document of `text`; YamlInputError naming `source:line` otherwise.

    Mappings and sequences are LineDict/LineList, or plain dict/list with `plain=True` (for values that
    are dumped again: PyYAML's SafeDumper refuses dict subclasses).
    """
    loader = _BoundedLoader(text, limits)
    try:
        nodes = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        docs = []
        for node in nodes:
            _check_graph(node, limits)
            builder = _Builder(loader, source)
            value = builder.build(node)
            if plain:
                value = _plain(value)
            if builder.problems:
                raise YamlInputError(builder.problems, source)
            if value is not None:
                docs.append(value)
        return docs
    except _Refused as e:
        raise YamlInputError([f"{source}:{e.line}: {e.problem}"], source) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlInputError([f"{source}:{line}: invalid YAML: {e.problem or e}"], source) from None
    except yaml.YAMLError as e:
        raise YamlInputError([f"{source}:1: invalid YAML: {e}"], source) from None
    finally:
        loader.dispose()


def load_yaml(text: str, source: str, *, plain: bool = False, limits: YamlLimits = LIMITS) -> Any:
    """The single document of `text` (None when empty); more than one document is an error."""
    docs = load_yaml_documents(text, source, plain=plain, limits=limits)
    if len(docs) > 1:
        raise YamlInputError([f"{source}:1: expected one YAML document, found {len(docs)} (remove '---')"], source)
    return docs[0] if docs else None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_graph(root: yaml.Node, limits: YamlLimits) -> None:
    """Refuse cycles, alias bombs, foreign tags, huge integers; linear in the number of distinct nodes."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: (node, children already pushed?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > limits.max_nodes:
                raise _Refused(
                    node.start_mark.line + 1,
                    f"expands to more than {limits.max_nodes} values (an alias bomb?); write the values out",
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _Refused(node.start_mark.line + 1, "an alias refers to the mapping or list that contains it")
        _check_node(node, limits)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _Refused(child.start_mark.line + 1, "an alias refers to the mapping or list that contains it")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_node(node: yaml.Node, limits: YamlLimits) -> None:
    line = node.start_mark.line + 1
    if node.tag not in _ALLOWED_TAGS:
        raise _Refused(line, f"tag {_short_tag(node.tag)} is not allowed here; use plain YAML values")
    if isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "int" and len(node.value) > limits.max_int_digits:
        raise _Refused(
            line, f"an integer of {len(node.value)} characters is too large; quote it if it is meant as text"
        )
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(key_node.start_mark.line + 1, "a mapping key must be a plain string, not a list or map")
            if key_node.tag != _TAG + "str":
                raise _Refused(
                    key_node.start_mark.line + 1,
                    f"key {key_node.value!r} is read as {_short_tag(key_node.tag)}, but keys must be strings; "
                    f'quote it: "{key_node.value}":',
                )


def dotted_path(path: tuple[str | int, ...]) -> str:
    """('services', 0, 'name') → 'services[0].name', the form users see in error messages."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Builder:
    """Nodes → LineDict/LineList/scalars; collects duplicate keys as problems."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self._loader = loader
        self._source = source
        self.problems: list[str] = []

    def build(self, node: yaml.Node, path: tuple[str | int, ...] = ()) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            out = LineList(self.build(item, (*path, i)) for i, item in enumerate(node.value))
            out.line = node.start_mark.line + 1
            out.item_lines = [item.start_mark.line + 1 for item in node.value]
            return out
        return self._loader.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...]) -> LineDict:
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        merged: list[LineDict] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node, line, path))
                continue
            key = str(key_node.value)
            if key in out.key_lines:
                self.problems.append(
                    f"{self._source}:{line} {dotted_path((*path, key))}: duplicate key; it is already set on line "
                    f"{out.key_lines[key]} — keep one of them"
                )
            out[key] = self.build(value_node, (*path, key))
            out.key_lines[key] = line
        # YAML merge: explicit keys win, then the merged mappings in order (the first one wins).
        for source in merged:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    out.key_lines[key] = source.key_lines.get(key, source.line)
        return out

    def _merge_sources(self, node: yaml.Node, line: int, path: tuple[str | int, ...]) -> list[LineDict]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        found = []
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                self.problems.append(f"{self._source}:{line}: '<<' merges mappings only (e.g. <<: *defaults)")
                continue
            found.append(self._mapping(item, path))
        return found
