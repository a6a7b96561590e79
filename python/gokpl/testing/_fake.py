"""FakeKinesis: the packaged fake Kinesis endpoint as a child process, for tests.

FakeKinesis runs ``kinesistest``, the fake endpoint shipped in the package,
on a free loopback port through EndpointProcess, and is a ControlClient of
it. Nothing here loads gokpl's shared library; config() only builds a
Config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from .._config import Config
from ._control import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, ControlClient, FakeKinesisError
from ._endpoint_process import EndpointProcess

_BINARY_NAME = "kinesistest"
_BINARY_ENV = "GOKPL_KINESISTEST_BIN"


class FakeKinesis(ControlClient):
    """A fake Kinesis endpoint in a child process, for tests.

    ``streams`` maps stream names to shard counts, created ACTIVE at start.
    ``max_record_size_kib`` maps some of them to a maximum record size in
    KiB (data plus partition key) other than the service's default 1024, up
    to 10240. The endpoint holds writes to the service's limits, so a
    record over its stream's maximum, or a PutRecords request over 500
    records or 10 MiB, is rejected as a whole with the service's
    ValidationException or InvalidArgumentException.
    ``discard=True`` keeps only counts (see stats()), not records, for load
    tests. ``shard_rate_limit=True`` throttles writes beyond the service's
    per-shard limits (1000 records and 1 MiB per second). ``binary`` is the
    ``kinesistest`` program, by default the one shipped in the package
    (or the one ``GOKPL_KINESISTEST_BIN`` names). ``host`` and ``port``
    choose where it listens: a free loopback port by default. start()
    waits up to ``start_timeout`` seconds for it to listen.

    A context manager; start() and stop() do the same by hand. The child
    stops when stop() is called, when this object is garbage collected,
    at interpreter exit, and, since it stops when its standard input
    closes, when the test process dies in any way. Each start() is a fresh
    endpoint: nothing is kept across a stop().

    The control methods may be called from any thread. A method called on a
    child that died raises FakeKinesisError with its exit status and output.
    """

    def __init__(
        self,
        streams: Mapping[str, int] | None = None,
        *,
        max_record_size_kib: Mapping[str, int] | None = None,
        discard: bool = False,
        shard_rate_limit: bool = False,
        binary: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 10.0,
    ) -> None:
        self.streams = {str(name): int(shards) for name, shards in (streams or {}).items()}
        self.max_record_size_kib = {str(name): int(kib) for name, kib in (max_record_size_kib or {}).items()}
        unknown = sorted(set(self.max_record_size_kib) - set(self.streams))
        if unknown:
            raise ValueError(f"max_record_size_kib names streams that streams does not: {', '.join(unknown)}")
        self.discard = discard
        self.shard_rate_limit = shard_rate_limit
        self.binary = Path(binary) if binary is not None else _default_binary()
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self._process: EndpointProcess | None = None
        self._endpoint_url: str | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeKinesis:
        """Start the endpoint and wait until it listens; returns self."""
        if self.running:
            raise FakeKinesisError("the fake Kinesis endpoint is already running")
        self.stop()  # one that died: release what is left of it
        _check_binary(self.binary)
        process = EndpointProcess(
            _command(self),
            name=f"the fake Kinesis endpoint ({self.binary})",
            error=lambda message, status: FakeKinesisError(message),
        )
        ready = process.start(self.start_timeout)
        try:
            url = str(ready["endpoint_url"])
        except KeyError:
            process.stop()
            raise FakeKinesisError(f"the fake Kinesis endpoint printed {ready!r}, not its address") from None
        self._process, self._endpoint_url = process, url
        return self

    def stop(self) -> None:
        """Stop the endpoint and wait for the child to exit; a no-op if it is not running."""
        process, self._process, self._endpoint_url = self._process, None, None
        if process is not None:
            process.stop()

    def __enter__(self) -> FakeKinesis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._endpoint_url or "stopped"
        return f"<FakeKinesis {state} streams={self.streams!r}>"

    @property
    def running(self) -> bool:
        """Whether the endpoint was started, not stopped, and its process is alive."""
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, for Config(endpoint_url=...) or boto3's endpoint_url."""
        if self._endpoint_url is None:
            raise FakeKinesisError(
                "the fake Kinesis endpoint is not running: use it as a context manager or start() it"
            )
        return self._endpoint_url

    def check(self, grace: float = 0.0) -> None:
        """Raise FakeKinesisError if the endpoint is not running or its process died.

        ``grace`` is how long to give a process that is still exiting to be
        seen dead (a refused or reset connection can come before its exit
        status does).
        """
        url = self.endpoint_url
        if self._process is not None:
            self._process.check(f"while serving {url}", grace)

    def _explain_unreachable(self) -> None:
        self.check(grace=1.0)

    # -- clients -------------------------------------------------------------

    def config(self, **overrides: Any) -> Config:
        """A gokpl Config for this endpoint: region us-east-1 and dummy credentials, ``overrides`` winning."""
        options: dict[str, Any] = {
            "region": REGION,
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }
        options.update(overrides)
        return Config(**options)

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client("kinesis", **kwargs)`` against this endpoint."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }


def _default_binary() -> Path:
    """The kinesistest that GOKPL_KINESISTEST_BIN names, else the one shipped in the package."""
    override = os.environ.get(_BINARY_ENV)
    if override:
        return Path(override)
    return Path(__file__).parent.parent / _BINARY_NAME


def _check_binary(binary: Path) -> None:
    if not binary.is_file():
        raise FakeKinesisError(
            f"the fake Kinesis endpoint {binary} is missing. It is built with the package: in a source "
            f"checkout run 'make build' (or 'python build_native.py python/gokpl'), which needs Go; "
            f"an installed gokpl has it unless the build left it out. Or pass FakeKinesis(binary=...) "
            f"or set {_BINARY_ENV}"
        )
    if not os.access(binary, os.X_OK):
        raise FakeKinesisError(f"the fake Kinesis endpoint {binary} is not executable")


def _command(fake: FakeKinesis) -> list[str]:
    """The kinesistest command line that serves fake's streams, as fake's settings say."""
    args = [str(fake.binary), "--addr", f"{fake.host}:{fake.port}", "--region", REGION, "--account-id", ACCOUNT_ID]
    for name, shards in fake.streams.items():
        kib = fake.max_record_size_kib.get(name)
        args += ["--stream", f"{name}:{shards}" if kib is None else f"{name}:{shards}:{kib}"]
    if fake.discard:
        args.append("--discard")
    if fake.shard_rate_limit:
        args.append("--shard-rate-limit")
    return args
