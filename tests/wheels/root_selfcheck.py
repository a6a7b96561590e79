"""Check a Debian arm64 root without a gokpl wheel: what run_arm64.sh relies on.

    python3 root_selfcheck.py KINESISTEST

Run inside the root (under qemu) by ``run_arm64.sh --selfcheck``: the
interpreter is aarch64; a virtualenv can be made and cffi installed into it
from the package index and imported; KINESISTEST, an aarch64 build of the
fake endpoint, starts on 127.0.0.1 and answers the Kinesis API over
loopback; a multiprocessing 'spawn' child runs. Prints PASS/FAIL lines and
a summary; exits 1 if anything failed.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request

# The machine the root runs as; EXPECTED_MACHINE=x86_64 tries the script natively.
EXPECTED = os.environ.get("EXPECTED_MACHINE", "aarch64")


def machine() -> str:
    assert platform.machine() == EXPECTED, platform.machine()
    return f"python {platform.python_version()} on {platform.machine()}"


def venv_with_cffi() -> str:
    folder = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "venv", folder], check=True)
    subprocess.run(
        [f"{folder}/bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "cffi"], check=True
    )
    out = subprocess.run(
        [f"{folder}/bin/python", "-c", "import cffi, platform; print(cffi.__version__, platform.machine())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out.endswith(EXPECTED), out
    return f"cffi {out} from the package index"


def fake_endpoint(binary: str) -> str:
    proc = subprocess.Popen(
        [binary, "--addr", "127.0.0.1:0", "--region", "us-east-1", "--account-id", "123456789012", "--stream", "s:2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["endpoint_url"]
        request = urllib.request.Request(
            url,
            data=json.dumps({"StreamName": "s"}).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "Kinesis_20131202.ListShards",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/kinesis/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        shards = json.loads(opener.open(request, timeout=30).read())["Shards"]
        assert len(shards) == 2, shards
        return f"{url}: ListShards gave {[s['ShardId'] for s in shards]}"
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def child(queue: object) -> None:
    queue.put(platform.machine())  # type: ignore[attr-defined]


def spawn() -> str:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    got = queue.get(timeout=60)
    proc.join(30)
    assert proc.exitcode == 0 and got == EXPECTED, (proc.exitcode, got)
    return "a spawn child ran"


def main() -> int:
    checks = {
        "interpreter": machine,
        "venv + cffi": venv_with_cffi,
        "fake endpoint": lambda: fake_endpoint(sys.argv[1]),
        "spawn": spawn,
    }
    failed = []
    for name, check in checks.items():
        started = time.monotonic()
        try:
            detail = check()
            ok = True
        except Exception as exc:  # every failure is reported
            detail, ok = f"{type(exc).__name__}: {exc}", False
            failed.append(name)
        print(f"{'PASS' if ok else 'FAIL'}  {name:<20} {time.monotonic() - started:6.2f} s  {detail}", flush=True)
    print(f"\n{'FAIL' if failed else 'PASS'}: root self-check, {len(checks) - len(failed)} of {len(checks)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
