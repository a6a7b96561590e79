"""Release files for several Linux platforms from one x86-64 Linux machine.

`python build_support/wheels.py wheels` (what `make wheels` runs): the sdist,
then from it one cp39-abi3 wheel per platform in PLATFORMS, each built with
zig as the C toolchain (build_native.py's GOKPL_TARGET) and tagged for its
platform, checked with `auditwheel show` (it must find the wheel consistent
with that tag or an older one of the same C library and machine) and
`twine check --strict`.

`python build_support/wheels.py lambda-layers` (`make lambda-layers`): an AWS
Lambda layer per architecture from the manylinux2014 wheels in dist/, with
cffi for that architecture and one Python version (LAYER_PYTHON, 3.12 unless
set), each checked, where the machine can run it, by importing gokpl from
the unpacked layer alone and running the quick start.

Both run with the interpreter of .venv, with the `wheels` dependency group
installed (ziglang among them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
WORK = ROOT / "build" / "wheels"

# platform tag -> zig target
PLATFORMS = {
    "manylinux2014_x86_64": "x86_64-linux-gnu.2.17",
    "manylinux2014_aarch64": "aarch64-linux-gnu.2.17",
    "musllinux_1_2_x86_64": "x86_64-linux-musl",
    "musllinux_1_2_aarch64": "aarch64-linux-musl",
}
# Built and checked, but not released into dist/: Go's runtime cannot start inside a shared library that musl's
# loader loads (the library uses initial-exec TLS, which musl's dlopen refuses, and Go's start-up reads argc and
# argv, which musl does not pass to a library's initializers). These wheels stay in build/wheels/<platform>/built/
# until Go's c-shared mode works with musl; GOKPL_WHEELS_UNRELEASED=1 puts them in dist/ as well.
NOT_RELEASED = {"musllinux_1_2_x86_64", "musllinux_1_2_aarch64"}
# Lambda's names of the architectures, and the wheel each layer is made from
LAYERS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    cmd = [str(a) for a in args]
    print("+", " ".join(arg if "\n" not in arg else "'<script>'" for arg in cmd), flush=True)
    result = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        sys.exit(f"wheels: {cmd[0]} exited with status {result.returncode}")
    return result.stdout


def zig_executable() -> str:
    try:
        import ziglang
    except ImportError:
        sys.exit("wheels: needs the ziglang package: pip install --group wheels (pyproject.toml)")
    zig = Path(ziglang.__file__).parent / "zig"
    if not zig.exists():
        sys.exit(f"wheels: no zig executable at {zig}")
    return str(zig)


def version() -> str:
    """The package's version, as python/gokpl/_version.py (the one place it is written) sets it."""
    match = re.search(r'^__version__ = "([^"]+)"$', (ROOT / "python" / "gokpl" / "_version.py").read_text(), re.M)
    if match is None:
        sys.exit("wheels: python/gokpl/_version.py does not set __version__")
    return match.group(1)


def build_wheels(platforms: list[str]) -> None:
    zig = zig_executable()
    print("wheels: zig", run(zig, "version").strip(), flush=True)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    timings: list[tuple[str, float]] = []

    started = time.monotonic()
    run(sys.executable, "-m", "build", "--sdist", "--outdir", WORK / "sdist", ROOT)
    (sdist,) = (WORK / "sdist").glob("gokpl-*.tar.gz")
    timings.append(("sdist", time.monotonic() - started))

    tools = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    reports = []
    for plat in platforms:
        started = time.monotonic()
        source = WORK / plat / "src"  # a fresh copy per platform: nothing built for another carries over
        source.mkdir(parents=True)
        with tarfile.open(sdist) as archive:
            archive.extractall(source, filter="data") if sys.version_info >= (3, 12) else archive.extractall(source)
        (top,) = source.iterdir()
        built = WORK / plat / "built"
        env = dict(tools, GOKPL_STRIP="1", GOKPL_TARGET=PLATFORMS[plat], GOKPL_ZIG=zig)  # patchelf from tools
        run(sys.executable, "-m", "build", "--wheel", "--outdir", built,
            f"-C--build-option=--plat-name={plat}", top, env=env)  # fmt: skip
        (wheel,) = built.glob("gokpl-*.whl")
        ldpaths = []
        if plat.startswith("musllinux"):
            # zig links musl programs to "libc.so" (musl's loader takes it for itself), which auditwheel
            # allows; it should look for it in no directory, not find a glibc machine's linker script
            (WORK / plat / "no-libraries").mkdir()
            ldpaths = ["--ldpaths", str(WORK / plat / "no-libraries")]
        show = run(sys.executable, "-m", "auditwheel", "show", *ldpaths, wheel, env=tools)
        check_policy(plat, show)
        # auditwheel repair would only add older tags (nothing to graft: the engine links to the C library
        # alone), so the wheel keeps the one it was built for.
        reports.append((wheel, show))
        timings.append((plat, time.monotonic() - started))

    run(sys.executable, "-m", "twine", "check", "--strict", sdist, *(wheel for wheel, _ in reports))
    # dist/ changes only now, all at once: until then it keeps the previous release files
    DIST.mkdir(exist_ok=True)
    for old in [*DIST.glob("gokpl-*.whl"), *DIST.glob("gokpl-*.tar.gz")]:
        old.unlink()
    held = set() if os.environ.get("GOKPL_WHEELS_UNRELEASED") == "1" else NOT_RELEASED
    for built in [sdist, *(wheel for wheel, _ in reports)]:
        if not any(plat in built.name for plat in held):
            shutil.copyfile(built, DIST / built.name)
    print("\nwheels: auditwheel show, per wheel")
    for wheel, show in reports:
        print(f"--- {wheel.name}\n{show.strip()}")
    print("\nwheels: seconds per step:", ", ".join(f"{name} {seconds:.0f}" for name, seconds in timings))
    for path in [sdist, *(wheel for wheel, _ in reports)]:
        where = f"dist/{path.name}" if (DIST / path.name).exists() else f"{path.relative_to(ROOT)} (not in dist/)"
        print(f"{path.stat().st_size:>10}  {where}")
    if held & set(platforms):
        print(
            "wheels: the musllinux wheels are built and pass auditwheel, but Go's runtime does not start in a"
            " library that musl loads, so they are not put in dist/ (docs/install.md)"
        )


# a platform tag's libc and (major, minor), manylinux2014 being manylinux_2_17
def policy(tag: str) -> tuple[str, tuple[int, int], str]:
    tag = tag.replace("manylinux2014_", "manylinux_2_17_").replace("manylinux1_", "manylinux_2_5_")
    libc, major, minor, arch = tag.split("_", 3)
    return libc, (int(major), int(minor)), arch


def check_policy(plat: str, show: str) -> None:
    """auditwheel show must find the wheel consistent with plat or an older tag of the same libc and machine."""
    import re

    found = re.search(r'consistent with the\s+following platform tag:\s+"([^"]+)"', show)
    if found is None:
        sys.exit(f"wheels: auditwheel show names no platform tag for the {plat} wheel")
    libc, version, arch = policy(found.group(1))
    want_libc, want_version, want_arch = policy(plat)
    if (libc, arch) != (want_libc, want_arch) or version > want_version:
        sys.exit(f"wheels: the {plat} wheel is only consistent with {found.group(1)}")
    print(f"wheels: {plat}: auditwheel finds it consistent with {found.group(1)}", flush=True)


def wheel_for(plat: str) -> Path:
    found = sorted(DIST.glob(f"gokpl-{version()}-cp39-abi3-*{plat}*.whl"))
    if len(found) != 1:
        sys.exit(f"wheels: expected one {plat} wheel in dist/, found {[p.name for p in found]}: run `make wheels`")
    return found[0]


def build_layers(python_version: str) -> None:
    tools = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    for arch, plat in LAYERS.items():
        wheel = wheel_for(plat)
        layer = WORK / f"layer-{arch}"
        shutil.rmtree(layer, ignore_errors=True)
        site = layer / "python"  # Lambda puts /opt/python on sys.path
        downloads = layer / "downloads"
        run(sys.executable, "-m", "pip", "download", "--quiet", "--dest", downloads,
            "--only-binary=:all:", "--platform", plat, "--implementation", "cp",
            "--python-version", python_version, "cffi>=1.15", env=tools)  # fmt: skip
        for whl in [wheel, *sorted(downloads.glob("*.whl"))]:
            unpack(whl, site)
        out = DIST / f"gokpl-{version()}-lambda-layer-python{python_version}-{arch}.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(site.rglob("*")):
                if "__pycache__" in path.parts:
                    continue
                info = zipfile.ZipInfo.from_file(path, path.relative_to(layer).as_posix())
                if path.is_dir():
                    archive.writestr(info, b"")
                else:
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
        print(
            f"{out.stat().st_size:>10}  {out.relative_to(ROOT)}  (from {wheel.name}, cffi for CPython {python_version})"
        )
        check_layer(out, arch, python_version)


def unpack(wheel: Path, site: Path) -> None:
    """Install a wheel's files into site as pip would (purelib and platlib alike), keeping file modes."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            target = site / info.filename
            if info.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            mode = info.external_attr >> 16
            if mode:
                target.chmod(mode & 0o777)


QUICK_START = """
import pathlib, sys
import cffi, gokpl
from gokpl import SyncProducer
from gokpl.testing import FakeKinesis

layer = pathlib.Path(sys.argv[1])
assert pathlib.Path(gokpl.__file__).is_relative_to(layer), gokpl.__file__
assert pathlib.Path(cffi.__file__).is_relative_to(layer), cffi.__file__
with FakeKinesis({"orders": 2}) as kinesis:
    with SyncProducer(kinesis.config(record_max_buffered_time_ms=50)) as producer:
        result = producer.put_record(stream="orders", partition_key="user-1", data=b"hello").wait(timeout=10)
    assert result.success, result
ffi, lib = gokpl._native.ffi_lib()
assert type(lib).__name__ == "Lib", "the compiled extension, not ABI mode"
print("layer ok:", sys.version.split()[0], result.shard_id, gokpl._native.library_path())
"""


def find_python(version: str) -> str | None:
    """The executable of CPython `version` (on PATH, or among pyenv's versions), not a launcher such as
    pyenv's shims, which need this PATH."""
    candidates: list[str | Path | None] = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(Path(root).glob(f"versions/{version}.*/bin/python{version}")) if root else []
    for candidate in candidates:
        if candidate:
            found = subprocess.run(
                [candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True
            )
            if found.returncode == 0:
                return found.stdout.strip()
    return None


def check_layer(layer_zip: Path, arch: str, python_version: str) -> None:
    """Unpack the layer and run the quick start with it as the only place gokpl and cffi come from
    (no site-packages: python -S), as Lambda's /opt/python; only where this machine runs the layer."""
    import platform

    python = find_python(python_version)
    native = {"x86_64": "x86_64", "arm64": "aarch64"}[arch] == platform.machine()
    if native and not python and os.environ.get("CI"):
        sys.exit(f"wheels: the {arch} layer must be run here, and no python{python_version} was found")
    if not native or not python:
        print(f"wheels: layer for {arch} not run here (machine {platform.machine()}, python{python_version}: {python})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(layer_zip) as archive:
            archive.extractall(tmp)
        site = Path(tmp) / "python"
        for info in zipfile.ZipFile(layer_zip).infolist():  # extractall drops the modes
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                (Path(tmp) / info.filename).chmod(mode & 0o777)
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": tmp}
        run(python, "-S", "-c", QUICK_START, site, env=env, cwd=Path(tmp))


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "wheels":
        platforms = sys.argv[2:] or list(PLATFORMS)
        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            sys.exit(f"wheels: unknown platforms {unknown}; known: {list(PLATFORMS)}")
        build_wheels(platforms)
    elif command == "lambda-layers":
        build_layers(os.environ.get("LAYER_PYTHON") or "3.12")
    else:
        sys.exit("usage: python build_support/wheels.py wheels [PLATFORM...] | lambda-layers")


if __name__ == "__main__":
    main()
