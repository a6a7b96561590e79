"""Publishing faster than Kinesis takes records: bounded memory, and what to do when the producer is full.

Run it (from the repository root):

    GOKPL_STREAM=events python examples/backpressure.py --records 5000

Settings come from the environment: GOKPL_STREAM (default "events"),
AWS_REGION, GOKPL_ENDPOINT_URL (unset for Kinesis itself; set for an
emulator), any other option as GOKPL_<OPTION>, and the AWS SDK's usual
credentials.

The producer holds at most ``max_outstanding_records`` records that have no
result yet. Once it is full, ``put_record`` blocks until a record resolves
and frees room, or, given ``timeout``, raises BackpressureTimeoutError
after that many seconds; the record was then not taken. This script puts
its records with a short timeout and, each time one is refused, backs off
(sleeping longer after each refusal in a row) and tries the same record
again, so it never drops a record and never holds more than the limit. It
ends by reporting how many puts were refused, how long it slowed down and
what became of every record.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from dataclasses import dataclass, field

from gokpl import BackpressureTimeoutError, Config, SyncOutcome, SyncProducer

STREAM = os.environ.get("GOKPL_STREAM", "events")
FIRST_BACKOFF = 0.005  # seconds to sleep after a refused put; doubled for each refusal in a row
MAX_BACKOFF = 0.5


@dataclass
class Report:
    """What happened while publishing."""

    refused: int = 0  # puts that raised BackpressureTimeoutError
    slept: float = 0.0  # seconds spent backing off
    peak_in_flight: int = 0
    outcomes: list[SyncOutcome] = field(default_factory=list)


def put_with_backoff(producer: SyncProducer, partition_key: str, data: bytes, timeout: float, report: Report) -> None:
    """Put one record, waiting at most ``timeout`` for room each try and backing off between tries."""
    backoff = FIRST_BACKOFF
    while True:
        try:
            outcome = producer.put_record(stream=STREAM, partition_key=partition_key, data=data, timeout=timeout)
        except BackpressureTimeoutError:
            report.refused += 1
            time.sleep(backoff)  # here a real program could also shed load, or pause its own input
            report.slept += backoff
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        report.outcomes.append(outcome)
        report.peak_in_flight = max(report.peak_in_flight, producer.outstanding_records)
        return


def publish(records: int, max_outstanding: int, put_timeout: float) -> Report:
    """Publish ``records`` records through a producer limited to ``max_outstanding`` in flight."""
    config = Config.from_env(max_outstanding_records=max_outstanding)
    report = Report()
    with SyncProducer(config) as producer:
        for i in range(records):
            put_with_backoff(producer, f"sensor-{i % 100}", b"reading %d" % i, put_timeout, report)
        for outcome in report.outcomes:
            outcome.wait(timeout=60)
    return report


def summarize(report: Report, elapsed: float, max_outstanding: int) -> tuple[str, bool]:
    """The report's text, and whether every record succeeded."""
    results = [outcome.wait(0) for outcome in report.outcomes]
    per_shard = collections.Counter(r.shard_id for r in results if r.success)
    errors = collections.Counter(r.error_code for r in results if not r.success)
    lines = [
        f"published {len(results):,} records in {elapsed:.2f} s "
        f"({len(results) / elapsed:,.0f} records/s), at most {max_outstanding:,} in flight",
        f"refused puts: {report.refused:,} (BackpressureTimeoutError), slowed down for {report.slept:.2f} s in all",
        f"peak in flight: {report.peak_in_flight:,}",
        f"succeeded: {sum(per_shard.values()):,}",
        *(f"  {shard_id}: {count:,}" for shard_id, count in sorted(per_shard.items())),
        f"failed: {sum(errors.values()):,}",
        *(f"  {code}: {count:,}" for code, count in sorted(errors.items())),
    ]
    return "\n".join(lines), not errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000, help="records to publish (default %(default)s)")
    parser.add_argument(
        "--max-outstanding", type=int, default=200, help="the producer's max_outstanding_records (default %(default)s)"
    )
    parser.add_argument(
        "--put-timeout", type=float, default=0.02, help="seconds a put waits for room (default %(default)s)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    report = publish(args.records, args.max_outstanding, args.put_timeout)
    text, ok = summarize(report, time.monotonic() - started, args.max_outstanding)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
