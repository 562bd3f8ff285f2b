"""Pipeline layer, PURE: Elasticsearch's rules for index and data stream names.

The rules are Elasticsearch's own static checks, in its order (server/.../cluster/metadata/
MetadataCreateIndexService.java: `validateIndexOrAliasName`, then `validateIndexName`'s lowercase check;
the characters are `Strings.INVALID_FILENAME_CHARS`). A name built from a log line (`elasticsearch.index`
with `{service}`, `{namespace}`, `{date}`) can break them; such an event is dead-lettered with the problem
instead of being sent, because Elasticsearch would refuse it (or, before the action line was JSON-encoded,
the whole request).
"""

from __future__ import annotations

MAX_INDEX_NAME_BYTES = 255
_INVALID_CHARS = frozenset('\\/*?"<>| ,')


def index_name_problem(name: str) -> str | None:
    """What is wrong with `name` as an Elasticsearch index name, or None when Elasticsearch accepts it."""
    if not name:
        return "must not be empty"
    bad = sorted({c for c in name if c in _INVALID_CHARS})
    if bad:
        return f"must not contain {', '.join(repr(c) for c in bad)} (none of \\ / * ? \" < > | space ,)"
    if "#" in name:
        return "must not contain '#'"
    if ":" in name:
        return "must not contain ':'"
    if name[0] in "_-+":
        return "must not start with '_', '-', or '+'"
    size = len(name.encode())
    if size > MAX_INDEX_NAME_BYTES:
        return f"is {size} bytes, more than {MAX_INDEX_NAME_BYTES}"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    if name.lower() != name:
        return "must be lowercase"
    return None
