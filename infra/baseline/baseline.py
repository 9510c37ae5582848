"""The benchmark's baseline: a straightforward SAP bridge and domain consumer, in two designs.

It is what `hub-bench bench` compares SAP Sync Hub with. ``--mode naive`` (the default) is what a
team would write first:

* ``bridge``: a confluent-kafka consumer that parses each record (ElementTree for IDocs, json for
  CloudEvents), turns it into a JSON message and calls SNS ``Publish`` once per event (boto3),
  then commits, with librdkafka's automatic commit.
* ``consumer``: one thread per SQS queue, long polling ``ReceiveMessage`` (up to 10), then
  ``PutItem`` once per message and ``DeleteMessage`` once per message. No coalescing, no
  version guard: the last writer wins.

``--mode competent`` is what a good team would write as a simple design:

* ``bridge``: the same parsing, plus each record's version in the message: SAP's time of the
  change (UTC, to the millisecond) and a tie-breaker (the IDoc number, the CloudEvent's
  ``sequence``), written so that comparing the strings orders the versions as the hub orders
  its own. Events go out by SNS ``PublishBatch``, up to 10 at a time: a batch is sent when it is
  full or when Kafka has nothing more at once, so a quiet topic does not hold it back. Entries
  SNS reports failed are sent again (a few attempts). The Kafka offsets are committed
  (asynchronously, no automatic commit) only once the batch holding their records is sent: at
  least once.
* ``consumer``: one thread per SQS queue, long polling ``ReceiveMessage`` (up to 10). Within one
  receive only the newest message of each key is written, by one ``PutItem`` guarded by its
  version (refused when the stored version is the same or newer: stale, not an error); then one
  ``DeleteMessageBatch`` for the messages settled (written, superseded or stale). Messages whose
  write failed stay in the queue, to be received again.

Both consumers write each item with an ``updated_at`` stamp, as the hub's items carry one, so that
the items compared are of like size.

Both print one JSON line when ready (``{"ready": true}``) and one with their figures when they
stop (after ``--max-records`` records, or on SIGTERM): records, events, errors, CPU seconds
(``time.process_time``: user + system, all threads) and wall seconds; the competent consumer
also counts its stale writes (``stale``).
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, KafkaException

# The designs (see the module's doc); the first is the default.
MODES = ("naive", "competent")

IDOCS = {"MATMAS": ("material", "MATNR"), "DEBMAS": ("customer", "KUNNR"), "ORDERS": ("sales_order", "BELNR")}


def element_to_dict(element):
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out = {}
    for child in children:
        out.setdefault(child.tag, []).append(element_to_dict(child))
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def parse(message, versioned=False):
    """(entity, key, data) of one Kafka record, and with `versioned` its version (see
    `version_text`) as a fourth element; raises on anything it does not know."""
    value = message.value()
    headers = {k: (v or b"").decode() for k, v in (message.headers() or [])}
    if value.lstrip().startswith(b"<"):
        root = ET.fromstring(value)
        mestyp = root.findtext(".//EDI_DC40/MESTYP") or ""
        entity, field = IDOCS[mestyp]
        key = (root.findtext(f".//{field}") or "").lstrip("0")
        if versioned:
            return entity, key, element_to_dict(root), idoc_version(root)
        return entity, key, element_to_dict(root)
    document = json.loads(value)
    binary = "ce_type" in headers
    if binary:
        ce_type, data = headers["ce_type"], document
    else:
        ce_type, data = document["type"], document["data"]
    if "BusinessPartner" in ce_type:
        entity, key = "customer", str(data["BusinessPartner"]).lstrip("0")
    elif "Product" in ce_type:
        entity, key = "material", str(data["Product"]).lstrip("0")
    else:
        raise ValueError(f"unknown event type {ce_type}")
    if versioned:
        # Binary content mode carries the attributes as ce_ headers, structured mode in the document.
        if binary:
            time_, sequence = headers.get("ce_time"), headers.get("ce_sequence")
        else:
            time_, sequence = document.get("time"), document.get("sequence")
        return entity, key, data, event_version(time_, sequence)
    return entity, key, data


def version_text(at, seq):
    """The text of a version: `at` (a UTC datetime, naive or aware) to the millisecond, then the
    tie-breaker `seq`, both of fixed width, so that comparing two texts orders the versions as
    the hub orders its own (instant first, then tie-breaker)."""
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z#{seq:020d}"


def tie_breaker(value):
    """`value` as a number when it is a string of one (ASCII digits, at most 2^64 - 1, as the hub
    reads it), else 0."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2**64:
        return int(value)
    return 0


def idoc_version(root):
    """The version of an IDoc: EDI_DC40's CREDAT and CRETIM (taken as UTC; no CRETIM is midnight),
    then DOCNUM as the tie-breaker."""
    control = root.find(".//EDI_DC40")
    if control is None:
        raise ValueError("IDoc without EDI_DC40")
    credat = (control.findtext("CREDAT") or "").strip()
    cretim = (control.findtext("CRETIM") or "").strip() or "000000"
    if cretim == "240000":
        # SAP's end of the day, which the hub reads as its last second.
        cretim = "235959"
    stamp = credat + cretim
    if len(stamp) != 14 or not (stamp.isascii() and stamp.isdigit()):
        raise ValueError(f"bad CREDAT/CRETIM {credat!r} {cretim!r}")
    at = datetime.strptime(stamp, "%Y%m%d%H%M%S")
    return version_text(at, tie_breaker((control.findtext("DOCNUM") or "").strip()))


def event_version(time_, sequence):
    """The version of a CloudEvent: its `time` (RFC 3339, with an offset) in UTC, then its
    `sequence` as the tie-breaker when it is a number (else 0)."""
    if not time_:
        raise ValueError("CloudEvent without time")
    if time_[-1] in "Zz":
        time_ = time_[:-1] + "+00:00"
    at = datetime.fromisoformat(time_)
    if at.tzinfo is None:
        raise ValueError(f"CloudEvent time without offset: {time_}")
    return version_text(at.astimezone(timezone.utc), tie_breaker(sequence))


def now_text():
    """Now, UTC, to the millisecond (RFC 3339): each item's ``updated_at``, as the hub's items
    have it, so the bench can tell when a change was written."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


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


def subscribed(args, auto_commit):
    """A consumer of ``args.topics`` in ``args.group``, from the earliest offset, that says it is
    ready once it has partitions; and the event SIGTERM sets."""
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": auto_commit,
        }
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ready = []

    def on_assign(c, partitions):
        if not ready:
            ready.append(True)
            say({"ready": True})

    consumer.subscribe(args.topics.split(","), on_assign=on_assign)
    return consumer, stop


def bridge(args):
    sns = clients(args.endpoint, "sns")
    consumer, stop = subscribed(args, auto_commit=True)
    stats = {"records": 0, "events": 0, "errors": 0}
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


# SNS PublishBatch takes at most 10 entries, of 256 KiB in all (messages and their attributes).
BATCH_ENTRIES = 10
BATCH_BYTES = 256 * 1024
# Attempts at an entry SNS reports failed on its side (the first one included).
PUBLISH_ATTEMPTS = 3


def publish_batch(sns, topic_arn, entries):
    """Publishes `entries` (PublishBatch entries, their Ids unique) and returns (published,
    failed). An entry SNS reports failed on its side is sent again, up to PUBLISH_ATTEMPTS times
    in all, and so is the whole batch when the call itself fails (after boto3's own retries); an
    entry refused as the sender's fault is not, as sending it again cannot help."""
    published = refused = 0
    problem = None
    for attempt in range(PUBLISH_ATTEMPTS):
        if attempt:
            time.sleep(0.1 * 2 ** (attempt - 1))
        try:
            out = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
        except Exception as e:
            problem = e
            continue
        published += len(out.get("Successful", []))
        by_id = {entry["Id"]: entry for entry in entries}
        again = []
        for failure in out.get("Failed", []):
            problem = f'{failure.get("Code")}: {failure.get("Message")}'
            if failure.get("SenderFault"):
                refused += 1
            else:
                again.append(by_id[failure["Id"]])
        entries = again
        if not entries:
            break
    if refused or entries:
        print(f"baseline: PublishBatch: {refused + len(entries)} entries not published ({problem})", file=sys.stderr)
    return published, refused + len(entries)


def bridge_competent(args):
    sns = clients(args.endpoint, "sns")
    # Committed by hand, once the records' events are published.
    consumer, stop = subscribed(args, auto_commit=False)
    stats = {"records": 0, "events": 0, "errors": 0}
    batch = []  # PublishBatch entries not sent yet
    size = 0  # their bytes, as SNS counts them

    def flush():
        nonlocal batch, size
        published, failed = publish_batch(sns, args.topic_arn, batch)
        stats["events"] += published
        stats["errors"] += failed
        batch, size = [], 0
        # Every record polled so far has had its event sent (or given up, counted as an error,
        # as a record that does not parse is): the consumer's position may be committed. At
        # least once: a crash before the commit sends these events again.
        try:
            consumer.commit(asynchronous=True)
        except KafkaException:
            pass  # the next commit carries these offsets too

    # The clocks start at the first record, as the hub's do not wait for a group to form either.
    cpu0 = wall0 = None
    while not stop.is_set() and (args.max_records == 0 or stats["records"] < args.max_records):
        # While a batch waits, a short poll: when nothing more comes at once, the batch goes.
        message = consumer.poll(0.05 if batch else 0.2)
        if message is None:
            if batch:
                flush()
            continue
        if message.error():
            continue
        if cpu0 is None:
            cpu0, wall0 = time.process_time(), time.monotonic()
        stats["records"] += 1
        try:
            entity, key, data, version = parse(message, versioned=True)
        except Exception:
            stats["errors"] += 1
            continue
        body = json.dumps(
            {
                "entity": entity,
                "key": key,
                "version": version,
                "source": {"topic": message.topic(), "partition": message.partition(), "offset": message.offset()},
                "data": data,
            }
        )
        # json.dumps writes ASCII only: its length is its size in bytes.
        entry_size = len(body) + len("entity") + len("String") + len(entity)
        if batch and size + entry_size > BATCH_BYTES:
            flush()
        batch.append(
            {
                "Id": str(len(batch)),
                "Message": body,
                "MessageAttributes": {"entity": {"DataType": "String", "StringValue": entity}},
            }
        )
        size += entry_size
        if len(batch) == BATCH_ENTRIES:
            flush()
    if batch:
        flush()
    stats["cpu_seconds"] = time.process_time() - cpu0 if cpu0 is not None else 0.0
    stats["wall_seconds"] = time.monotonic() - wall0 if wall0 is not None else 0.0
    # Without automatic commit, closing commits nothing: the last offsets, synchronously.
    try:
        consumer.commit(asynchronous=False)
    except KafkaException:
        pass  # nothing to commit (no record, or committed already)
    consumer.close()
    say(stats)


def report_on_sigterm(stats):
    """On SIGTERM, adds the CPU and wall seconds since now to ``stats``, prints them and exits.
    Returns the lock that guards ``stats``."""
    lock = threading.Lock()
    cpu0, wall0 = time.process_time(), time.monotonic()

    def finish(*_):
        with lock:
            stats["cpu_seconds"] = time.process_time() - cpu0
            stats["wall_seconds"] = time.monotonic() - wall0
            say(stats)
        os._exit(0)

    signal.signal(signal.SIGTERM, finish)
    return lock


def consumer(args):
    sqs = clients(args.endpoint, "sqs")
    dynamodb = clients(args.endpoint, "dynamodb")
    stats = {"records": 0, "events": 0, "errors": 0}
    lock = report_on_sigterm(stats)

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
                        "updated_at": {"S": now_text()},
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


def consumer_competent(args):
    sqs = clients(args.endpoint, "sqs")
    dynamodb = clients(args.endpoint, "dynamodb")
    stats = {"records": 0, "events": 0, "stale": 0, "errors": 0}
    lock = report_on_sigterm(stats)

    def write(body):
        """Writes the item of one message unless the table holds the same or a newer version:
        "written" or "stale"; raises on any other failure."""
        source = body["source"]
        try:
            dynamodb.put_item(
                TableName=args.table,
                Item={
                    "pk": {"S": f'{body["entity"]}#{body["key"]}'},
                    "version": {"S": body["version"]},
                    "src": {"S": f'{source["topic"]}:{source["partition"]}:{source["offset"]}'},
                    "doc": {"S": json.dumps(body["data"])},
                    "updated_at": {"S": now_text()},
                },
                ConditionExpression="attribute_not_exists(pk) OR version < :v",
                ExpressionAttributeValues={":v": {"S": body["version"]}},
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return "stale"
            raise
        return "written"

    def settle(queue_url, messages):
        """Handles the messages of one receive."""
        counts = {"records": 0, "events": 0, "stale": 0, "errors": 0}
        # The messages by key (entity#key), with their versions.
        keys = {}
        for m in messages:
            try:
                body = json.loads(m["Body"])
                pk = f'{body["entity"]}#{body["key"]}'
                version = body["version"]
            except Exception:
                # Not a message of the bridge: left in the queue (for its dead-letter queue).
                counts["errors"] += 1
                continue
            keys.setdefault(pk, []).append((version, m, body))
        # Per key, only the newest message is written; the others are superseded by it, and
        # settled with it.
        settled = []
        for group in keys.values():
            _, _, body = max(group, key=lambda g: g[0])
            try:
                counts["events" if write(body) == "written" else "stale"] += 1
            except Exception:
                # Left in the queue, all of them: received again, they are written again.
                counts["errors"] += len(group)
                continue
            settled.extend(m for _, m, _ in group)
        if settled:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(settled)]
            try:
                out = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
                counts["records"] += len(out.get("Successful", []))
                # Received again, these find their version stored: stale.
                counts["errors"] += len(out.get("Failed", []))
            except Exception:
                counts["errors"] += len(entries)
        with lock:
            for k, n in counts.items():
                stats[k] += n

    def drain(queue_url):
        while True:
            try:
                out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
            except Exception:
                with lock:
                    stats["errors"] += 1
                time.sleep(1)
                continue
            messages = out.get("Messages", [])
            if messages:
                settle(queue_url, messages)

    for url in args.queues.split(","):
        threading.Thread(target=drain, args=(url,), daemon=True).start()
    say({"ready": True})
    while True:
        time.sleep(3600)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bridge")
    b.add_argument("--mode", choices=MODES, default="naive")
    b.add_argument("--bootstrap", required=True)
    b.add_argument("--topics", required=True)
    b.add_argument("--group", required=True)
    b.add_argument("--endpoint", required=True)
    b.add_argument("--topic-arn", required=True)
    b.add_argument("--max-records", type=int, default=0)
    c = sub.add_parser("consumer")
    c.add_argument("--mode", choices=MODES, default="naive")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--queues", required=True)
    c.add_argument("--table", required=True)
    args = parser.parse_args()
    try:
        run = {
            ("bridge", "naive"): bridge,
            ("bridge", "competent"): bridge_competent,
            ("consumer", "naive"): consumer,
            ("consumer", "competent"): consumer_competent,
        }
        run[args.command, args.mode](args)
    except KafkaException as e:
        print(f"baseline: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
