"""Spec layer: parse stack.yaml text into a validated Stack, with file:line on every problem.

The text is composed into YAML nodes first so each field path keeps the line it came from; pydantic
errors are then mapped back to those lines. Reading the file is the caller's job (pure function).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from observability.errors import SpecError
from observability.spec.model import Stack

Path = tuple[str | int, ...]


def parse_stack(text: str, source: str = "stack.yaml") -> Stack:
    """Validate stack.yaml text; raise SpecError listing every problem as `source:line path: message`."""
    data, lines = load_yaml_with_lines(text, source)
    if data is None:
        raise SpecError([f"{source}:1: the file is empty; run `obs init` to write a starter stack.yaml"], source=source)
    if not isinstance(data, dict):
        raise SpecError([f"{source}:1: the top level must be a mapping of keys such as 'cluster:'"], source=source)
    try:
        return Stack.model_validate(data)
    except ValidationError as e:
        problems = [_describe(err, lines, source) for err in e.errors()]
        raise SpecError(_dedupe(problems), source=source) from None


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def load_yaml_with_lines(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML into plain Python data plus the line of every field path; duplicate keys are errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(e, "problem", None) or str(e)
        raise SpecError([f"{source}:{line}: not valid YAML: {problem}"], source=source) from None
    if node is None:
        return None, {}
    lines: dict[Path, int] = {}
    duplicates: list[str] = []
    data = _to_python(node, (), lines, duplicates, source)
    if duplicates:
        raise SpecError(duplicates, source=source)
    return data, lines


def _to_python(node: yaml.Node, path: Path, lines: dict[Path, int], dupes: list[str], source: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                dupes.append(
                    f"{source}:{key_node.start_mark.line + 1} {dotted_path((*path, key))}: duplicate key; "
                    f"it is already set on line {lines[(*path, key)]} — keep one of them"
                )
            out[key] = _to_python(value_node, (*path, key), lines, dupes, source)
            # the key's own line, not the value's: a nested mapping starts on the next line
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines, dupes, source) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def dotted_path(path: Path) -> str:
    """('services', 0, 'name') → 'services[0].name', the form users see in error messages."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_for(path: Path, lines: dict[Path, int]) -> int:
    """The line of `path`, or of its nearest ancestor that has one (a missing field's parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _describe(err: Any, lines: dict[Path, int], source: str) -> str:
    loc: Path = tuple(p for p in err["loc"] if not (isinstance(p, str) and _is_union_tag(p)))
    line = line_for(loc, lines)
    where = f"{source}:{line} {dotted_path(loc)}"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key{_suggest(loc)}"
    if kind == "missing":
        return f"{where}: required field is missing; add it"
    message = _message(err)
    return f"{where}: {message}"


def _is_union_tag(part: str) -> bool:
    # pydantic puts the chosen union member ("int", "str", "function-after[...]") into error locations
    return part in {"int", "str", "float", "bool", "list[str]"} or part.startswith(("function-", "constrained-"))


def _message(err: Any) -> str:
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    shown = _shown(got)
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        op = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {op} {bound}, got {shown}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {shown}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"must be a whole number, got {shown}"
    if kind in {"float_type", "float_parsing"}:
        return f"must be a number, got {shown}"
    if kind in {"bool_type", "bool_parsing"}:
        return f"must be true or false, got {shown}"
    if kind in {"string_type"}:
        return f"must be a string (quote it), got {shown}"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"must be a mapping of keys, got {shown}"
    if kind in {"list_type"}:
        return f"must be a list, got {shown}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s), got {shown}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {shown}"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(loc: Path) -> str:
    """' (did you mean 'x'?)' for a misspelt key, judged against the fields of the model at loc's parent."""
    model: Any = Stack
    for part in loc[:-1]:
        model = _child_model(model, part)
        if model is None:
            return ""
    key = loc[-1]
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or not isinstance(key, str):
        return ""
    fields = sorted(_field_keys(model))
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; valid keys here: {', '.join(fields)}"


def _field_keys(model: type[BaseModel]) -> Iterator[str]:
    for name, info in model.model_fields.items():
        yield info.alias or name


def _child_model(model: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return model
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    info = model.model_fields.get(part) or next((f for f in model.model_fields.values() if f.alias == part), None)
    if info is None:
        return None
    return _unwrap(info.annotation)


def _unwrap(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation
