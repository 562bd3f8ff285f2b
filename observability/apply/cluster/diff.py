"""I/O layer, Kubernetes (pure part): field-level diff between a live object and what applying would make it.

Both sides come from the server (live GET vs. server-side dry-run apply), so defaulted fields appear on
both and cancel out; fields the server populates on every write (managedFields, resourceVersion, uid,
timestamps, generation, status) are dropped before comparing. Secret values are never shown.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from typing import Any

SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
MASK = "(sensitive)"
_MAX_VALUE = 100
_MAX_TEXT_DIFF_LINES = 20
_ABSENT = object()


@dataclass(frozen=True)
class FieldChange:
    """One changed field: dotted path, old and new value as display text (secrets masked)."""

    path: str
    before: str
    after: str
    detail: tuple[str, ...] = field(default=())
    """Unified-diff lines when a multi-line text value (e.g. an embedded config file) changed."""


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy without the fields the server rewrites on every write."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in SERVER_METADATA:
        meta.pop(key, None)
    if "annotations" in meta and not meta["annotations"]:
        del meta["annotations"]
    return out


def diff_objects(live: dict[str, Any], desired: dict[str, Any]) -> list[FieldChange]:
    """Every field that differs between live and desired (both as returned by the server)."""
    secret = live.get("kind") == "Secret" or desired.get("kind") == "Secret"
    changes: list[FieldChange] = []
    _walk(comparable(live), comparable(desired), "", secret, changes)
    return changes


def _walk(before: Any, after: Any, path: str, secret: bool, out: list[FieldChange]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _walk(before.get(key, _ABSENT), after.get(key, _ABSENT), f"{path}.{key}" if path else key, secret, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        keyed_before, keyed_after = _by_name(before), _by_name(after)
        if keyed_before is not None and keyed_after is not None:
            for name in list(dict.fromkeys([*keyed_before, *keyed_after])):
                item_path = f"{path}[name={name}]"
                _walk(keyed_before.get(name, _ABSENT), keyed_after.get(name, _ABSENT), item_path, secret, out)
            return
        if len(before) == len(after):
            for i, (b, a) in enumerate(zip(before, after, strict=True)):
                _walk(b, a, f"{path}[{i}]", secret, out)
            return
    if secret and _is_secret_value(path):
        out.append(FieldChange(path, _mask(before), _mask(after)))
        return
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        out.append(FieldChange(path, _lines(before), _lines(after), _text_diff(before, after)))
        return
    out.append(FieldChange(path, _show(before), _show(after)))


def _by_name(items: list[Any]) -> dict[str, Any] | None:
    """Lists of named items (containers, ports, volumes) diff by name, not position."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = [i["name"] for i in items]
    return dict(zip(names, items, strict=True)) if len(set(names)) == len(names) else None


def _is_secret_value(path: str) -> bool:
    return path.startswith(("data", "stringData"))


def _mask(value: Any) -> str:
    return "<absent>" if value is _ABSENT else MASK


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "<absent>"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _lines(value: str) -> str:
    return f"<{len(value.splitlines())} lines>"


def _text_diff(before: str, after: str) -> tuple[str, ...]:
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1))[2:]
    if len(lines) > _MAX_TEXT_DIFF_LINES:
        hidden = len(lines) - _MAX_TEXT_DIFF_LINES
        lines = [*lines[:_MAX_TEXT_DIFF_LINES], f"… {hidden} more diff lines"]
    return tuple(lines)


def mask_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Secret with every value replaced, for printing."""
    if obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = dict.fromkeys(out[key], MASK)
    return out
