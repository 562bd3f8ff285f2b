"""CLI layer: the one home for checking values typed on the command line — URLs, counts, durations, choices.

Each check is a click callback or parser, so a bad value is a usage error (exit 2) that names the flag and the
fix before any work starts; a value from an environment variable (GRAFANA_URL, ES_URL, …) is checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import typer

from observability.spec import duration_seconds

N = TypeVar("N", int, float)

KUBECONFIG_OPTION = typer.Option(
    None, "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"
)


def url_problem(value: str) -> str | None:
    """What is wrong with an http(s) base URL, with the fix; None when it is usable."""
    text = value.strip()
    if "://" not in text:
        return f"{value!r} has no scheme; add http:// (or https://): http://{text.lstrip(':/')}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        return f"{value!r}: {parts.scheme}:// is not supported; use http:// or https://"
    if not parts.hostname:
        return f"{value!r} has no host; write it as http://host:port"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return f"{value!r}: the port must be a number from 1 to 65535"
    return None


def http_url(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Callback for every URL option: an http(s) URL with a host; `localhost:3000` is told to add http://."""
    if value is None:
        return None
    problem = url_problem(value)
    if problem:
        raise typer.BadParameter(problem)
    return value.strip()


def positive(ctx: typer.Context, param: typer.CallbackParam, value: N | None) -> N | None:
    """Callback for counts and seconds that must be greater than zero."""
    if value is not None and value <= 0:
        raise typer.BadParameter(f"must be greater than 0, got {value:g}")
    return value


def seconds(text: str) -> float:
    """Parser for durations: plain seconds ("90", "2.5") or a Go/Prometheus duration ("90s", "5m", "1h30m")."""
    value = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        result = float(value)
    elif re.fullmatch(r"([0-9]+(ms|s|m|h|d))+", value):
        result = duration_seconds(value)
    else:
        raise typer.BadParameter(f"must be seconds or a duration such as 30s, 5m or 1h30m, got {text!r}")
    if result <= 0:
        raise typer.BadParameter(f"must be longer than 0s, got {text!r}")
    return result


def one_of(*choices: str) -> Callable[[typer.Context, typer.CallbackParam, Any], Any]:
    """Callback for options with a fixed set of values (e.g. --format text|json)."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    return check

