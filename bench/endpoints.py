"""The endpoints the benchmarks run as child processes: the fake (kinesistest) and kinesis-mock.

Both go through gokpl.testing's one launcher of endpoint processes, so they
stop with the benchmark however it ends.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from gokpl.testing import FakeKinesis

REPO = Path(__file__).resolve().parents[1]
KINESISTEST = Path(os.environ.get("GOKPL_KINESISTEST_BIN", REPO / "build" / "kinesistest"))


def fake(stream: str, shards: int, rate_limit: bool = False, binary: Path = KINESISTEST) -> FakeKinesis:
    """build/kinesistest --discard with one stream on loopback, to run in a with block (endpoint_url says where)."""
    if not binary.exists():
        sys.exit(f"{binary} not built: run 'make tools'")
    return FakeKinesis({stream: shards}, discard=True, shard_rate_limit=rate_limit, binary=binary)


def kinesis_mock(streams: dict[str, int]) -> Any:
    """kinesis-mock through tests/python/emulator.py (build/kinesismock; `make emulator` installs it).

    Raises the module's EmulatorError (EmulatorNotInstalled when it is missing).
    """
    sys.path.insert(0, str(REPO / "tests" / "python"))
    try:
        from emulator import KinesisMock
    finally:
        sys.path.pop(0)
    return KinesisMock(streams=streams)
