"""The Python binding's declarations agree with the hand-written C header."""

from __future__ import annotations

import re
from pathlib import Path

from gokpl._cdef import CDEF

HEADER = Path(__file__).resolve().parents[2] / "capi" / "gokpl.h"


def normalise(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return " ".join(text.split()).replace(" ;", ";").split(";")


def header_block() -> str:
    header = HEADER.read_text()
    start = header.index("/* BEGIN CDEF */") + len("/* BEGIN CDEF */")
    return header[start : header.index("/* END CDEF */")]


def test_cdef_matches_the_header() -> None:
    assert normalise(CDEF) == normalise(header_block())


def test_every_header_function_is_exported() -> None:
    import gokpl._native as native

    _, lib = native.ffi_lib()
    for name in re.findall(r"\b(gokpl_\w+)\(", header_block()):
        assert hasattr(lib, name), name
