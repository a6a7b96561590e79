"""A producer driven line by line from standard input, for a parent that freezes it as Lambda does.

    python lambda_freeze.py ENDPOINT_URL STREAM

Commands, one a line; each is answered with one line on standard output:

- ``put PHASE N``: put N records (data ``PHASE-i``, partition key ``k-i``),
  not flushed; answers ``PUT PHASE``.
- ``flush PHASE``: flush with a 15 s timeout; answers ``FLUSHED PHASE SECONDS``
  (or ``FLUSH-TIMEOUT PHASE SECONDS``).
- ``report``: waits for every outcome, then answers one line of JSON with,
  per record, its result, its attempts' error codes, how many times its done
  callback ran and when (time.monotonic(), the system's monotonic clock, which
  the parent shares); then closes the producer and exits.

The options are those of the test: records buffered 500 ms, requests timed
out after 2 s, a TTL of 30 s.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from gokpl import Config, SyncOutcome, SyncProducer


def main() -> None:
    endpoint, stream = sys.argv[1], sys.argv[2]
    config = Config(
        region="us-east-1",
        endpoint_url=endpoint,
        record_max_buffered_time_ms=500,
        request_timeout_ms=2000,
        record_ttl_ms=30000,
    )
    lock = threading.Lock()
    records: list[dict[str, Any]] = []
    outcomes: list[SyncOutcome] = []

    def on_done(entry: dict[str, Any]) -> Any:
        def done(_: SyncOutcome) -> None:
            with lock:
                entry["callbacks"] += 1
                entry["done_at"] = time.monotonic()

        return done

    with SyncProducer(config) as producer:
        print("READY", flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[0] == "put":
                phase, count = words[1], int(words[2])
                for i in range(count):
                    entry: dict[str, Any] = {"phase": phase, "data": f"{phase}-{i}", "callbacks": 0, "done_at": None}
                    outcome = producer.put_record(stream=stream, partition_key=f"k-{i}", data=entry["data"].encode())
                    outcome.add_done_callback(on_done(entry))
                    records.append(entry)
                    outcomes.append(outcome)
                print("PUT", phase, flush=True)
            elif words[0] == "flush":
                started = time.monotonic()
                try:
                    producer.flush(timeout=15)
                    print("FLUSHED", words[1], round(time.monotonic() - started, 3), flush=True)
                except TimeoutError:
                    print("FLUSH-TIMEOUT", words[1], round(time.monotonic() - started, 3), flush=True)
            elif words[0] == "report":
                for entry, outcome in zip(records, outcomes):
                    result = outcome.wait(timeout=30)
                    entry.update(
                        success=result.success,
                        shard_id=result.shard_id,
                        sequence_number=result.sequence_number,
                        codes=[a.error_code for a in result.attempts],
                    )
                break
    with lock:  # close() has run the callbacks of every record it resolved
        print(json.dumps({"records": records}), flush=True)


if __name__ == "__main__":
    main()
