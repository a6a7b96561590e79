"""RSS of a producer whose every PutRecords is throttled, against its max_outstanding_bytes.

    python memory_soak.py --budget-mib 64 --seconds 20 [--record-bytes 5000] [--threads 2] ...

The script starts its own fake endpoint (gokpl.testing.FakeKinesis, in
--discard mode; GOKPL_KINESISTEST_BIN names the binary) in a child process,
so that this process's RSS is the producer's and Python's alone. Then:

1. Warm-up: a SyncProducer with max_outstanding_bytes = the budget; each
   putting thread puts its share of --warmup-records records, unthrottled,
   and waits for every result. The library is loaded, the Go runtime and
   the putting threads' native state exist, the shard map is loaded and
   connections are open.
2. Start: the fake endpoint is told to throttle every entry of every
   PutRecords from now on (FakeKinesis.throttle(1.0); --throttle requests
   answers whole requests with ProvisionedThroughputExceededException
   instead). The start RSS is read right then: VmRSS of /proc/self/status.
3. Soak: for --seconds, each putting thread puts records of --record-bytes
   bytes (slices of a random buffer at varying offsets) with unique
   partition keys as fast as backpressure lets it: put_record with a
   --put-timeout, a BackpressureTimeoutError counted and the put tried
   again with the next record. The outcomes are dropped. Every --interval
   seconds the main thread samples VmRSS, VmHWM, the RSS of the Go heap's
   mappings (read from /proc/self/smaps) and
   the producer's outstanding bytes.
4. End: VmHWM is read once more (the peak, which the kernel keeps between
   samples too), then the producer is closed with timeout 0.

RSS growth is the peak (VmHWM at the end of the soak) minus the start RSS.
The warm-up's own peak stays below the start RSS, as it holds only a few
MiB of records. The last line of stdout is one JSON object with the
samples and counts; the caller judges them against the budget. The
monotonic time of the start (CLOCK_MONOTONIC, the same in every process)
is in it, so a parent reading GODEBUG=gctrace=1 lines from stderr can
place them on the samples' timeline.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gokpl
from gokpl import BackpressureTimeoutError, SyncProducer
from gokpl.testing import THROTTLED, FakeKinesis

STREAM = "memory"
MIB = 1 << 20
# On linux/amd64 the Go runtime maps its heap arenas below 64 TiB (at
# 0xc000000000 and up, or at a random base of 46 bits), while the kernel
# places the executable, brk and every other mmap near the top of the 47-bit
# user space: the anonymous mappings below this address are the Go heap.
GO_HEAP_END = 1 << 46
SAMPLE_FIELDS = ["t", "rss_kib", "hwm_kib", "go_heap_rss_kib", "outstanding_bytes", "puts", "timeouts"]


def status_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB."""
    rss = hwm = -1
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def go_heap_rss_kib() -> int:
    """Resident KiB of the anonymous mappings in the Go heap's address range."""
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            if not line[0].isupper():  # a mapping's header: start-end perms offset dev inode [path]
                fields = line.split()
                inside = len(fields) == 5 and int(fields[0][: fields[0].index("-")], 16) < GO_HEAP_END
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


class Putter(threading.Thread):
    def __init__(self, index: int, producer: SyncProducer, args: argparse.Namespace, blob: bytes) -> None:
        super().__init__(name=f"putter-{index}", daemon=True)
        self.index, self.producer, self.args, self.blob = index, producer, args, blob
        self.puts = self.timeouts = 0
        self.warm = threading.Event()
        self.go = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def record(self, i: int) -> tuple[str, bytes]:
        size = self.args.record_bytes
        offset = (i * 7919 + self.index * 104729) % (len(self.blob) - size)
        return f"{self.index}-{i}-{offset}", self.blob[offset : offset + size]

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
            self.warm.set()

    def _run(self) -> None:
        put = self.producer.put_record
        share = max(self.args.warmup_records // self.args.threads, 1)
        outcomes = []
        for i in range(share):
            key, data = self.record(i)
            outcomes.append(put(stream=STREAM, partition_key=key, data=data, timeout=30))
        for outcome in outcomes:
            result = outcome.wait(timeout=60)
            if not result.success:
                raise RuntimeError(f"warm-up record failed: {result}")
        del outcomes
        self.warm.set()
        self.go.wait()
        i, timeout = share, self.args.put_timeout
        while not self.stop.is_set():
            key, data = self.record(i)
            i += 1
            try:
                put(stream=STREAM, partition_key=key, data=data, timeout=timeout)
                self.puts += 1
            except BackpressureTimeoutError:
                self.timeouts += 1


def library_sha256() -> str:
    import hashlib

    from gokpl import _native

    return hashlib.sha256(Path(_native.library_path()).read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-mib", type=int, required=True, help="max_outstanding_bytes in MiB")
    parser.add_argument("--seconds", type=float, required=True, help="length of the throttled soak")
    parser.add_argument("--record-bytes", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2, help="putting threads")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("--warmup-records", type=int, default=2000)
    parser.add_argument("--put-timeout", type=float, default=0.2)
    parser.add_argument("--ttl-ms", type=float, default=None, help="record_ttl_ms (default: the Config default)")
    parser.add_argument("--throttle", choices=["entries", "requests"], default="entries")
    args = parser.parse_args()

    started = time.monotonic()
    fake = FakeKinesis({STREAM: args.shards}, discard=True).start()
    try:
        report = soak(args, fake)
    finally:
        fake.stop()
    report["wall_seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report))


def soak(args: argparse.Namespace, fake: FakeKinesis) -> dict[str, Any]:
    overrides: dict[str, Any] = {"max_outstanding_bytes": args.budget_mib * MIB}
    if args.ttl_ms is not None:
        overrides["record_ttl_ms"] = args.ttl_ms
    config = fake.config(**overrides)
    blob = os.urandom(4 * MIB)
    rss_before_library = status_kib()[0]
    producer = SyncProducer(config)
    producer.__enter__()
    putters = [Putter(i, producer, args, blob) for i in range(args.threads)]
    for putter in putters:
        putter.start()
    for putter in putters:
        putter.warm.wait()
        if putter.error is not None:
            raise putter.error
    gc.collect()

    if args.throttle == "entries":
        fake.throttle(1.0)
    else:
        fake.inject_fault(operation="PutRecords", error=THROTTLED, times=None)
    start_rss, start_hwm = status_kib()
    start_go_heap = go_heap_rss_kib()
    t0, cpu0 = time.monotonic(), os.times()
    for putter in putters:
        putter.go.set()

    samples: list[list[float | int]] = []
    next_sample = t0
    while True:
        now = time.monotonic()
        if now - t0 >= args.seconds:
            break
        if now >= next_sample:
            rss, hwm = status_kib()
            samples.append(
                [
                    round(now - t0, 3),
                    rss,
                    hwm,
                    go_heap_rss_kib(),
                    producer.stats().outstanding_bytes,
                    sum(p.puts for p in putters),
                    sum(p.timeouts for p in putters),
                ]
            )
            next_sample += args.interval
        time.sleep(max(0.0, min(next_sample, t0 + args.seconds) - time.monotonic()))

    end_rss, peak_kib = status_kib()
    cpu1 = os.times()
    for putter in putters:
        putter.stop.set()
    for putter in putters:
        putter.join(timeout=30)
        if putter.error is not None:
            raise putter.error
    stats = producer.stats()
    requests = fake.requests()
    producer.close(timeout=0)
    return {
        "budget_mib": args.budget_mib,
        "max_outstanding_bytes": args.budget_mib * MIB,
        "seconds": args.seconds,
        "record_bytes": args.record_bytes,
        "threads": args.threads,
        "shards": args.shards,
        "throttle": args.throttle,
        "record_ttl_ms": config.record_ttl_ms,
        "put_timeout": args.put_timeout,
        "warmup_records": args.warmup_records,
        "t0_monotonic": t0,
        "rss_before_library_kib": rss_before_library,
        "start_rss_kib": start_rss,
        "start_hwm_kib": start_hwm,
        "start_go_heap_rss_kib": start_go_heap,
        "end_rss_kib": end_rss,
        "peak_rss_kib": peak_kib,
        "growth_kib": peak_kib - start_rss,
        "cpu_seconds": round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 2),
        "puts": sum(p.puts for p in putters),
        "backpressure_timeouts": sum(p.timeouts for p in putters),
        "records_succeeded": stats.records_succeeded,
        "records_failed": stats.records_failed,
        "records_retried": stats.records_retried,
        "requests": stats.requests,
        "requests_throttled": stats.requests_throttled,
        "put_records_requests_seen": requests.get("PutRecords", 0),
        "outstanding_bytes_end": stats.outstanding_bytes,
        "outstanding_records_end": stats.outstanding_records,
        "gokpl": {"version": gokpl.__version__, "package": str(Path(gokpl.__file__).parent),
                  "library_sha256": library_sha256()},
        "python": sys.version.split()[0],
        "environ": {k: os.environ[k] for k in ("GODEBUG", "GOGC", "GOMEMLIMIT", "GOMAXPROCS") if k in os.environ},
        "sample_fields": SAMPLE_FIELDS,
        "samples": samples,
    }  # fmt: skip


if __name__ == "__main__":
    main()
