"""EndpointProcess, the one launcher of endpoint children (the fake, kinesis-mock, moto): ready line, errors, stop.

The children here are small Python programs that follow, or break, the
protocol: one JSON line once serving, stop when stdin closes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from gokpl.testing._endpoint_process import EndpointProcess

SERVES = "import json, sys; print(json.dumps({'endpoint_url': 'http://x', 'n': 1}), flush=True); sys.stdin.read()"


def child(code: str, **kwargs: object) -> EndpointProcess:
    return EndpointProcess([sys.executable, "-c", code], name="the child", **kwargs)  # type: ignore[arg-type]


def gone(pid: int) -> bool:
    """Whether the process no longer exists (reaped)."""
    return not Path(f"/proc/{pid}").exists()


def test_ready_line_and_stop_at_end_of_stdin() -> None:
    process = child(SERVES)
    assert process.start(ready_timeout=20) == {"endpoint_url": "http://x", "n": 1}
    pid = process.pid
    assert pid is not None and process.running and process.returncode is None
    process.check("while serving")  # alive: nothing to say
    started = time.monotonic()
    process.stop()
    assert time.monotonic() - started < 3, "a child that stops at end of stdin needs no signal"
    assert not process.running and process.returncode == 0 and gone(pid)
    process.stop()  # a second stop is a no-op


def test_a_child_that_ignores_stdin_and_sigterm_is_killed() -> None:
    stubborn = (
        "import json, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(json.dumps({}), flush=True); time.sleep(60)"
    )
    process = child(stubborn, stop_timeout=0.5)
    process.start(ready_timeout=20)
    process.stop()
    assert process.returncode == -9


def test_exit_before_ready_gives_status_and_stderr_to_the_error_factory() -> None:
    seen: list[int | None] = []

    def error(message: str, status: int | None) -> Exception:
        seen.append(status)
        return LookupError(message)

    process = child("import sys; sys.stderr.write('emulator missing'); sys.exit(2)", error=error)
    with pytest.raises(LookupError, match=r"^the child exited with status 2 before it was ready: emulator missing$"):
        process.start(ready_timeout=20)
    assert seen == [2] and not process.running


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("print('listening on 4567', flush=True); import sys; sys.stdin.read()", "printed b'listening on 4567\\\\n'"),
        (
            "import sys, time; sys.stderr.write('starting'); sys.stderr.flush(); time.sleep(30)",
            "ready within 0.5 s: starting",
        ),
    ],
    ids=["not-json", "too-slow"],
)
def test_a_child_that_is_not_ready_is_stopped(code: str, message: str) -> None:
    process = child(code)
    with pytest.raises(RuntimeError, match=message):
        process.start(ready_timeout=0.5)
    assert process.pid is not None and process.returncode is not None, "the child was stopped"


def test_check_reports_a_child_that_died() -> None:
    process = child(SERVES)
    process.start(ready_timeout=20)
    assert process.pid is not None
    os.kill(process.pid, 9)
    with pytest.raises(RuntimeError, match="exited with status -9 while serving"):
        process.check("while serving", grace=5)
    process.stop()


def test_a_command_that_cannot_run_is_an_os_error(tmp_path: Path) -> None:
    process = EndpointProcess([tmp_path / "missing"], name="missing")
    with pytest.raises(OSError):
        process.start(ready_timeout=1)
    assert not process.running
