"""The benchmark's baseline: a deliberately straightforward SAP bridge and domain consumer.

It is what a team would write first, and what `hub-bench bench` compares SAP Sync Hub with:

* ``bridge``: a confluent-kafka consumer that parses each record (ElementTree for IDocs, json for
  CloudEvents), turns it into a JSON message and calls SNS ``Publish`` once per event (boto3),
  then commits, with librdkafka's automatic commit.
* ``consumer``: one thread per SQS queue, long polling ``ReceiveMessage`` (up to 10), then
  ``PutItem`` once per message and ``DeleteMessage`` once per message. No coalescing, no
  version guard: the last writer wins.

Both print one JSON line when ready (``{"ready": true}``) and one with their figures when they
stop (after ``--max-records`` records, or on SIGTERM): records, events, errors, CPU seconds
(``time.process_time``: user + system, all threads) and wall seconds.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config
from confluent_kafka import Consumer, KafkaException

IDOCS = {"MATMAS": ("material", "MATNR"), "DEBMAS": ("customer", "KUNNR"), "ORDERS": ("sales_order", "BELNR")}


def element_to_dict(element):
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out = {}
    for child in children:
        out.setdefault(child.tag, []).append(element_to_dict(child))
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def parse(message):
    """(entity, key, data) of one Kafka record; raises on anything it does not know."""
    value = message.value()
    headers = {k: (v or b"").decode() for k, v in (message.headers() or [])}
    if value.lstrip().startswith(b"<"):
        root = ET.fromstring(value)
        mestyp = root.findtext(".//EDI_DC40/MESTYP") or ""
        entity, field = IDOCS[mestyp]
        key = (root.findtext(f".//{field}") or "").lstrip("0")
        return entity, key, element_to_dict(root)
    document = json.loads(value)
    if "ce_type" in headers:
        ce_type, data = headers["ce_type"], document
    else:
        ce_type, data = document["type"], document["data"]
    if "BusinessPartner" in ce_type:
        return "customer", str(data["BusinessPartner"]).lstrip("0"), data
    if "Product" in ce_type:
        return "material", str(data["Product"]).lstrip("0"), data
    raise ValueError(f"unknown event type {ce_type}")


def clients(endpoint, service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def bridge(args):
    sns = clients(args.endpoint, "sns")
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
        }
    )
    stats = {"records": 0, "events": 0, "errors": 0}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ready = []

    def on_assign(c, partitions):
        if not ready:
            ready.append(True)
            say({"ready": True})

    consumer.subscribe(args.topics.split(","), on_assign=on_assign)
    # The clocks start at the first record, as the hub's do not wait for a group to form either.
    cpu0 = wall0 = None
    while not stop.is_set() and (args.max_records == 0 or stats["records"] < args.max_records):
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            continue
        if cpu0 is None:
            cpu0, wall0 = time.process_time(), time.monotonic()
        stats["records"] += 1
        try:
            entity, key, data = parse(message)
        except Exception:
            stats["errors"] += 1
            continue
        body = json.dumps(
            {
                "entity": entity,
                "key": key,
                "source": {"topic": message.topic(), "partition": message.partition(), "offset": message.offset()},
                "data": data,
            }
        )
        sns.publish(
            TopicArn=args.topic_arn,
            Message=body,
            MessageAttributes={"entity": {"DataType": "String", "StringValue": entity}},
        )
        stats["events"] += 1
    stats["cpu_seconds"] = time.process_time() - cpu0 if cpu0 is not None else 0.0
    stats["wall_seconds"] = time.monotonic() - wall0 if wall0 is not None else 0.0
    consumer.close()
    say(stats)


def consumer(args):
    sqs = clients(args.endpoint, "sqs")
    dynamodb = clients(args.endpoint, "dynamodb")
    stats = {"records": 0, "events": 0, "errors": 0}
    lock = threading.Lock()
    cpu0, wall0 = time.process_time(), time.monotonic()

    def finish(*_):
        with lock:
            stats["cpu_seconds"] = time.process_time() - cpu0
            stats["wall_seconds"] = time.monotonic() - wall0
            say(stats)
        os._exit(0)

    signal.signal(signal.SIGTERM, finish)

    def drain(queue_url):
        while True:
            try:
                out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
            except Exception:
                with lock:
                    stats["errors"] += 1
                time.sleep(1)
                continue
            for m in out.get("Messages", []):
                body = json.loads(m["Body"])
                source = body["source"]
                dynamodb.put_item(
                    TableName=args.table,
                    Item={
                        "pk": {"S": f'{body["entity"]}#{body["key"]}'},
                        "src": {"S": f'{source["topic"]}:{source["partition"]}:{source["offset"]}'},
                        "doc": {"S": json.dumps(body["data"])},
                    },
                )
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
                with lock:
                    stats["records"] += 1
                    stats["events"] += 1

    for url in args.queues.split(","):
        threading.Thread(target=drain, args=(url,), daemon=True).start()
    say({"ready": True})
    while True:
        time.sleep(3600)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bridge")
    b.add_argument("--bootstrap", required=True)
    b.add_argument("--topics", required=True)
    b.add_argument("--group", required=True)
    b.add_argument("--endpoint", required=True)
    b.add_argument("--topic-arn", required=True)
    b.add_argument("--max-records", type=int, default=0)
    c = sub.add_parser("consumer")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--queues", required=True)
    c.add_argument("--table", required=True)
    args = parser.parse_args()
    try:
        {"bridge": bridge, "consumer": consumer}[args.command](args)
    except KafkaException as e:
        print(f"baseline: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
