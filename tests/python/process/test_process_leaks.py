"""Finalizers and leaks: outcome handles die with their SyncOutcome; handle tables and RSS stay flat.

The cycles run in a child process (scripts/leak_cycles.py) against the fake
endpoint in --discard mode, the fastest there is: 1,000,000 put/wait cycles
(about 15 s on two cores).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from conftest import fake_endpoint
from proc_support import HERE, child_env

CYCLES = 1_000_000
# The Go heap and the allocator keep some of what a run used; more than this
# after the warm-up is a leak (1,000,000 leaked outcomes would be far more).
RSS_GROWTH_LIMIT_KIB = 32 * 1024


def test_handles_and_rss_are_flat_after_put_wait_cycles() -> None:
    fake = fake_endpoint({"leaks": 8}, discard=True)
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "scripts" / "leak_cycles.py"), fake.endpoint_url, "leaks", str(CYCLES)],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        fake.stop()
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["before"]["handles"] == [1, 0], report
    assert report["after"]["handles"] == [1, 0], report
    assert report["closed"]["handles"] == [0, 0], report
    assert report["succeeded"] >= CYCLES * 0.98, report  # 1% are cancelled
    growth = report["after"]["rss_kib"] - report["before"]["rss_kib"]
    assert growth < RSS_GROWTH_LIMIT_KIB, report
    print(
        f"{CYCLES} put/wait cycles in {report['seconds']}s: handles {report['before']['handles']} -> "
        f"{report['after']['handles']}, RSS {report['before']['rss_kib']} -> {report['after']['rss_kib']} KiB"
    )


def test_an_outcome_handle_is_freed_when_its_sync_outcome_dies(fake_config: object, fake_stream: str) -> None:
    import gokpl._native as native
    from gokpl import SyncProducer

    def outcome_handles(free_released: bool = True) -> int:
        if free_released:
            native.free_released()
        ffi, lib = native.ffi_lib()
        out = ffi.new("uint64_t *")
        lib.gokpl_handle_counts(ffi.NULL, out)
        return int(out[0])

    with SyncProducer(fake_config()) as producer:  # type: ignore[operator]
        gc.collect()
        start = outcome_handles()
        outcomes = [producer.put_record(stream=fake_stream, partition_key="k", data=b"x") for _ in range(100)]
        assert outcome_handles() == start + 100
        results = [o.wait(timeout=10) for o in outcomes]
        del outcomes
        gc.collect()
        # A result keeps its outcome (and handle) until it has read all its fields.
        assert outcome_handles() == start + 100
        assert all(len(r.attempts) == 1 for r in results)
        gc.collect()
        assert outcome_handles() == start
        kept = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        kept.wait(timeout=10)
        assert outcome_handles() == start + 1
        del kept
        assert outcome_handles() == start  # reference counting releases it at once

        # Released handles are freed a batch at a time without being asked.
        many = [producer.put_record(stream=fake_stream, partition_key="k", data=b"x") for _ in range(300)]
        for outcome in many:
            outcome.wait(timeout=10)
        del many, outcome
        assert outcome_handles(free_released=False) == start + 300 - native.RELEASE_BATCH
        producer.close()
        assert outcome_handles(free_released=False) == start  # close frees what is left
