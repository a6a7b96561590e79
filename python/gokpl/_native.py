"""The one door to libgokpl: lazy loading, fork detection and reusable call buffers.

Nothing here runs at import time except registering a fork hook: the shared
library (and with it the Go runtime) loads on the first call that needs it,
normally the first put. A process forked after that point cannot use the
library (the Go runtime does not survive fork), so every call in such a child
raises ForkedProcessError instead of hanging. Statuses become exceptions in
_status; the C fast path (_fastpath) gets the library's addresses from here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import ForkedProcessError, LibraryLoadError
from ._version import __version__

try:
    from . import _fastpath
except ImportError as exc:  # a source checkout that was never built
    raise ImportError(
        f"gokpl's extension module _fastpath is not built ({exc}); "
        "install with 'pip install .', or run 'make build' in a checkout"
    ) from exc

ABI_VERSION = 3
ERROR_BUFFER_SIZE = 2048
#: Room for a result's or an attempt's strings; a longer error message grows it.
STRINGS_SIZE = 512

_lock = threading.Lock()
# After the first load these are the cffi FFI and library objects; hot paths
# read them as module attributes (no call, no check), which is why a fork
# replaces _lib with an object that raises ForkedProcessError on any use.
_ffi: Any = None
_lib: Any = None
_loaded_in_pid: int | None = None
_forked_after_load = False
# ffi.unpack without the Python wrapper around it: (char *, length) -> bytes.
_unpack: Callable[[Any, int], bytes] = None  # type: ignore[assignment]


class _ForkedLibrary:
    """Stands in for the library in a process forked after it was loaded."""

    def __getattr__(self, name: str) -> Any:
        raise _forked_error()


def _forked_error() -> ForkedProcessError:
    return ForkedProcessError(
        "gokpl was loaded in this process's parent before it forked, and the Go runtime "
        "does not survive fork(). Create the SyncProducer in the child process "
        "(after the fork, e.g. in a gunicorn post_fork hook or a Celery worker_process_init "
        "signal), or use the 'spawn' start method."
    )


def _after_fork_in_child() -> None:
    global _forked_after_load, _lib
    if _lib is not None:
        _forked_after_load = True
        _lib = _ForkedLibrary()
    _fastpath.forget()  # the parent's functions and handles mean nothing here


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def is_loaded() -> bool:
    """Whether this process has loaded the shared library."""
    return _lib is not None


def library_path() -> Path:
    """Where the shared library is: $GOKPL_LIBRARY, else inside the package."""
    override = os.environ.get("GOKPL_LIBRARY")
    if override:
        return Path(override)
    return Path(__file__).with_name("libgokpl.so")


def ffi_lib() -> tuple[Any, Any]:
    """Return (ffi, lib), loading the library on first use."""
    if _forked_after_load or (_loaded_in_pid is not None and _loaded_in_pid != os.getpid()):
        raise _forked_error()
    if _lib is None:
        _load()
    return _ffi, _lib


def _load() -> None:
    global _ffi, _lib, _loaded_in_pid, _unpack
    with _lock:
        if _lib is not None:
            return
        path = library_path()
        try:
            ffi, lib = _open(path)
        except OSError as exc:
            raise LibraryLoadError(
                f"cannot load gokpl's shared library {path}: {exc}. Reinstall gokpl "
                "(pip install builds it with Go) or set GOKPL_LIBRARY."
            ) from exc
        _check_versions(ffi, lib, path)
        _configure_fastpath(ffi, lib)
        _unpack = getattr(ffi, "_backend", ffi).unpack  # ABI mode wraps it in Python
        _ffi, _lib, _loaded_in_pid = ffi, lib, os.getpid()


def _open(path: Path) -> tuple[Any, Any]:
    """The (ffi, lib) pair for the library at path.

    The package's own library is reached through the compiled extension
    module built beside it (its calls cost a fraction of ABI mode's); a
    library named by GOKPL_LIBRARY, or a package built without the
    extension, is opened with cffi's ABI mode, with the declarations
    derived from the copy of gokpl.h installed in the package.
    """
    if path == Path(__file__).with_name("libgokpl.so"):
        try:
            from . import _gokpl_cffi  # type: ignore[attr-defined]
        except ImportError as exc:
            if path.exists() and Path(__file__).with_name("_gokpl_cffi.abi3.so").exists():
                raise OSError(str(exc)) from exc
        else:
            return _gokpl_cffi.ffi, _gokpl_cffi.lib
    from ._cdef import new_ffi

    ffi = new_ffi(Path(__file__).with_name("gokpl.h").read_text())
    return ffi, ffi.dlopen(str(path))


def _check_versions(ffi: Any, lib: Any, path: Path) -> None:
    buf = ffi.new("char[]", 64)
    lib.gokpl_version(buf, 64)
    version = ffi.string(buf).decode()
    abi = lib.gokpl_abi_version()
    if version != __version__ or abi != ABI_VERSION:
        raise LibraryLoadError(
            f"{path} is gokpl {version} (ABI {abi}) but the Python package is {__version__} "
            f"(ABI {ABI_VERSION}); rebuild with 'pip install .' so both come from one source tree"
        )


def _configure_fastpath(ffi: Any, lib: Any) -> None:
    """Hand the C fast path (_fastpath.c) the three library functions it calls."""

    def address(name: str) -> int:
        try:
            function = ffi.addressof(lib, name)  # the compiled extension's library
        except (AttributeError, TypeError):
            function = getattr(lib, name)  # ABI mode: already a function pointer
        return int(ffi.cast("uintptr_t", function))

    _fastpath.configure(
        address("gokpl_outcome_state"), address("gokpl_outcomes_free"), address("gokpl_producer_put_quick")
    )


def unavailable() -> None:
    """Raise why the library cannot be called: the process was forked after
    it loaded, or it has not been loaded yet."""
    if _forked_after_load:
        raise _forked_error()
    raise RuntimeError("gokpl: the library is not loaded")


class Scratch:
    """Out-parameters and buffers for native calls, reused instead of allocated per call.

    A call takes one with take_scratch() and gives it back with
    give_scratch() when it has read what it needs. Each call owns the one it
    took, so threads, signal handlers and finalizers that call in meanwhile
    never share it; a scratch not given back (an exception in between) is
    simply dropped.
    """

    __slots__ = ("err", "flag", "handle", "i64", "result", "strings")

    def __init__(self) -> None:
        ffi = _ffi
        self.err = ffi.new("char[]", ERROR_BUFFER_SIZE)
        self.handle = ffi.new("uint64_t *")
        self.flag = ffi.new("int32_t *")
        self.i64 = ffi.new("int64_t *")
        self.result = ffi.new("gokpl_result *")
        self.strings = ffi.new("char[]", STRINGS_SIZE)


_scratches: list[Scratch] = []

#: Dropped outcomes' handles are freed this many at a time.
RELEASE_BATCH: int = _fastpath.RELEASE_BATCH


def free_released() -> None:
    """Free the handles of collected outcomes now rather than with the next batch.

    Dropping a SyncOutcome queues its handle; every 256th drop frees the
    queue in one native call (gokpl/_fastpath.c). A producer's close
    frees what is queued.
    """
    if _lib is None or _forked_after_load:
        return
    _fastpath.free_released()


def take_scratch() -> Scratch:
    """A Scratch for this call (the library must be loaded)."""
    try:
        return _scratches.pop()
    except IndexError:
        return Scratch()


def give_scratch(scratch: Scratch) -> None:
    """Return a Scratch taken with take_scratch."""
    _scratches.append(scratch)


def error_buffer() -> Any:
    """A fresh error message buffer of ERROR_BUFFER_SIZE bytes, for calls off the hot path."""
    ffi, _ = ffi_lib()
    return ffi.new("char[]", ERROR_BUFFER_SIZE)


def message(buf: Any) -> str:
    """The NUL-terminated message a failing call wrote into buf."""
    ffi, _ = ffi_lib()
    return str(ffi.string(buf).decode("utf-8", "replace"))


def forked() -> bool:
    """Whether this process was forked after its parent loaded the library."""
    return _forked_after_load
