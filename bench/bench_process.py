"""make bench-process: the long versions of two process tests, with their numbers kept.

- leaks: 1,000,000 put/wait cycles (tests/python/process/scripts/leak_cycles.py)
  against the fake endpoint in --discard mode; the native handle tables must
  be back where they were after the warm-up and RSS within 32 MiB of it.
- overload soak: every PutRecords throttled for --soak seconds (default 180)
  (tests/python/process/scripts/overload.py), 2000 records of 8 KiB in the
  producer's budget; RSS must level off: its peak over the second half of the
  run may not pass the first half's by more than 10%.

`make test` runs short versions of both (200,000 cycles; 4 seconds).
Results go to bench/results/process.json; the exit status is non-zero when
a bound is broken.

    python bench/bench_process.py [--cycles N] [--soak SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from endpoints import fake

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "tests" / "python" / "process" / "scripts"
RESULTS = REPO / "bench" / "results" / "process.json"


def run(script: str, *args: str, timeout: float) -> dict[str, Any]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", NO_PROXY="127.0.0.1")
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        sys.exit(f"{script} failed:\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return report


def leaks(cycles: int) -> tuple[dict[str, Any], list[str]]:
    with fake("leaks", 8) as endpoint:
        report = run("leak_cycles.py", endpoint.endpoint_url, "leaks", str(cycles), timeout=600)
    problems = []
    if report["after"]["handles"] != report["before"]["handles"] or report["closed"]["handles"] != [0, 0]:
        problems.append(f"handle tables not back: {report['before']} -> {report['after']} -> {report['closed']}")
    growth = report["after"]["rss_kib"] - report["before"]["rss_kib"]
    report["rss_growth_kib"] = growth
    if growth > 32 * 1024:
        problems.append(f"RSS grew by {growth} KiB")
    print(
        f"leaks: {cycles} put/wait cycles in {report['seconds']} s; handles {report['before']['handles']} -> "
        f"{report['after']['handles']} -> {report['closed']['handles']} (closed); RSS "
        f"{report['before']['rss_kib']} -> {report['after']['rss_kib']} KiB"
    )
    return report, problems


def soak(seconds: float) -> tuple[dict[str, Any], list[str]]:
    with fake("overload", 4) as endpoint:
        report = run("overload.py", endpoint.endpoint_url, "overload", str(seconds), "2000", "8192",
                     timeout=seconds + 120)  # fmt: skip
    samples = report["samples"]
    half = report["seconds"] / 2
    first = max(r for t, r in samples if t < half)
    second = max(r for t, r in samples if t >= half)
    report["rss_max_first_half_kib"], report["rss_max_second_half_kib"] = first, second
    problems = []
    if second > first * 1.10:
        problems.append(f"RSS still growing: peak {first} KiB in the first half, {second} KiB in the second")
    print(
        f"overload soak: {seconds:.0f} s, every request throttled ({report['requests_throttled']}), "
        f"budget {report['budget_kib']} KiB; RSS {report['rss_start_kib']} KiB at start, peak {first} KiB "
        f"(first half) and {second} KiB (second half), {report['rss_end_kib']} KiB at the end"
    )
    return report, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=1_000_000)
    parser.add_argument("--soak", type=float, default=180.0)
    options = parser.parse_args()
    leak_report, leak_problems = leaks(options.cycles)
    soak_report, soak_problems = soak(options.soak)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "leaks": leak_report,
             "overload_soak": soak_report},
            indent=1,
        )
        + "\n"
    )  # fmt: skip
    problems = leak_problems + soak_problems
    for problem in problems:
        print("FAILED:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
