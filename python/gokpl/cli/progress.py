"""Progress: a line of put's progress on stderr every second, from a daemon thread of its own.

On a terminal the line rewrites itself; elsewhere each is a line of its own.
It reads the Tally's counters without its lock: a line may be a moment
stale, never wrong for long.
"""

from __future__ import annotations

import threading
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from .put import Tally

PROGRESS_INTERVAL_S = 1.0


class Progress:
    """A line of progress on stderr every interval, from a daemon thread."""

    def __init__(self, tally: Tally, stream: IO[str], tty: bool) -> None:
        self._tally = tally
        self._stream = stream
        self._tty = tty
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gokpl-progress", daemon=True)

    def start(self) -> None:
        """Start printing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop printing and clear the progress line."""
        self._stop.set()
        self._thread.join(PROGRESS_INTERVAL_S * 2)
        if self._tty:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    def _run(self) -> None:
        last_done, last_time = 0, time.monotonic()
        while not self._stop.wait(PROGRESS_INTERVAL_S):
            t = self._tally
            now, done = time.monotonic(), t.ok + t.failed
            rate = (done - last_done) / max(now - last_time, 1e-9)
            last_done, last_time = done, now
            line = (
                f"gokpl: {t.put:,} put  {t.ok:,} ok  {t.failed:,} failed  "
                f"{t.in_flight:,} in flight  {rate:,.0f} records/s"
            )
            self._stream.write(f"\r\x1b[K{line}" if self._tty else line + "\n")
            self._stream.flush()
