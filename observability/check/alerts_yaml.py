"""Check layer (PURE): YAML loading that remembers line numbers, for `file:line: problem` messages.

A thin face over the project's one bounded loader (spec/yamlsafe.py): mappings load as `LineDict`
(a dict with `.line`, 1-based) and sequences as `LineList`; scalars stay plain. Multi-document input
(PrometheusRule bundles) yields one value per document. Invalid or hostile YAML is a CheckError.
"""

from __future__ import annotations

from typing import Any

from observability.errors import CheckError
from observability.spec.yamlsafe import LineDict, LineList, YamlInputError, line_of, load_yaml_documents

__all__ = ["LineDict", "LineList", "line_of", "load_documents"]


def load_documents(text: str, source: str) -> list[Any]:
    """Every YAML document in text; CheckError naming `source:line` for invalid or hostile YAML."""
    try:
        return load_yaml_documents(text, source)
    except YamlInputError as e:
        raise CheckError("\n".join(e.problems)) from None
