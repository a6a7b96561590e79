"""aiokpl's published sdist, fetched from the package index at test time and pinned by its sha256.

Nothing of aiokpl is kept in this repository: the tarball is downloaded with
``pip download`` into a cache under ``build/aiokpl`` (or taken from
``$GOKPL_AIOKPL_SDIST``, a local copy), checked against ``SHA256``, and the
files a test needs are read out of it. ``as_gokpl`` applies the one rewrite
the compatibility promise allows: the package name.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.2.0"
SHA256 = "2a742be6941ce6b5d5235d8c8584293d97aed1682d8f04cb8346e9f7df4c927e"
FILENAME = f"aiokpl-{VERSION}.tar.gz"
TOP = f"aiokpl-{VERSION}"
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "aiokpl"
LOCAL_COPY_ENV = "GOKPL_AIOKPL_SDIST"
_DOWNLOAD_TIMEOUT = 600.0


class Unavailable(Exception):
    """The package index could not be reached or did not serve the sdist."""


def sdist() -> Path:
    """The verified tarball: the cached or local copy, else a fresh download.

    Raises Unavailable when it cannot be downloaded, and AssertionError when
    a tarball's sha256 is not the pinned one (a cached copy that fails is
    downloaded again first).
    """
    local = os.environ.get(LOCAL_COPY_ENV)
    if local:
        return _verified(Path(local))
    cached = CACHE / FILENAME
    if cached.is_file() and _sha256(cached) == SHA256:
        return cached
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        downloaded = _download(Path(tmp))
        _verified(downloaded)
        os.replace(downloaded, cached)
    return cached


def _download(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command += ["--disable-pip-version-check", "--dest", str(into), f"aiokpl=={VERSION}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_DOWNLOAD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"pip download of aiokpl {VERSION} took over {_DOWNLOAD_TIMEOUT:.0f} s") from exc
    path = into / FILENAME
    if done.returncode != 0 or not path.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise Unavailable(f"pip download of aiokpl {VERSION}'s sdist failed: {tail}")
    return path


def _verified(path: Path) -> Path:
    digest = _sha256(path)
    assert digest == SHA256, f"{path} has sha256 {digest}, not the pinned {SHA256} of {FILENAME}"
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_text(tarball: Path, name: str) -> str:
    """The text of one file of the sdist, ``name`` relative to its top directory."""
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(f"{TOP}/{name}")
        assert member is not None, f"{name} is not a file in {FILENAME}"
        return member.read().decode()


def as_gokpl(text: str) -> str:
    """``text`` with every use of the package name ``aiokpl`` renamed ``gokpl``."""
    return re.sub(r"\baiokpl\b", "gokpl", text)


def copy_file(tarball: Path, name: str, dest_root: Path, text: str | None = None) -> Path:
    """Write one sdist file under dest_root at its relative path, as ``text`` if given."""
    dest = dest_root / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(read_text(tarball, name) if text is None else text)
    return dest
