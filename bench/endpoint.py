"""The fake Kinesis endpoint (build/kinesistest --discard) for benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Endpoint:
    """build/kinesistest --discard with one stream, as a child process; it
    stops when its stdin closes."""

    def __init__(self, stream: str, shards: int) -> None:
        binary = Path(os.environ.get("GOKPL_KINESISTEST_BIN", REPO / "build" / "kinesistest"))
        if not binary.exists():
            sys.exit(f"{binary} not built: run 'make tools'")
        self.proc = subprocess.Popen(
            [str(binary), "--addr", "127.0.0.1:0", "--discard", "--stream", f"{stream}:{shards}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url: str = json.loads(self.proc.stdout.readline())["endpoint_url"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
