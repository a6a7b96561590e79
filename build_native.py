"""Build gokpl's native parts into a package directory.

`python build_native.py DIR` (what `make build` runs for the editable
install), and setup.py's build step for wheels and `pip install`:

- libgokpl.so, the Go engine and its C ABI (go build -buildmode=c-shared);
- _gokpl_cffi.abi3.so, a cffi extension module compiled against gokpl.h and
  linked to the library beside it (calls through it cost a fraction of
  cffi's ABI mode); it uses CPython's stable ABI;
- _fastpath.abi3.so, the C half of SyncOutcome (python/gokpl/_fastpath.c),
  also on the stable ABI; it reaches the library through addresses handed
  to it at load time, so it links to nothing;
- kinesistest, the fake Kinesis endpoint that gokpl.testing runs;
- options.json, the option table.

GOKPL_STRIP=1 (set by `make wheel`) leaves the symbol table and debug
information out of the Go programs, which makes the wheel much smaller.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
LIBRARY = "libgokpl.so"
FAKE_ENDPOINT = "kinesistest"
EXTENSION = "_gokpl_cffi.abi3.so"
FASTPATH_EXTENSION = "_fastpath.abi3.so"
GENERATED = ("options.json", LIBRARY, FAKE_ENDPOINT, EXTENSION, FASTPATH_EXTENSION)


def build_native(package_dir: Path) -> None:
    """Build libgokpl.so, the two extension modules and the fake endpoint into package_dir, with options.json."""
    package_dir = package_dir.resolve()
    go = os.environ.get("GO", shutil.which("go") or "go")
    if shutil.which(go) is None and not Path(go).exists():
        sys.exit("gokpl: building needs the Go toolchain (https://go.dev/dl/) on PATH, or GO=/path/to/go")
    package_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "core" / "options.json", package_dir / "options.json")
    with tempfile.TemporaryDirectory() as tmp:
        go_build(go, ["-buildmode=c-shared", "./capi"], Path(tmp) / LIBRARY, cgo=True)
        go_build(go, ["./core/kinesistest/cmd/kinesistest"], Path(tmp) / FAKE_ENDPOINT, cgo=False)
        install(Path(tmp) / LIBRARY, package_dir)
        install(Path(tmp) / FAKE_ENDPOINT, package_dir)
    build_extension(package_dir)
    build_fastpath_extension(package_dir)


def go_build(go: str, args: list[str], output: Path, cgo: bool) -> None:
    cmd = [go, "build", "-trimpath", "-o", str(output), *args]
    if os.environ.get("GOKPL_STRIP") == "1":  # release builds: no symbol table or DWARF (panics still name functions)
        cmd[2:2] = ["-ldflags=-s -w"]
    print("gokpl:", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, CGO_ENABLED="1" if cgo else "0"), check=True)


def install(built: Path, package_dir: Path) -> None:
    """Move a built file into package_dir by renaming, never by rewriting in
    place: a process that has the old library mapped keeps it intact."""
    staged = package_dir / f".{built.name}.new"
    shutil.copyfile(built, staged)
    shutil.copymode(built, staged)
    os.replace(staged, package_dir / built.name)


# Calls that never block and take about a microsecond: through them the
# extension keeps the GIL. Releasing it for so short a call costs more than
# the call, and with many Python threads putting, every release hands the
# GIL to another thread and back (a convoy).
KEEP_GIL = ("gokpl_producer_put_quick", "gokpl_outcome_state", "gokpl_outcomes_free")


def build_extension(package_dir: Path) -> None:
    """Compile the cffi extension module _gokpl_cffi, linked to the libgokpl.so beside it."""
    import cffi
    from cffi import ffiplatform

    sys.path.insert(0, str(ROOT / "python" / "gokpl"))
    try:
        from _cdef import CDEF  # the declarations, without importing the gokpl package
    finally:
        sys.path.pop(0)
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_gokpl_cffi", '#include "gokpl.h"')
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "_gokpl_cffi.c"
        ffi.emit_c_code(str(source))
        source.write_text(keep_gil(source.read_text(), KEEP_GIL))
        extension = ffiplatform.get_extension(
            str(source),
            "_gokpl_cffi",
            include_dirs=[str(ROOT / "capi")],
            library_dirs=[str(package_dir)],
            libraries=["gokpl"],
            extra_link_args=["-Wl,-rpath,$ORIGIN"],
            py_limited_api=True,
        )
        compile_extension(tmp, extension, package_dir, EXTENSION)


def build_fastpath_extension(package_dir: Path) -> None:
    """Compile the extension module _fastpath, the C half of SyncOutcome."""
    from setuptools import Extension

    extension = Extension(
        "_fastpath",
        sources=[str(ROOT / "python" / "gokpl" / "_fastpath.c")],
        extra_compile_args=["-O2", "-Wall", "-Werror"],
        # It calls nothing from libc, but auditwheel tells which libc a
        # wheel needs from its extensions' needed libraries.
        extra_link_args=["-Wl,--no-as-needed", "-lc"],
        py_limited_api=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        compile_extension(tmp, extension, package_dir, FASTPATH_EXTENSION)


def compile_extension(tmp: str, extension: Any, package_dir: Path, name: str) -> None:
    """Compile extension in the directory tmp and install it into package_dir as name."""
    from cffi import ffiplatform

    cwd = os.getcwd()
    saved = os.environ.get("LDSHARED")
    os.environ["LDSHARED"] = link_command()
    os.chdir(tmp)  # setuptools reads the configuration files of the current directory
    try:
        built = Path(ffiplatform.compile(tmp, extension))
    finally:
        os.chdir(cwd)
        if saved is None:
            del os.environ["LDSHARED"]
        else:
            os.environ["LDSHARED"] = saved
    install(built.rename(built.with_name(name)), package_dir)


def link_command() -> str:
    """The interpreter's command for linking extension modules ($LDSHARED, else its build's), without
    the run paths it was built with: an interpreter built into its own prefix (pyenv's) names its lib
    directory there, which an extension module does not need and a wheel should not carry."""
    import shlex
    import sysconfig

    command = os.environ.get("LDSHARED") or sysconfig.get_config_var("LDSHARED") or "cc -shared"
    return shlex.join(arg for arg in shlex.split(command) if not arg.startswith(("-Wl,-rpath,", "-Wl,-R")))


def keep_gil(source: str, names: tuple[str, ...]) -> str:
    """cffi's generated source with the GIL kept through calls to the named functions.

    cffi releases the GIL around every call (Py_BEGIN_ALLOW_THREADS ...
    Py_END_ALLOW_THREADS in each wrapper). Should a cffi version generate
    wrappers of another shape, the source is left as it is, with a warning:
    the calls then release the GIL, which is correct, only slower.
    """
    out = source
    for name in names:
        start = out.find(f"\n_cffi_f_{name}(PyObject")
        end = out.find("\n}\n", start)
        body = out[start:end]
        release, reacquire = "  Py_BEGIN_ALLOW_THREADS\n", "  Py_END_ALLOW_THREADS\n"
        if start < 0 or body.count(release) != 1 or body.count(reacquire) != 1:
            print(f"gokpl: warning: cffi's wrapper of {name} has an unexpected shape; it releases the GIL")
            return source
        out = out[:start] + body.replace(release, "").replace(reacquire, "") + out[end:]
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python build_native.py PACKAGE_DIR")
    build_native(Path(sys.argv[1]))
