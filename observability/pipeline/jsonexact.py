"""Pipeline layer (pure): JSON decoding that keeps every integer exactly.

orjson, the fast decoder, turns an integer outside the unsigned 64-bit range into a float without a word
(123456789012345678901234567890 → 1.2345678901234568e+29), and Elasticsearch's `long` stops at 2^63 − 1
anyway. Go services log uint64 counters, big.Int amounts and 128-bit ids as bare JSON numbers, so such a
value is kept as the string of its exact digits instead: nothing is rounded, and no mapping refuses it.
The slow decoder only runs when the text has a run of 19 or more digits, which few log lines have.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# 2^63 has 19 digits: a shorter run of digits cannot be an integer out of range.
_LONG_DIGITS_STR = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def _int_or_digits(text: str) -> int | str:
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else text


def _refuse_constant(name: str) -> Any:
    # orjson (the fast path) refuses NaN and Infinity; the slow path must decide the same way.
    raise ValueError(f"{name} is not JSON")


def loads_exact(text: str | bytes) -> Any:
    """orjson.loads, except that integers outside the signed 64-bit range come back as their digits (str).

    Raises orjson.JSONDecodeError for text that is not JSON, whichever decoder ran."""
    long_digits = (_LONG_DIGITS_STR.search(text) if isinstance(text, str)
                   else _LONG_DIGITS_BYTES.search(text))  # fmt: skip
    if long_digits is None:
        return orjson.loads(text)
    try:
        return json.loads(text, parse_int=_int_or_digits, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:
        # json.JSONDecodeError is a ValueError; RecursionError: json's decoder is recursive, orjson's is not.
        raise orjson.JSONDecodeError(str(e), "", 0) from None
