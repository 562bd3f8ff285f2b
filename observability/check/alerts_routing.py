"""Check layer (PURE): Alertmanager's routing tree and inhibition, evaluated offline for routing tests.

`amtool config routes test` answers one label set at a time and knows nothing of inhibition; SREs want
a batch of cases in git (alerts/routing-tests.yaml) that also covers `continue` and inhibit rules. This
module follows Alertmanager's own semantics:
- a route matches when all its matchers match; children are tried in order; a matching child without
  `continue` stops the walk; when no child matches, the route itself is the match (dispatch/route.go);
- children inherit receiver, group_by and the timing options of their parent;
- matchers compare against "" for a missing label; regular expressions are fully anchored;
- an alert is inhibited when a *firing* alert matches a rule's source matchers, the `equal` labels have
  the same values (missing = ""), and — if the target also matches the source side — the source does not
  itself match the target side (inhibit/inhibit.go).
Validated against the real `amtool config routes test` in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from observability.errors import CheckError

_LABEL_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_MATCHER = re.compile(
    rf'\s*(?P<name>{_LABEL_NAME})\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,}}"]*?)\s*(?:,|$)'
)
_INHERITED = ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual, flags=re.DOTALL) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matchers(text: str) -> list[Matcher]:
    """One `matchers:` entry: `a="b"`, `a=~b, c!="d"` or `{a="b"}` (Alertmanager's matcher syntax)."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out: list[Matcher] = []
    pos = 0
    while pos < len(body) and body[pos:].strip():
        m = _MATCHER.match(body, pos)
        if not m or m.end() == pos:
            raise CheckError(f'bad matcher {text!r}: expected name="value", name!=, name=~ or name!~')
        value = m.group("value").strip()
        if value.startswith('"'):
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        if m.group("op") in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as e:
                raise CheckError(f"bad regular expression in matcher {text!r}: {e}") from None
        out.append(Matcher(m.group("name"), m.group("op"), value))
        pos = m.end()
    return out


def _matchers_of(node: Mapping[str, Any], prefix: str = "") -> list[Matcher]:
    """New-style `<prefix>matchers` plus the deprecated `<prefix>match` / `<prefix>match_re` maps."""
    out: list[Matcher] = []
    for name, value in (node.get(f"{prefix}match") or {}).items():
        out.append(Matcher(str(name), "=", str(value)))
    for name, value in (node.get(f"{prefix}match_re") or {}).items():
        out.append(Matcher(str(name), "=~", str(value)))
    for entry in node.get(f"{prefix}matchers") or []:
        out.extend(parse_matchers(str(entry)))
    return out


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[Matcher, ...]
    continue_: bool
    group_by: tuple[str, ...]
    repeat_interval: str
    routes: tuple[Route, ...] = ()
    path: str = "route"
    """Where this route sits in the config, e.g. route.routes[2]."""

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """Every route that takes an alert with these labels, in tree order (Alertmanager's Route.Match)."""
        if not all(m.matches(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            matched = child.match(labels)
            found.extend(matched)
            if matched and not child.continue_:
                break
        return found or [self]


_DEFAULTS = {"group_by": [], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def _build(node: Mapping[str, Any], parent: Mapping[str, Any], path: str) -> Route:
    settings = {key: node.get(key, parent.get(key)) for key in _INHERITED}
    if not settings["receiver"]:
        raise CheckError(f"{path}: no receiver (the root route must name one)")
    children = tuple(_build(child, settings, f"{path}.routes[{i}]") for i, child in enumerate(node.get("routes") or []))
    return Route(
        receiver=str(settings["receiver"]),
        matchers=tuple(_matchers_of(node)),
        continue_=bool(node.get("continue", False)),
        group_by=tuple(settings["group_by"] or ()),
        repeat_interval=str(settings["repeat_interval"]),
        routes=children,
        path=path,
    )


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def inhibits(self, target: Mapping[str, str], firing: list[Mapping[str, str]]) -> bool:
        if not all(m.matches(target) for m in self.target):
            return False
        two_sided = all(m.matches(target) for m in self.source)
        for source in firing:
            if not all(m.matches(source) for m in self.source):
                continue
            if any(source.get(n, "") != target.get(n, "") for n in self.equal):
                continue
            if two_sided and all(m.matches(source) for m in self.target):
                continue
            return True
        return False


@dataclass(frozen=True)
class RoutingTree:
    root: Route
    inhibit_rules: tuple[InhibitRule, ...] = field(default=())
    receivers: tuple[str, ...] = field(default=())

    def receivers_for(self, labels: Mapping[str, str]) -> list[str]:
        return [r.receiver for r in self.root.match(labels)]

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        return self.root.match(labels)

    def inhibited(self, labels: Mapping[str, str], firing: list[Mapping[str, str]]) -> bool:
        """Whether `labels` is muted while the alerts in `firing` (which may include itself) are active."""
        return any(rule.inhibits(labels, firing) for rule in self.inhibit_rules)


def routing_tree(config: Mapping[str, Any]) -> RoutingTree:
    """The routing tree of a parsed alertmanager.yml; CheckError for a config Alertmanager would reject."""
    route = config.get("route")
    if not isinstance(route, Mapping):
        raise CheckError("alertmanager config has no 'route' section")
    if _matchers_of(route):
        raise CheckError("route: the root route must not have matchers (it has to match every alert)")
    root = _build(route, _DEFAULTS, "route")
    receivers = tuple(str(r.get("name")) for r in config.get("receivers") or [])

    def check(r: Route) -> None:
        if r.receiver not in receivers:
            raise CheckError(f"{r.path}: receiver {r.receiver!r} is not defined in receivers")
        for child in r.routes:
            check(child)

    check(root)
    rules = tuple(
        InhibitRule(
            source=tuple(_matchers_of(rule, "source_")),
            target=tuple(_matchers_of(rule, "target_")),
            equal=tuple(rule.get("equal") or ()),
        )
        for rule in config.get("inhibit_rules") or []
    )
    return RoutingTree(root=root, inhibit_rules=rules, receivers=receivers)
