"""make demo: publish 100,000 records to a local Kinesis emulator and prove none was lost.

Run it with ``make demo`` (which installs the emulator and builds gokpl
first), or, once that has run, ``.venv/bin/python examples/demo.py
[--records N] [--shards N]``. It needs no AWS account.

What it does, step by step:

1. starts kinesis-mock on free loopback ports (through the repository's
   ``build/kinesismock`` harness) and creates a stream with 4 shards;
2. publishes the records through ``gokpl.SyncProducer``, one
   ``put_record`` each, with a live progress line (records/s, in flight,
   failures; a line a second when stdout is not a terminal);
3. reads every shard back from the beginning (GetShardIterator
   TRIM_HORIZON, then GetRecords, with boto3) and de-aggregates the
   Kinesis records (aws_kinesis_agg, the KCL's format), checking that every
   partition key/data pair arrived exactly once, in the shard and under the
   sequence number its result named;
4. prints a summary per shard, the put-to-result latency and the
   aggregation ratio, and stops the emulator, also on Ctrl-C or SIGTERM.

The exit status is 0 when every record was confirmed and read back, 1 when
anything was lost, duplicated or misplaced, 2 when the emulator is not
installed and 130 when interrupted.
"""

from __future__ import annotations

import argparse
import base64
import collections
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

from emulator import EmulatorNotInstalled, KinesisMock  # noqa: E402
from gokpl import Config, SyncOutcome, SyncProducer  # noqa: E402
from gokpl._percentile import percentile  # noqa: E402

STREAM = "demo"
RECORDS = 100_000
SHARDS = 4
USERS = 5_000  # distinct partition keys: records of one user share a key, as they would in an application

#: The producer's settings. kinesis-mock takes about a second per PutRecords
#: request of a few hundred KiB, so the demo lets records buffer 200 ms, long
#: enough for full aggregated records (50 KiB, about 700 user records each)
#: to form, which keeps the emulator to a couple of dozen requests. On a busy
#: machine a request can take several seconds: one that timed out after the
#: emulator stored its records would be retried and store them twice, so
#: requests get 30 s. Against Kinesis the defaults are fine.
PRODUCER_OPTIONS: dict[str, Any] = {
    "record_max_buffered_time_ms": 200,
    "request_timeout_ms": 30_000,
    "record_ttl_ms": 120_000,
}

EXIT_LOST = 1
EXIT_NOT_INSTALLED = 2
EXIT_INTERRUPTED = 130


def record(i: int) -> tuple[str, bytes]:
    """The partition key and data of record i; the data is unique to it."""
    user = i % USERS
    return f"user-{user}", b'{"seq": %d, "user": %d, "event": "page_view"}' % (i, user)


# Publishing


@dataclass
class Tally:
    """What the producer reported, filled in by done-callbacks on gokpl's callback thread."""

    total: int
    succeeded: int = 0
    failed: int = 0
    put_at: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    placed: dict[int, tuple[str, str]] = field(default_factory=dict)  # record index -> (shard id, sequence number)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)

    def track(self, index: int, outcome: SyncOutcome) -> None:
        """Register a done-callback that records the outcome of record ``index``."""
        outcome.add_done_callback(lambda done: self.resolved(index, done))

    def resolved(self, index: int, outcome: SyncOutcome) -> None:
        """One record's result: its latency, and where it landed or why it failed."""
        self.latencies.append(time.monotonic() - self.put_at[index])
        result = outcome.wait(0)
        if result.success:
            self.succeeded += 1
            self.placed[index] = (result.shard_id or "", result.sequence_number or "")
        else:
            self.failed += 1
            self.errors[result.error_code or "unknown"] += 1

    @property
    def resolved_count(self) -> int:
        return self.succeeded + self.failed


def publish(producer: SyncProducer, tally: Tally) -> None:
    """Put every record and wait until all have a result.

    The first record is waited for before the others are put. The first put
    starts the engine, which then lists the stream's shards; until that
    answer comes, records wait for it only up to their
    record_max_buffered_time_ms and then leave unaggregated, and the
    emulator can take longer than that to answer.
    """
    put(producer, tally, 0).wait(timeout=30)
    for i in range(1, tally.total):
        put(producer, tally, i)
    producer.flush()
    deadline = time.monotonic() + 10  # the last callbacks run just after the flush returns
    while tally.resolved_count < tally.total and time.monotonic() < deadline:
        time.sleep(0.01)


def put(producer: SyncProducer, tally: Tally, i: int) -> SyncOutcome:
    """Put record i, noting when, with a done-callback that tallies its result."""
    partition_key, data = record(i)
    tally.put_at.append(time.monotonic())
    outcome = producer.put_record(stream=STREAM, partition_key=partition_key, data=data)
    tally.track(i, outcome)
    return outcome


class Progress:
    """A progress line on stdout, redrawn in place on a terminal, printed every second otherwise."""

    def __init__(self, tally: Tally, producer: SyncProducer) -> None:
        self.tally = tally
        self.producer = producer
        self.tty = sys.stdout.isatty()
        self.interval = 0.1 if self.tty else 1.0
        self.started = time.monotonic()
        self._samples: collections.deque[tuple[float, int]] = collections.deque([(self.started, 0)])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)
        self._width = 0

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._draw(final=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw(final=False)

    def line(self, final: bool = False) -> str:
        """The state: confirmed records, their rate (last second; whole run when final), the counters."""
        t = self.tally
        now, done = time.monotonic(), t.resolved_count
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > 1.0:
            self._samples.popleft()
        then, done_then = (self.started, 0) if final else self._samples[0]
        rate = (done - done_then) / (now - then) if now > then else 0.0
        filled = 20 * done // t.total
        bar = "#" * filled + "-" * (20 - filled)
        in_flight = self.producer.outstanding_records  # 0 once the producer is closed
        return (
            f"[{bar}] {100 * done // t.total:3d}%  {done:,}/{t.total:,}  {rate:,.0f}/s  "
            f"in flight {in_flight:,}  failed {t.failed:,}"
        )

    def _draw(self, final: bool) -> None:
        text = self.line(final)
        if not self.tty:
            print(text, flush=True)
            return
        columns = shutil.get_terminal_size().columns - 1
        text = text[:columns]
        sys.stdout.write("\r" + text.ljust(self._width) + ("\n" if final else ""))
        sys.stdout.flush()
        self._width = len(text)


# Reading back


@dataclass
class ShardContents:
    """One shard as a consumer sees it."""

    kinesis_records: int = 0
    kinesis_bytes: int = 0
    user_records: list[tuple[str, bytes, str]] = field(default_factory=list)  # (partition key, data, sequence number)


def read_back(endpoint_url: str, region: str) -> dict[str, ShardContents]:
    """Every shard of the stream from TRIM_HORIZON, de-aggregated, keyed by shard id."""
    import boto3
    from aws_kinesis_agg.deaggregator import iter_deaggregate_records

    client = boto3.client("kinesis", endpoint_url=endpoint_url, region_name=region)
    shards: dict[str, ShardContents] = {}
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        shard_id = shard["ShardId"]
        contents = shards[shard_id] = ShardContents()
        iterator = client.get_shard_iterator(StreamName=STREAM, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=10_000)
            records = response["Records"]
            contents.kinesis_records += len(records)
            contents.kinesis_bytes += sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in records)
            for user_record in iter_deaggregate_records(records, data_format="Boto3"):
                contents.user_records.append(user_fields(user_record["kinesis"]))
            if not records or response.get("MillisBehindLatest", 0) == 0:
                break
            iterator = response.get("NextShardIterator")
    return shards


def user_fields(kinesis: dict[str, Any]) -> tuple[str, bytes, str]:
    """(partition key, data, sequence number) of one de-aggregated user record."""
    data = kinesis["data"]
    if kinesis.get("aggregated"):
        data = base64.b64decode(data)  # aws_kinesis_agg hands sub-records' data base64-encoded
    return kinesis["partitionKey"], bytes(data), kinesis["sequenceNumber"]


def verify(tally: Tally, shards: dict[str, ShardContents]) -> list[str]:
    """Problems found comparing what was put, what the results said and what was read; empty if none."""
    seen: dict[tuple[str, bytes], list[tuple[str, str]]] = collections.defaultdict(list)
    for shard_id, contents in shards.items():
        for partition_key, data, sequence_number in contents.user_records:
            seen[(partition_key, data)].append((shard_id, sequence_number))
    problems = [f"failed ({code}): {n:,}" for code, n in sorted(tally.errors.items())]
    missing = duplicated = misplaced = 0
    for i in range(tally.total):
        places = seen.pop(record(i), [])
        if not places:
            missing += i in tally.placed
        elif len(places) > 1:
            duplicated += 1
        elif i in tally.placed and places[0] != tally.placed[i]:
            misplaced += 1
    counts = {
        "without a result": tally.total - tally.resolved_count,
        "confirmed but not in the stream": missing,
        "read more than once": duplicated,
        "not in the shard or under the sequence number their result named": misplaced,
        "in the stream but never put": len(seen),
    }
    problems += [f"{what}: {n:,}" for what, n in counts.items() if n]
    return problems


# Reporting


def summary(tally: Tally, shards: dict[str, ShardContents], requests: int) -> str:
    """The per-shard table, the latency and the aggregation ratio."""
    rows = [shard_row(shard_id, contents) for shard_id, contents in sorted(shards.items())]
    totals = [sum(r[i] for r in rows) for i in range(1, 5)]
    lines = table(
        ("shard", "user records", "user bytes", "Kinesis records", "Kinesis bytes", "user/Kinesis records"),
        [format_row(r) for r in rows],
        format_row(("total", *totals)),
    )
    if tally.latencies:
        p50, p99 = percentile(tally.latencies, 0.50), percentile(tally.latencies, 0.99)
        lines.append(f"\nput-to-result latency: p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms")
        lines.append("  (kinesis-mock takes about a second per PutRecords request; Kinesis takes tens of milliseconds)")
    users, kinesis = totals[0], totals[2]
    if kinesis:
        lines.append(
            f"aggregation: {users / kinesis:,.1f} user records per Kinesis record "
            f"({users:,} in {kinesis:,}, sent in {requests:,} PutRecords requests)"
        )
    return "\n".join(lines)


def shard_row(shard_id: str, contents: ShardContents) -> tuple[Any, ...]:
    """(shard id, user records, user bytes, Kinesis records, Kinesis bytes); bytes count keys and data."""
    user_bytes = sum(len(key.encode()) + len(data) for key, data, _ in contents.user_records)
    return shard_id, len(contents.user_records), user_bytes, contents.kinesis_records, contents.kinesis_bytes


def format_row(r: tuple[Any, ...]) -> tuple[str, ...]:
    """A table row's cells, with thousands separators and the aggregation ratio."""
    name, users, user_bytes, kinesis, kinesis_bytes = r
    ratio = f"{users / kinesis:,.1f}" if kinesis else "-"
    return (name, f"{users:,}", f"{user_bytes:,}", f"{kinesis:,}", f"{kinesis_bytes:,}", ratio)


def table(header: tuple[str, ...], body: list[tuple[str, ...]], footer: tuple[str, ...]) -> list[str]:
    """Aligned lines: the first column left-aligned, the others right-aligned, rules around the body."""
    rows = [header, *body, footer]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    rule = "-" * len(line(header))
    return [line(header), rule, *(line(r) for r in body), rule, line(footer)]


# The run


def interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP stop the demo as Ctrl-C does, so the emulator is always stopped."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


@contextmanager
def step(text: str) -> Iterator[None]:
    """Print what is happening, then how long it took."""
    print(f"{text} ...", end="", flush=True)
    started = time.monotonic()
    yield
    print(f" done ({time.monotonic() - started:.1f} s)", flush=True)


def start_emulator(shards: int) -> KinesisMock:
    """kinesis-mock on free ports, with the demo's stream."""
    with step("starting kinesis-mock"):
        mock = KinesisMock()
    print(f"  listening on {mock.endpoint_url}")
    try:
        with step(f"creating stream {STREAM!r} with {shards} shards"):
            mock.create_stream(STREAM, shards)
    except BaseException:
        mock.close()
        raise
    return mock


def run(mock: KinesisMock, total: int) -> int:
    """Publish, read back, verify and report; the exit status."""
    config = Config(region=mock.region, endpoint_url=mock.endpoint_url, **PRODUCER_OPTIONS)
    tally = Tally(total)
    print(f"publishing {total:,} records with SyncProducer.put_record")
    producer = SyncProducer(config)
    with producer:
        try:
            with Progress(tally, producer):
                publish(producer, tally)
        finally:
            requests = producer.stats().requests
            producer.close(timeout=2)
    with step("reading every shard back (TRIM_HORIZON, GetRecords, de-aggregated)"):
        shards = read_back(mock.endpoint_url, mock.region)
    problems = verify(tally, shards)
    print()
    print(summary(tally, shards, requests))
    print()
    if problems:
        print("FAILED: records " + "; ".join(problems))
        return EXIT_LOST
    print(f"OK: all {total:,} records confirmed and read back exactly once, each in the shard its result named")
    return 0


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=positive, default=RECORDS, help="records to publish (default %(default)s)")
    parser.add_argument("--shards", type=positive, default=SHARDS, help="shards of the stream (default %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", KinesisMock.access_key_id)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", KinesisMock.secret_access_key)
    interrupt_on_termination()
    started = time.monotonic()
    mock = None
    try:
        mock = start_emulator(args.shards)
        status = run(mock, args.records)
    except EmulatorNotInstalled as exc:
        print(f"\nthe emulator is not installed: {exc}\nrun 'make emulator' first", file=sys.stderr)
        return EXIT_NOT_INSTALLED
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        status = EXIT_INTERRUPTED
    finally:
        if mock is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
            with step("stopping kinesis-mock"):
                mock.close()
    print(f"finished in {time.monotonic() - started:.1f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
