"""Run the Kinesis emulators (kinesis-mock, moto) for Python tests.

``KinesisMock`` starts the ``kinesismock`` command (built from
``internal/kinesismock/cmd/kinesismock``), which runs kinesis-mock on free
loopback ports and reports where it listens.  ``MotoKinesis`` runs moto's
server (``moto[server]`` from PyPI, installed by ``make venv``) the same way:
this file, run as ``python emulator.py moto``, starts it on a free loopback
port with moto's ``ThreadedMotoServer`` and reports where it listens.  The
module needs only the standard library and gokpl (whose
``gokpl.testing`` EndpointProcess runs the children), so it works without
boto3, and has no pytest dependency.  A fixture would look like::

    @pytest.fixture
    def kinesis():
        try:
            mock = KinesisMock(streams={"s1": 2})
        except EmulatorNotInstalled as e:
            if os.environ.get("CI") == "true":
                pytest.fail(str(e))
            pytest.skip(f"KINESIS EMULATOR NOT INSTALLED: {e}")
        with mock:
            yield mock

The command binary is taken from the ``binary`` argument, else
``$GOKPL_KINESISMOCK_BIN``, else ``build/kinesismock`` under the repository
root (``make`` builds it; ``make emulator`` installs the emulator itself).
moto is run by the ``python`` argument, else this interpreter.

Both speak one protocol with their child process: the child prints one JSON
line (``endpoint_url``, ``region``) once it serves requests, exits with
status 2 when the emulator is not installed, and stops when its standard
input closes.  An emulator object owns one child process.  The process is
stopped by ``close()`` (also on leaving the ``with`` block, on garbage
collection and at interpreter exit); if this Python process dies without any
of those, the child sees end of file on its stdin and stops itself.  ``call``
and ``create_stream`` make independent HTTP requests and may be used from
several threads; ``close`` is idempotent.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TypeVar

from gokpl.testing._endpoint_process import EndpointProcess

__all__ = [
    "EmulatorError",
    "EmulatorNotInstalled",
    "KinesisApiError",
    "KinesisMock",
    "MotoKinesis",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY_ENV = "GOKPL_KINESISMOCK_BIN"
DEFAULT_BINARY = REPO_ROOT / "build" / "kinesismock"

_EXIT_NOT_INSTALLED = 2  # a child's exit status when its emulator is missing
_READY_TIMEOUT = 90.0  # the kinesismock command itself gives up after 60 s
_MOTO_READY_TIMEOUT = 60.0  # moto imports in a few seconds even on a loaded machine
_MOTO_REGION = "us-east-1"
_STOP_TIMEOUT = 10.0
_STREAM_TIMEOUT = 30.0
_HTTP_TIMEOUT = 10.0
_TARGET_PREFIX = "Kinesis_20131202."

# Loopback requests must never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not behave."""


class EmulatorNotInstalled(EmulatorError):
    """The command binary or the emulator it runs is missing.

    Tests should fail on this when ``CI=true`` and skip otherwise.
    """


class KinesisApiError(EmulatorError):
    """The emulator answered a Kinesis API call with an error."""

    def __init__(self, operation: str, status: int, code: str, message: str):
        super().__init__(f"{operation}: HTTP {status} {code}: {message}")
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message


_E = TypeVar("_E", bound="_Emulator")


class _Emulator:
    """What both emulators share: the child process that runs one, its
    ready line, its stop, and signed Kinesis API calls to it."""

    #: Dummy credentials. The emulators require requests to be signed but do
    #: not check signatures; a 12-digit access key id would select another
    #: emulated account in kinesis-mock, so this one is not 12 digits.
    access_key_id = "gokpl-test"
    secret_access_key = "gokpl-test"

    #: The child's name in error messages.
    _name = "emulator"

    endpoint_url: str
    region: str

    def __init__(self) -> None:
        self.endpoint_url = ""
        self.region = ""
        self._process: EndpointProcess | None = None

    def _start(self, args: list[str], ready_timeout: float) -> dict[str, str]:
        """Run the child and return its ready line; close() stops it."""
        self._process = EndpointProcess(args, name=self._name, error=_emulator_error, cwd=REPO_ROOT,
                                        stop_timeout=_STOP_TIMEOUT)  # fmt: skip
        try:
            info = self._process.start(ready_timeout)
        except OSError as e:
            raise EmulatorNotInstalled(f"cannot run {args[0]}: {e}") from e
        self.endpoint_url = info["endpoint_url"]
        self.region = info["region"]
        return info

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint_url={self.endpoint_url!r})"

    def close(self) -> None:
        """Stop the emulator and wait for it; idempotent."""
        if self._process is not None:
            self._process.stop()

    def create_stream(self, name: str, shards: int) -> None:
        """Create a provisioned stream and return once it is ACTIVE."""
        self.call("CreateStream", {"StreamName": name, "ShardCount": int(shards)})
        deadline = time.monotonic() + _STREAM_TIMEOUT
        last = ""
        while True:
            try:
                out = self.call("DescribeStreamSummary", {"StreamName": name})
                status = out["StreamDescriptionSummary"]["StreamStatus"]
                if status == "ACTIVE":
                    return
                last = f"status {status}"
            except KinesisApiError as e:
                if e.code != "ResourceNotFoundException":
                    raise
                last = str(e)
            if time.monotonic() > deadline:
                raise EmulatorError(f"stream {name!r} not ACTIVE after {_STREAM_TIMEOUT:.0f}s ({last})")
            time.sleep(0.025)

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Make one Kinesis API call (JSON 1.1 over plain HTTP, SigV4-signed).

        ``operation`` is the API action, e.g. ``"ListShards"``; blobs in
        ``body`` and in the result are base64 strings, as on the wire.
        Raises ``KinesisApiError`` when the emulator answers with an error.
        """
        if not self.endpoint_url:
            raise EmulatorError("emulator is not running")
        data = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": _TARGET_PREFIX + operation,
        }
        headers.update(
            _sigv4_headers(
                self.endpoint_url + "/",
                headers,
                data,
                self.region,
                self.access_key_id,
                self.secret_access_key,
            )
        )
        req = urllib.request.Request(self.endpoint_url + "/", data=data, headers=headers, method="POST")
        try:
            with _OPENER.open(req, timeout=_HTTP_TIMEOUT) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)
                code = err.get("__type", "").rsplit("#", 1)[-1]
                message = err.get("message") or err.get("Message") or ""
            except ValueError:
                code, message = "", raw.decode(errors="replace")
            raise KinesisApiError(operation, e.code, code or "UnknownError", message) from None
        return json.loads(raw) if raw else {}


class KinesisMock(_Emulator):
    """One running kinesis-mock; a context manager.

    Construction starts the emulator and returns once it serves requests
    and every stream in ``streams`` (name to shard count) is ACTIVE.
    """

    _name = "kinesismock"

    tls_endpoint_url: str

    def __init__(self, streams: dict[str, int] | None = None, binary: str | None = None) -> None:
        super().__init__()
        self.tls_endpoint_url = ""
        path = Path(binary or os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise EmulatorNotInstalled(
                f"kinesismock command not found at {path}: build it with `go build "
                f"-o build/kinesismock ./internal/kinesismock/cmd/kinesismock` "
                f"(or point ${BINARY_ENV} at it) and install the emulator with "
                f"`make emulator`"
            )
        args = [str(path)]
        for name, shards in sorted((streams or {}).items()):
            args += ["--stream", f"{name}:{int(shards)}"]
        info = self._start(args, _READY_TIMEOUT)
        self.tls_endpoint_url = info["tls_endpoint_url"]


class MotoKinesis(_Emulator):
    """One running moto server, Kinesis and every other service moto
    emulates on one endpoint (region us-east-1, account 123456789012); a
    context manager.

    Construction starts it and returns once it serves requests and every
    stream in ``streams`` (name to shard count) is ACTIVE. ``python`` is the
    interpreter with ``moto[server]`` installed (default: this one). moto
    serves each request on a thread of its own.
    """

    _name = "moto"

    def __init__(self, streams: dict[str, int] | None = None, python: str | None = None) -> None:
        super().__init__()
        self._start([python or sys.executable, str(Path(__file__).resolve()), "moto"], _MOTO_READY_TIMEOUT)
        for name, shards in sorted((streams or {}).items()):
            self.create_stream(name, shards)


def _serve_moto() -> int:
    """The child of MotoKinesis: moto's server on a free loopback port, until stdin closes."""
    # This file's folder is first on sys.path; none of its modules is moto's.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as e:
        print(
            f"moto's server (moto[server], in pyproject.toml's test extra) is not installed for {sys.executable}: {e}",
            file=sys.stderr,
        )
        return _EXIT_NOT_INSTALLED
    import logging

    # Request lines are noise; tracebacks of requests moto failed stay on stderr.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"endpoint_url": f"http://{host}:{port}", "region": _MOTO_REGION}), flush=True)
    sys.stdin.buffer.read()  # until end of file: the parent closed stdin, or died
    server.stop()
    return 0


def _emulator_error(message: str, status: int | None) -> EmulatorError:
    """The error of a child that failed: EmulatorNotInstalled when it says its emulator is missing."""
    return EmulatorNotInstalled(message) if status == _EXIT_NOT_INSTALLED else EmulatorError(message)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _sigv4_headers(
    url: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    access_key: str,
    secret_key: str,
    service: str = "kinesis",
) -> dict[str, str]:
    """Return the X-Amz-Date and Authorization headers signing a POST."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urllib.parse.urlsplit(url)
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        [
            "POST",
            parts.path or "/",
            parts.query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            signed_headers,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Amz-Date": amz_date,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
    }


if __name__ == "__main__":
    if sys.argv[1:] != ["moto"]:
        sys.exit("usage: python emulator.py moto")
    sys.exit(_serve_moto())
