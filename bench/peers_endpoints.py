"""The endpoints of the peer benchmark: the fake (kinesistest) and kinesis-mock, each a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KINESISTEST = Path(os.environ.get("GOKPL_KINESISTEST_BIN", REPO / "build" / "kinesistest"))


class Fake:
    """build/kinesistest --discard with one stream, on loopback; it stops when its stdin closes."""

    def __init__(self, stream: str, shards: int, rate_limit: bool = False, binary: Path = KINESISTEST) -> None:
        if not binary.exists():
            sys.exit(f"{binary} not built: run 'make tools'")
        args = [str(binary), "--addr", "127.0.0.1:0", "--discard", "--stream", f"{stream}:{shards}"]
        if rate_limit:
            args.append("--shard-rate-limit")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url: str = json.loads(self.proc.stdout.readline())["endpoint_url"]
        self.region = "us-east-1"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Fake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
