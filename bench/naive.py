"""The naive baseline of `make bench`: what a first attempt at the processor looks like.

stdlib json, one `poll()` per message, the same parse/enrich functions, the official client serialising
every action and document itself (`bulk(operations=[dict, dict, …])`), a synchronous commit per batch.
Usage: naive.py BROKERS ES_URL TOPIC COUNT
"""

from __future__ import annotations

import json
import sys

from confluent_kafka import Consumer
from elasticsearch import Elasticsearch

from observability.pipeline.enrich import enrich, index_name
from observability.pipeline.parse import parse_message
from observability.pipeline.transform import default_settings


def main() -> None:
    brokers, url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "bench-naive", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    client = Elasticsearch(url, max_retries=0)
    settings = default_settings()
    done = 0
    operations: list[dict] = []
    while done < count:
        msg = consumer.poll(1.0)
        if msg is None or msg.error() is not None:
            continue
        event = json.loads(msg.value())
        doc = enrich(event, parse_message(event["message"]), settings)
        doc_id = f"{msg.topic()}-{msg.partition()}-{msg.offset()}"
        operations += [{"create": {"_index": index_name(doc, settings), "_id": doc_id}}, doc]
        if len(operations) >= 2 * 2000 or done + len(operations) // 2 >= count:
            client.bulk(operations=operations)
            consumer.commit(asynchronous=False)
            done += len(operations) // 2
            operations = []
    consumer.close()


if __name__ == "__main__":
    main()
