"""Demo layer: the whole pipeline on one machine, no cluster (`obs demo`, `make demo`).

`run.Demo` starts the sample Go service, an embedded Kafka, `obs process`, the Filebeat stand-in
(`pipeline.shipper`), Prometheus and Alertmanager with the rendered configuration, a webhook receiver and a
traffic generator; `checks` holds the smoke checks and `summary` the live summary. See docs/demo.md.
"""
