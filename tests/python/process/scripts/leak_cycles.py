"""Put/wait cycles against a fast endpoint; report handle counts and RSS before and after.

    python leak_cycles.py ENDPOINT_URL STREAM CYCLES

Each round puts a batch of records, cancels some, registers done-callbacks
on some, flushes, waits for every outcome (reading the attempts of some
results), then drops them all, so each outcome handle is freed by its
SyncOutcome's finalizer. After a warm-up round the script notes the
native handle counts (gokpl_handle_counts) and the RSS, runs CYCLES more
records, and prints one line of JSON with the numbers; the process test
and `make bench` judge them.
"""

from __future__ import annotations

import gc
import json
import sys
import time

import gokpl._native as native
from gokpl import Config, SyncOutcomeCancelled, SyncProducer

BATCH = 2000
WARMUP = 50_000


def handle_counts() -> tuple[int, int]:
    native.free_released()  # handles of collected outcomes are freed in batches
    ffi, lib = native.ffi_lib()
    producers, outcomes = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    lib.gokpl_handle_counts(producers, outcomes)
    return int(producers[0]), int(outcomes[0])


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    endpoint, stream, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = Config(
        region="us-east-1", endpoint_url=endpoint, record_max_buffered_time_ms=5, max_outstanding_records=100_000
    )
    producer = SyncProducer(config)
    producer.__enter__()
    called = [0]
    data = b"x" * 100

    def done(_outcome: object) -> None:
        called[0] += 1

    def rounds(n: int) -> int:
        succeeded = 0
        for _ in range(max(n // BATCH, 1)):
            outcomes = [producer.put_record(stream=stream, partition_key=f"k{i}", data=data) for i in range(BATCH)]
            for i in range(0, BATCH, 100):
                outcomes[i].cancel()
            for i in range(1, BATCH, 50):
                outcomes[i].add_done_callback(done)
            producer.flush()
            for i, outcome in enumerate(outcomes):
                try:
                    result = outcome.wait()
                except SyncOutcomeCancelled:
                    continue
                succeeded += result.success
                if i % 7 == 0:
                    assert len(result.attempts) == 1
            del outcomes, result
        return succeeded

    rounds(WARMUP)
    gc.collect()
    time.sleep(0.3)  # the callbacks thread finishes the warm-up's callbacks
    before = {"handles": handle_counts(), "rss_kib": rss_kib()}
    start = time.monotonic()
    succeeded = rounds(cycles)
    seconds = time.monotonic() - start
    gc.collect()
    deadline = time.monotonic() + 5
    while handle_counts()[1] and time.monotonic() < deadline:  # callbacks still running
        time.sleep(0.05)
        gc.collect()
    after = {"handles": handle_counts(), "rss_kib": rss_kib()}
    producer.close()
    gc.collect()
    closed = {"handles": handle_counts(), "rss_kib": rss_kib()}
    print(
        json.dumps(
            {
                "cycles": cycles,
                "succeeded": succeeded,
                "seconds": round(seconds, 2),
                "callbacks": called[0],
                "before": before,
                "after": after,
                "closed": closed,
            }
        )
    )


if __name__ == "__main__":
    main()
