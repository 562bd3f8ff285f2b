"""Spec layer: parse stack.yaml text into a validated Stack, with file:line on every problem.

The text is composed into YAML nodes first so each field path keeps the line it came from; pydantic
errors are then mapped back to those lines. Reading the file is the caller's job (pure function).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from observability.errors import SpecError
from observability.spec.model import Stack
from observability.spec.yamlsafe import LineDict, LineList, YamlInputError, dotted_path, load_yaml

__all__ = ["dotted_path", "line_for", "load_yaml_with_lines", "parse_stack"]

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
    """Parse YAML into plain Python data plus the line of every field path; duplicate keys are errors.

    The text goes through the one bounded loader (spec/yamlsafe.py), so hostile YAML is a SpecError too.
    """
    try:
        data = load_yaml(text, source)
    except YamlInputError as e:
        raise SpecError(e.problems, source=source) from None
    if data is None:
        return None, {}
    lines: dict[Path, int] = {}
    _collect_lines(data, (), 1, lines)
    return data, lines


def _collect_lines(value: Any, path: Path, line: int, lines: dict[Path, int]) -> None:
    # A mapping's key line, not its value's: a nested mapping starts on the line after its key.
    lines[path] = line
    if isinstance(value, LineDict):
        for key, child in value.items():
            _collect_lines(child, (*path, key), value.key_lines.get(key, value.line), lines)
    elif isinstance(value, LineList):
        for i, child in enumerate(value):
            _collect_lines(child, (*path, i), value.item_lines[i], lines)


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
