"""Importing gokpl, constructing and entering a producer load no native code.

This is what makes a module-level producer safe under gunicorn --preload and
Celery's prefork pool: the Go runtime must start only in the process that puts.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_does_not_load_the_library() -> None:
    out = run(
        """
        import sys
        import gokpl
        from gokpl import Config, SyncProducer
        maps = open("/proc/self/maps").read()
        print("libgokpl" in maps, gokpl._native.is_loaded(), "cffi" in sys.modules)
        """
    )
    assert out == "False False False"


def test_constructing_and_entering_does_not_load_the_library() -> None:
    out = run(
        """
        from gokpl import Config, SyncProducer
        producer = SyncProducer(Config(region="us-east-1"))
        producer.__enter__()
        producer.flush(timeout=1)
        print(producer.outstanding_records, "libgokpl" in open("/proc/self/maps").read())
        producer.close()
        print("libgokpl" in open("/proc/self/maps").read())
        """
    )
    assert out.split() == ["0", "False", "False"]


def test_first_put_loads_the_library() -> None:
    out = run(
        """
        from gokpl import Config, SyncProducer
        with SyncProducer(Config(region="us-east-1", endpoint_url="http://127.0.0.1:9")) as producer:
            producer.put_record(stream="s", partition_key="k", data=b"x").cancel()
            print("libgokpl" in open("/proc/self/maps").read())
        """
    )
    assert out == "True"


def test_an_outcome_made_before_the_library_loads_raises_instead_of_crashing() -> None:
    # SyncOutcome's C base reaches the library through addresses it gets at
    # load time; without them every call must raise, not crash or return
    # without an exception.
    out = run(
        """
        from gokpl._outcome import SyncOutcome
        outcome = SyncOutcome(5, None)
        for call in (outcome.wait, outcome.done, lambda: outcome.wait(0), lambda: outcome.wait(timeout=1.5)):
            try:
                call()
                print("no error")
            except RuntimeError as exc:
                print(exc)
        print(outcome._state)
        """
    )
    assert out.splitlines() == ["gokpl: the library is not loaded"] * 4 + ["-8"]
