"""The asyncio examples (FastAPI under uvicorn, aiohttp under its own runner) as real servers.

Each test starts the server as its users would, sends real HTTP requests,
stops it with a signal and reads back from the fake endpoint what it wrote:
confirmed records in the shard and under the sequence number their answer
named, and fire-and-forget records (buffered for a minute, so that only
the shutdown's flush can send them) delivered when the server stops.
"""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import FakeKinesis
from support import read_back
from test_examples import EXAMPLES, assert_landed_as_answered, example_env, stored_by_data

sys.path.insert(0, str(Path(__file__).resolve().parent / "process"))

from proc_support import free_port, http, server, stop, wait_http

CONFIRMED = 12
FIRE_AND_FORGET = 20


def async_env(fake: FakeKinesis, stream: str, **extra: str) -> dict[str, str]:
    """example_env, with this tree's gokpl and the examples importable from any directory."""
    env = example_env(fake, stream, **extra)
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(EXAMPLES)])
    return env


def uvicorn(port: int, loop: str = "asyncio") -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "fastapi_app:app",
            "--host", "127.0.0.1", "--port", str(port), "--loop", loop]  # fmt: skip


def aiohttp_runner(port: int) -> list[str]:
    return [sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", str(port), "aiohttp_app:make_app"]


def aiohttp_script(port: int) -> list[str]:
    return [sys.executable, str(EXAMPLES / "aiohttp_app.py"), "--port", str(port)]


SERVERS = {
    "uvicorn": uvicorn,
    "uvicorn-uvloop": lambda port: uvicorn(port, "uvloop"),
    "aiohttp.web": aiohttp_runner,
    "aiohttp-script": aiohttp_script,
}


def post_all(url: str, prefix: bytes, count: int) -> list[tuple[int, object]]:
    """POST count events at once from a few threads: (status, body) each, in order."""

    def post(i: int) -> tuple[int, object]:
        status, _, body = http("POST", url, b"%s-%d" % (prefix, i), {"X-User": f"user-{i}"})
        return status, body

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, range(count)))


def assert_stopped_cleanly(returncode: int | None, sig: int, took: float, output: str) -> None:
    """Stopped quickly, after the app's own shutdown, with no traceback and exit status 0 or the signal.

    uvicorn re-raises the signal it caught after its graceful shutdown, as a
    process that had not handled it would have ended.
    """
    assert returncode in (0, -sig), output
    assert "flushed; records left: 0" in output, "the app's shutdown ran: " + output
    assert "Traceback" not in output, output
    assert took < 15, f"the server took {took:.1f}s to stop"


@pytest.mark.parametrize("name", list(SERVERS))
def test_confirmed_events_land_where_their_answers_say(name: str, fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(SERVERS[name](port), async_env(fake_kinesis, fake_stream)) as proc:
        wait_http(base + "/event", proc)
        answers = post_all(base + "/event", b"confirmed", CONFIRMED)
        took, output = stop(proc, signal.SIGTERM, timeout=30)
    assert [status for status, _ in answers] == [200] * CONFIRMED, answers
    assert len({body["pid"] for _, body in answers}) == 1, "one process, one producer"  # type: ignore[index]
    assert_stopped_cleanly(proc.returncode, signal.SIGTERM, took, output)
    datas = [b"confirmed-%d" % i for i in range(CONFIRMED)]
    stored = stored_by_data(fake_kinesis, fake_stream)
    assert_landed_as_answered([body for _, body in answers], datas, stored)  # type: ignore[misc]
    assert [stored[d].partition_key for d in datas] == [f"user-{i}" for i in range(CONFIRMED)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", ["uvicorn", "aiohttp.web"])
def test_fire_and_forget_events_are_delivered_at_shutdown(
    name: str, sig: int, fake_kinesis: FakeKinesis, fake_stream: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = async_env(fake_kinesis, fake_stream, GOKPL_RECORD_MAX_BUFFERED_TIME_MS="60000")
    with server(SERVERS[name](port), env) as proc:
        wait_http(base + "/event", proc)
        answers = post_all(base + "/event/fire-and-forget", b"later", FIRE_AND_FORGET)
        assert read_back(fake_kinesis.endpoint_url, fake_stream) == [], "buffered for a minute: nothing sent yet"
        took, output = stop(proc, sig, timeout=30)
    assert answers == [(202, {"accepted": True})] * FIRE_AND_FORGET, answers
    assert_stopped_cleanly(proc.returncode, sig, took, output)
    assert f"flushing {FIRE_AND_FORGET} records before exit" in output, output
    stored = stored_by_data(fake_kinesis, fake_stream)
    assert sorted(stored) == sorted(b"later-%d" % i for i in range(FIRE_AND_FORGET)), output
