"""Memory under overload: an endpoint that throttles every request, and RSS stays bounded.

The short version of the soak in bench/bench_overload.py: for a few seconds
the fake endpoint answers every PutRecords with a throttling error, records
retry (their TTL is longer than the run) and hold the producer's budget, and
puts block on backpressure. The producer takes exactly its budget of records
and no more, and RSS stays within a bound proportional to the budget.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import fake_endpoint
from proc_support import HERE, child_env

SECONDS = 4
MAX_RECORDS = 2000
RECORD_BYTES = 8192
BUDGET_KIB = MAX_RECORDS * RECORD_BYTES // 1024
# Each record's data lives in the record, in its aggregated copy and in the
# request (base64 in JSON) while it is retried, the Go heap runs up to twice
# its live size before collecting, and up to max_connections requests are in
# flight: measured ~6x the budget (bench/results/process.json). A
# leak of retried copies would pass this within seconds.
RSS_LIMIT_KIB = 8 * BUDGET_KIB + 32 * 1024


def test_rss_stays_bounded_while_every_request_is_throttled() -> None:
    fake = fake_endpoint({"overload": 4}, discard=True)
    try:
        args = [str(HERE / "scripts" / "overload.py"), fake.endpoint_url, "overload", str(SECONDS)]
        proc = subprocess.run(
            [sys.executable, *args, str(MAX_RECORDS), str(RECORD_BYTES)],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        fake.stop()
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    samples = report.pop("samples")
    assert report["records_succeeded"] == 0 and report["requests_throttled"] > 10, report
    assert report["records_retried"] > 0, report
    # Backpressure held: the producer took its budget and then made puts wait.
    assert report["puts"] == MAX_RECORDS and report["outstanding_records"] == MAX_RECORDS, report
    assert report["backpressure_timeouts"] > 0, report
    growth = report["rss_max_kib"] - report["rss_start_kib"]
    assert growth < RSS_LIMIT_KIB, (report, samples)
    print(
        f"overload {SECONDS}s, budget {BUDGET_KIB} KiB: RSS {report['rss_start_kib']} -> max "
        f"{report['rss_max_kib']} KiB ({growth / BUDGET_KIB:.1f}x the budget), "
        f"{report['requests_throttled']} requests throttled"
    )
