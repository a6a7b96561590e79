"""EndpointProcess: one child process that serves an endpoint, from start to a clean stop.

Every endpoint the package and its tests run as a child (the fake
``kinesistest``, kinesis-mock through the ``kinesismock`` command, moto's
server) follows one protocol: once it serves requests it prints one JSON
line saying where (``endpoint_url``, and whatever else it wants known),
and it stops by itself when its standard input reaches end of file. So a
child outlives neither a stop() nor the death of the process that started
it, however that process dies.

An EndpointProcess is started once and stopped once; start() and stop()
are for one thread, running, pid, returncode and check() for any.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Callable

#: Makes the exception for a failure: given the message and the child's exit
#: status (None while it runs).
ErrorFactory = Callable[[str, "int | None"], Exception]

_STDERR_TAIL = 2000  # characters of the child's stderr quoted in an error


class EndpointProcess:
    """A child process serving an endpoint: its command, its ready line, its stop.

    ``name`` names the child in error messages; ``error`` makes the
    exceptions raised (RuntimeError by default). The child runs in a
    session of its own, so Ctrl-C in a terminal reaches only this process,
    which then stops it; with its standard error in a temporary file, quoted
    when it fails. stop() closes the child's standard input and gives it
    ``stop_timeout`` seconds to exit, then SIGTERM, then SIGKILL; it also
    runs when this object is garbage collected and at interpreter exit, but
    does nothing in a process forked from the one that started the child.
    """

    def __init__(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        name: str,
        error: ErrorFactory | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stop_timeout: float = 5.0,
    ) -> None:
        self.args = [os.fspath(a) for a in args]
        self.name = name
        self.cwd = Path(cwd) if cwd is not None else None
        self.stop_timeout = stop_timeout
        self._error: ErrorFactory = error or (lambda message, status: RuntimeError(message))
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def start(self, ready_timeout: float) -> dict[str, Any]:
        """Run the child and return its ready line, once it serves, within ready_timeout seconds.

        OSError if the command cannot be run at all; the error factory's
        exception if the child exits first, prints something else, or takes
        longer (the child is stopped then).
        """
        if self._process is not None:
            raise self._error(f"{self.name} was already started", None)
        stderr = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(
                self.args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError:
            stderr.close()
            raise
        self._process, self._stderr = process, stderr
        self._finalizer = weakref.finalize(self, _stop, process, stderr, os.getpid(), self.stop_timeout)
        try:
            return self._ready_line(ready_timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the child and wait for it to exit; a no-op if it was never started or is stopped."""
        if self._finalizer is not None:
            self._finalizer()

    @property
    def running(self) -> bool:
        """Whether the child was started, not stopped, and has not exited."""
        return self._finalizer is not None and self._finalizer.alive and self.returncode is None

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """The child's exit status (negative: the signal that ended it); None while it runs or before start."""
        return self._process.poll() if self._process is not None else None

    def check(self, when: str, grace: float = 0.0) -> None:
        """Raise the error factory's exception, saying it exited ``when``, if the child has exited.

        ``grace`` is how long to give a child that is still exiting to be
        seen dead (a refused or reset connection can come before its exit
        status does).
        """
        process = self._process
        if process is None:
            return
        if process.poll() is None and grace > 0:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                return
        if process.poll() is not None:
            raise self._exited(when)

    def stderr_text(self) -> str:
        """The end of what the child wrote to its standard error, trimmed."""
        stderr = self._stderr
        if stderr is None:
            return ""
        try:
            stderr.flush()
            stderr.seek(0)
            text = stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):  # closed by stop()
            return ""
        return text[-_STDERR_TAIL:]

    def _ready_line(self, timeout: float) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        line = _read_line(process.stdout.fileno(), time.monotonic() + timeout)
        if line is None:
            said = self.stderr_text()
            raise self._error(f"{self.name} was not ready within {timeout:g} s" + (f": {said}" if said else ""), None)
        if not line.strip():
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                pass
            raise self._exited("before it was ready")
        try:
            ready = json.loads(line)
        except ValueError:
            ready = None
        if not isinstance(ready, dict):
            raise self._error(f"{self.name} printed {line!r}, not one JSON object", None)
        return ready

    def _exited(self, when: str) -> Exception:
        status = self.returncode
        said = self.stderr_text()
        return self._error(f"{self.name} exited with status {status} {when}" + (f": {said}" if said else ""), status)


def _read_line(fd: int, deadline: float) -> bytes | None:
    """The first line written to fd (b"" at end of file before one), or None when the deadline passes first."""
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            return data if data.strip() else b""
        data += chunk
    return data.split(b"\n", 1)[0] + b"\n"


def _stop(process: subprocess.Popen[bytes], stderr: IO[bytes], owner: int, timeout: float) -> None:
    """End the child for good: end of file on its stdin, then SIGTERM, then SIGKILL; runs once.

    In a process forked from the owner it does nothing: the child is the owner's to stop.
    """
    if os.getpid() != owner:
        return
    try:
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        for end in (None, process.terminate, process.kill):
            if end is not None and process.poll() is None:
                end()
            try:
                process.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait()
    finally:
        if process.stdout is not None:
            process.stdout.close()
        stderr.close()
