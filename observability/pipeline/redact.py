"""Pipeline layer, PURE: remove secrets (authorization headers, passwords, tokens) before anything is stored.

A key whose name contains one of the configured words has its whole value replaced; free text (messages,
error messages, query strings) has the value after `word=`, `word: ` or `"word":"` replaced, keeping the
`Bearer`/`Basic` scheme so the reader still sees what kind of credential it was. Credentials with a
recognisable shape (JWTs, AWS access key ids, PEM private keys) are replaced wherever they appear, under
any key. No words configured = no redaction at all. Always returns new values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
_MAX_DEPTH = 32
# Credentials recognisable by their shape wherever they appear, whatever the key or the words around them.
_SHAPES = re.compile(
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT: base64url JSON header.payload.sig
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",  # PEM private key
    re.DOTALL,
)
_MAX_REMEMBERED_KEYS = 10_000


class Redactor:
    """Redaction by case-insensitive key words (e.g. 'password' also matches 'db_password')."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(w.lower() for w in words if w)
        # ASCII text against ASCII words: lower() + substring tests find exactly what the case-insensitive
        # regex finds, at a fifth of the cost (this probe runs on every message and field value).
        self._ascii_words = all(w.isascii() for w in self.words)
        if self.words:
            alternation = "|".join(re.escape(w) for w in self.words)
            self._probe: re.Pattern[str] | None = re.compile(alternation, re.IGNORECASE)
            self._pair = re.compile(
                rf"((?:{alternation})[\w.-]*)"  # the key, e.g. Authorization, db_password
                r"(\\?[\"']?\s*[:=]\s*\[?\\?[\"']?)"  # separator incl. JSON quotes and Go's map[k:[v]]
                r"((?:bearer|basic|token|digest)\s+)?"  # keep the scheme
                r"([^\s\"'&,;}\]\\]+)",
                re.IGNORECASE,
            )
        else:
            self._probe = None
        # Field names repeat across events (values do not), so whether a key is secret is remembered.
        self._secret_keys: dict[str, bool] = {}

    def has_word(self, value: str) -> bool:
        """True when `value` contains one of the words, ignoring case."""
        if self._probe is None:
            return False
        if self._ascii_words and value.isascii():
            low = value.lower()
            for word in self.words:  # noqa: SIM110 — a plain loop is 30 % faster than any(generator) here
                if word in low:
                    return True
            return False
        return self._probe.search(value) is not None

    def key_is_secret(self, key: str) -> bool:
        secret = self._secret_keys.get(key)
        if secret is None:
            secret = self.has_word(key)
            if len(self._secret_keys) < _MAX_REMEMBERED_KEYS:
                self._secret_keys[key] = secret
        return secret

    def has_shape(self, value: str) -> bool:
        """True when `value` may hold a credential recognisable by its shape (a cheap probe before the regex)."""
        return self._probe is not None and ("eyJ" in value or "AKIA" in value or "ASIA" in value
                                            or "PRIVATE KEY" in value)  # fmt: skip

    def text(self, value: str) -> str:
        if self.has_word(value):
            value = self._pair.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{REDACTED}", value)
        if self.has_shape(value):
            value = _SHAPES.sub(REDACTED, value)
        return value

    def query(self, query: str) -> str:
        """A URL query string with the values of secret-looking parameters replaced."""
        if self.has_shape(query):
            query = _SHAPES.sub(REDACTED, query)
        if not self.has_word(query):
            return query
        parts = []
        for pair in query.split("&"):
            key, sep, _ = pair.partition("=")
            parts.append(f"{key}{sep}{REDACTED}" if sep and self.key_is_secret(key) else pair)
        return "&".join(parts)

    def mapping(self, data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """A copy of data with secret keys' values replaced and secrets inside string values removed."""
        has_word, known = self.has_word, self._secret_keys
        out: dict[str, Any] = {}
        for key, value in data.items():
            secret = known.get(key)
            if secret is None:
                secret = self.key_is_secret(str(key))
            if type(value) is str and not secret and not has_word(value) and not self.has_shape(value):
                out[key] = value  # the common case
            else:
                out[key] = self.value(value, depth + 1, secret=secret)
        return out

    def value(self, value: Any, depth: int, secret: bool = False) -> Any:
        if secret:
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if depth > _MAX_DEPTH:
            return REDACTED if isinstance(value, dict | list) else value
        if isinstance(value, dict):
            return self.mapping(value, depth)
        if isinstance(value, list):
            return [self.value(item, depth + 1) for item in value]
        return value
