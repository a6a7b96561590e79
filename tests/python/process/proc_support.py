"""Helpers for the process tests: running scripts, reading /proc, waiting for servers.

Every test in this directory runs real programs (python scripts, gunicorn,
celery, Django's server, a Jupyter kernel) as child processes and checks
them from the outside: exit status, timings, what reached the fake endpoint.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

# Loopback requests never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child: this one, test credentials, no proxy, and extra."""
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_script(code: str, env: dict[str, str], timeout: float = 60, args: tuple[str, ...] = ()) -> Any:
    """Run python -c code (dedented) and return the CompletedProcess (text)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def lines_with(prefix: str, text: str) -> list[str]:
    """The rest of each line of text that starts with prefix."""
    return [line[len(prefix) :].strip() for line in text.splitlines() if line.startswith(prefix)]


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def library_loaded(pid: int) -> bool:
    """Whether the process has libgokpl mapped."""
    return "libgokpl" in Path(f"/proc/{pid}/maps").read_text()


def children_of(pid: int) -> list[int]:
    """Direct child processes of pid."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """One HTTP request; returns (status, headers, decoded JSON body or text)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with _OPENER.open(request, timeout=30) as response:
        raw = response.read()
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw.decode()
        return response.status, dict(response.headers), payload


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Wait until url answers (any status), failing early if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before answering")
        try:
            _OPENER.open(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {timeout}s")


@contextmanager
def server(args: list[str], env: dict[str, str], cwd: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """Run a server process; kill it (and its process group) if the test leaves it running."""
    proc = subprocess.Popen(
        args,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def stop(proc: subprocess.Popen[str], sig: int, timeout: float) -> tuple[float, str]:
    """Send sig to proc, wait for it to exit; return (seconds it took, its output)."""
    sent = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=timeout)
    return time.monotonic() - sent, out
