"""Build gokpl: compile the Go engine into libgokpl.so and ship it in the package.

The shared library is built by the Go toolchain (cgo, -buildmode=c-shared);
the Python side loads it with cffi in ABI mode, so no C extension is compiled.
Both `pip install .` and `pip install -e .` run the Go build; the sdist carries
the Go sources (see MANIFEST.in).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
LIBRARY = "libgokpl.so"
GENERATED = ("options.json", LIBRARY)


def build_native(package_dir: Path) -> None:
    """Compile capi/ into package_dir/libgokpl.so and copy options.json beside it."""
    go = os.environ.get("GO", shutil.which("go") or "go")
    if shutil.which(go) is None and not Path(go).exists():
        sys.exit("gokpl: building needs the Go toolchain (https://go.dev/dl/) on PATH, or GO=/path/to/go")
    package_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "core" / "options.json", package_dir / "options.json")
    env = dict(os.environ, CGO_ENABLED="1")
    cmd = [go, "build", "-buildmode=c-shared", "-trimpath", "-o", str(package_dir / LIBRARY), "./capi"]
    print("gokpl:", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    (package_dir / "libgokpl.h").unlink(missing_ok=True)  # cgo's header; gokpl.h is the contract


class BuildGo(Command):
    """setup.py build_go: build libgokpl.so into the source package (for development)."""

    description = "build libgokpl.so with the Go toolchain"
    user_options: list[tuple[str, str | None, str]] = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        build_native(ROOT / "python" / "gokpl")


class BuildPyWithGo(build_py):
    """build_py that also builds the Go library into the built (or, editable, source) package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            build_native(ROOT / "python" / "gokpl")
        else:
            build_native(Path(self.build_lib) / "gokpl")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            outputs += [str(Path(self.build_lib) / "gokpl" / name) for name in GENERATED]
        return outputs


class BinaryDistribution(Distribution):
    """The package carries a platform-specific shared library."""

    def has_ext_modules(self) -> bool:
        return True


cmdclass: dict[str, type[Command]] = {"build_py": BuildPyWithGo, "build_go": BuildGo}

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


class PlatformWheel(bdist_wheel):  # type: ignore[misc,valid-type]
    """Tag wheels py3-none-<platform>: the library is loaded with cffi's ABI mode,
    so one wheel serves every CPython 3 version on its platform."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


cmdclass["bdist_wheel"] = PlatformWheel

setup(distclass=BinaryDistribution, cmdclass=cmdclass)
