"""Pipeline layer: the log processor — Kafka source → parse (pure) → enrich (pure) → sink; the runner ties them.

`parse` and `enrich` are pure functions (no I/O, never raise on any input); `source`, `sink_elasticsearch`,
`dead_letter` and `metrics` are the I/O edges. See docs/processor.md for the delivery guarantee.
"""
