"""make demo: publish records to a local Kinesis emulator and print their results.

Starts kinesis-mock on free loopback ports (through the repository's
kinesismock harness), creates a stream, publishes records through
gokpl.SyncProducer, prints each record's shard id and sequence number as the
emulator assigned them, and stops the emulator, also on Ctrl-C.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

from emulator import EmulatorNotInstalled, KinesisMock  # noqa: E402
from gokpl import Config, SyncProducer  # noqa: E402

STREAM = "demo"
SHARDS = 4
RECORDS = 1000
SHOWN = 10


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    try:
        mock = KinesisMock(streams={STREAM: SHARDS})
    except EmulatorNotInstalled as exc:
        print(f"the emulator is not installed: {exc}\nrun 'make emulator' first", file=sys.stderr)
        return 2
    with mock:
        print(f"kinesis-mock on {mock.endpoint_url}; stream {STREAM!r} with {SHARDS} shards")
        config = Config(region=mock.region, endpoint_url=mock.endpoint_url, record_max_buffered_time_ms=50)
        started = time.monotonic()
        with SyncProducer(config) as producer:
            outcomes = [
                producer.put_record(stream=STREAM, partition_key=f"user-{i}", data=f"event {i}".encode())
                for i in range(RECORDS)
            ]
            results = [outcome.wait(timeout=30) for outcome in outcomes]
        elapsed = time.monotonic() - started
        print(f"\nfirst {SHOWN} of {RECORDS} records:")
        print(f"  {'partition key':<14} {'shard id':<22} sequence number")
        for i, result in enumerate(results[:SHOWN]):
            print(
                f"  {'user-' + str(i):<14} {result.shard_id or '-':<22} {result.sequence_number or result.error_code}"
            )
        per_shard: dict[str, int] = {}
        for result in results:
            if result.success and result.shard_id:
                per_shard[result.shard_id] = per_shard.get(result.shard_id, 0) + 1
        failed = sum(not r.success for r in results)
        print(f"\n{RECORDS - failed} succeeded, {failed} failed in {elapsed:.2f}s")
        for shard_id in sorted(per_shard):
            print(f"  {shard_id}: {per_shard[shard_id]} records")
    print("emulator stopped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; emulator stopped", file=sys.stderr)
        sys.exit(130)
