"""`obs process` with its transform replaced by a copy of the event: the processor's ceiling on this machine.

What remains is everything but decode, parse, enrich and encode: `consume()`, offset tracking, the
`_bulk` body, HTTP and acknowledgements. `BENCH_FLOOR=1 make bench` runs it on the same backlog and adds
`floor_events_per_s` to the benchmark's line, so the room left for the transform at a target rate is a
measurement anyone can repeat, not a claim. A measuring tool only: documents are the raw events.
Usage: floor.py process --config FILE (the arguments of `obs`).
"""

from __future__ import annotations

from observability.cli import main
from observability.pipeline import transform
from observability.pipeline.sink import Position, SinkItem, document_id


def _copy(self: transform.Transformer, raw: bytes | None, position: Position, received_ms: int | None = None
          ) -> transform.Outcome:  # fmt: skip
    value = raw or b""
    item = SinkItem(document_id(position), self._stream or "logs-go-default", value, position, value)
    return transform.Outcome(transform.STORE, item=item, format="plain", labels=("", "", "info"))


if __name__ == "__main__":
    transform.Transformer.__call__ = _copy  # type: ignore[method-assign]
    main()
