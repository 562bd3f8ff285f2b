"""Integers too big for 64 bits are kept to the last digit, in log lines and in Filebeat's custom fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observability.pipeline.enrich import EnrichSettings
from observability.pipeline.jsonexact import loads_exact
from observability.pipeline.redact import Redactor
from observability.pipeline.sink import Position
from observability.pipeline.transform import STORE, Transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from filebeat_events import filebeat_event

BIG = 123456789012345678901234567890


def test_out_of_range_integers_come_back_as_their_digits_and_the_rest_unchanged() -> None:
    text = (f'{{"a": {BIG}, "max": {2**63 - 1}, "min": [{-(2**63)}, {-(2**63) - 1}], "u": {2**64 - 1}, '
            '"ns": "1732336642123456789"}')
    assert loads_exact(text) == {
        "a": str(BIG), "max": 2**63 - 1, "min": [-(2**63), str(-(2**63) - 1)], "u": str(2**64 - 1),
        "ns": "1732336642123456789",
    }  # fmt: skip
    assert loads_exact(text.encode()) == loads_exact(text)


@pytest.mark.parametrize("bad", ['{"a": 12345678901234567890, "b": NaN}', '{"a": 12345678901234567890', "[" * 5000])
def test_what_is_not_json_is_refused_by_both_decoders_alike(bad: str) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        loads_exact(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(10**19, 10**40))
def test_the_slow_decoder_agrees_with_orjson_on_everything_but_huge_integers(value: object, huge: int) -> None:
    text = orjson.dumps(value)
    assert loads_exact(text) == orjson.loads(text)
    padded = orjson.dumps({"v": value}).decode()[:-1] + f', "huge": {huge}}}'  # forces the slow decoder
    assert loads_exact(padded) == {"v": orjson.loads(text), "huge": str(huge)}


def test_a_huge_integer_in_a_json_line_and_in_custom_fields_is_stored_exactly() -> None:
    transform = Transformer(EnrichSettings(environment="prod", redactor=Redactor(["password"])), 1_000_000)
    event = filebeat_event(f'{{"level":"info","msg":"paid","amount_minor":{BIG},"user":7}}')
    event["fields"] = {"tenant_id": BIG, "password": "hunter2"}
    outcome = transform(json.dumps(event).encode(), Position("logs", 0, 1))
    assert outcome.kind == STORE and outcome.item is not None, outcome
    doc = orjson.loads(outcome.item.source)
    assert doc["go"]["fields"]["amount_minor"] == str(BIG) and doc["go"]["fields"]["user"] == 7
    assert doc["fields"]["tenant_id"] == str(BIG) and doc["fields"]["password"] != "hunter2"
