"""Memory under overload: RSS growth within 1.25 x max_outstanding_bytes + 32 MiB.

The short version of `make bench-memory` (bench/bench_memory.py): a child
process (scripts/memory_soak.py) runs a SyncProducer with
max_outstanding_bytes = 64 MiB against the fake endpoint, which throttles
every entry of every PutRecords for 20 seconds, while two threads put
5,000-byte records as fast as backpressure lets them. RSS growth is VmHWM
at the end of the soak minus VmRSS right after the producer started and
warmed up (when throttling began); it must stay within the bound, whatever
copies of the data the engine keeps and however the Go heap is paced.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, missing
from proc_support import HERE, child_env

SECONDS = 20
BUDGET_MIB = 64
RECORD_BYTES = 5000
BOUND_KIB = int((1.25 * BUDGET_MIB + 32) * 1024)


def test_rss_growth_within_bound_while_every_request_is_throttled() -> None:
    kinesistest = REPO / "build" / "kinesistest"
    if not kinesistest.exists():
        missing(f"{kinesistest} not built", "run 'make tools'")
    args = [sys.executable, str(HERE / "scripts" / "memory_soak.py"), "--budget-mib", str(BUDGET_MIB)]
    args += ["--seconds", str(SECONDS), "--record-bytes", str(RECORD_BYTES), "--threads", "2"]
    proc = subprocess.run(
        args,
        env=child_env(GOKPL_KINESISTEST_BIN=str(kinesistest)),
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    samples = report.pop("samples")
    # The overload happened: every request throttled, nothing delivered after
    # the warm-up, the producer full and puts waiting on backpressure.
    assert report["records_succeeded"] == report["warmup_records"], report
    assert report["requests_throttled"] > 10 and report["records_retried"] > 0, report
    full = max(s[report["sample_fields"].index("outstanding_bytes")] for s in samples)
    assert full >= 0.9 * report["max_outstanding_bytes"], report
    assert report["backpressure_timeouts"] > 0, report

    growth = report["growth_kib"]
    rss = report["sample_fields"].index("rss_kib")
    trace = ", ".join(f"{s[0]:.0f}s {s[rss] // 1024}" for s in samples[::8])
    print(
        f"memory bound {SECONDS}s at {BUDGET_MIB} MiB: RSS {report['start_rss_kib'] // 1024} MiB at the start, "
        f"peak {report['peak_rss_kib'] // 1024} MiB, growth {growth // 1024} MiB (bound {BOUND_KIB // 1024} MiB)"
    )
    assert growth <= BOUND_KIB, (
        f"RSS grew {growth // 1024} MiB under full throttling with max_outstanding_bytes = {BUDGET_MIB} MiB, "
        f"over the bound of {BOUND_KIB // 1024} MiB (1.25 x the budget + 32 MiB): start "
        f"{report['start_rss_kib'] // 1024} MiB, peak {report['peak_rss_kib'] // 1024} MiB; RSS MiB over time: "
        f"{trace}; {report}"
    )
