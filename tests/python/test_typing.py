"""aiokpl's annotations type-check against gokpl under mypy --strict, as they
did against aiokpl: the drop-in promise covers the type checker too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"

APP = """
from gokpl import Outcome, Producer, RecordResult, SyncOutcome, SyncProducer


def put(producer: SyncProducer) -> SyncOutcome[RecordResult]:
    return producer.put_record(stream="s", partition_key="k", data=b"x")


def result(outcome: SyncOutcome[RecordResult]) -> RecordResult:
    return outcome.wait(timeout=1)


def bare(outcome: SyncOutcome) -> bool:
    return outcome.wait().success


async def put_async(producer: Producer) -> Outcome[RecordResult]:
    return await producer.put_record(stream="s", partition_key="k", data=b"x")
"""


def test_aiokpl_style_annotations_pass_mypy_strict(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(app)],
        env={"MYPYPATH": str(PYTHON_DIR), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
