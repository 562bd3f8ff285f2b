"""Local I/O layer: adapt a rendered alertmanager.yml to the older Alertmanager installed locally.

Webhook `url_file` exists since Alertmanager 0.26 (the stack deploys a newer image), but Debian ships 0.25.
When the local binary is older, each webhook `url_file` is replaced by a placeholder `url` (for checks) or
by the file's content (for local runs, whose secret files are local test values). Nothing else changes.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from observability.errors import ToolMissingError
from observability.spec.yamlsafe import load_yaml

WEBHOOK_URL_FILE_SINCE = (0, 26)
PLACEHOLDER_WEBHOOK_URL = "http://webhook-url-from-file.invalid/"


def tool_version(binary: str) -> tuple[int, int]:
    """(major, minor) reported by `<binary> --version`, e.g. (0, 25) for amtool 0.25.0."""
    try:
        proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise ToolMissingError(f"{binary} is not installed") from None
    match = re.search(r"version (\d+)\.(\d+)", proc.stdout + proc.stderr)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def compat_alertmanager_config(config_text: str, version: tuple[int, int], *, inline: bool) -> tuple[str, list[str]]:
    """Config usable by an Alertmanager/amtool of `version`; with `inline`, webhook url files are read."""
    if version >= WEBHOOK_URL_FILE_SINCE:
        return config_text, []
    config = load_yaml(config_text, "<rendered alertmanager.yml>", plain=True) or {}
    notes: list[str] = []
    for receiver in config.get("receivers") or []:
        for webhook in receiver.get("webhook_configs") or []:
            path = webhook.pop("url_file", None)
            if path is None:
                continue
            if inline:
                webhook["url"] = Path(path).read_text(encoding="utf-8").strip()
            else:
                webhook["url"] = PLACEHOLDER_WEBHOOK_URL
                notes.append(
                    f"receiver {receiver.get('name')!r}: local Alertmanager {version[0]}.{version[1]} predates "
                    f"webhook url_file (0.26+); checked with a placeholder url"
                )
    return yaml.safe_dump(config, sort_keys=False), notes
