"""cffi's declarations are derived from the hand-written C header, and cover all of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gokpl import _cdef, _native, _status

HEADER = Path(__file__).resolve().parents[2] / "capi" / "gokpl.h"


def header_functions() -> set[str]:
    """Every function gokpl.h declares: a declaration starts its line with the return type."""
    names = set(re.findall(r"^[a-z][a-z0-9_]*\s+\**(gokpl_\w+)\(", HEADER.read_text(), re.M))
    assert len(names) > 20, names  # the pattern finds them
    return names


def test_the_derived_declarations_declare_every_function_of_the_header() -> None:
    ffi = _cdef.new_ffi(HEADER.read_text())
    lib = ffi.dlopen(str(_native.library_path()))
    declared = {name for name in dir(lib) if name.startswith("gokpl_")}
    assert declared == header_functions()


def test_the_compiled_extension_has_every_function_of_the_header() -> None:
    from gokpl import _gokpl_cffi  # type: ignore[attr-defined]

    compiled = {name for name in dir(_gokpl_cffi.lib) if name.startswith("gokpl_")}
    assert compiled == header_functions()
    assert _gokpl_cffi.lib.GOKPL_ABI_VERSION == _native.ABI_VERSION


def test_the_package_names_every_status_of_the_header_with_its_value_and_exception() -> None:
    ffi = _cdef.new_ffi(HEADER.read_text())
    statuses = ffi.typeof("gokpl_status").relements
    assert len(statuses) > 10
    for name, value in statuses.items():
        assert getattr(_status, name[len("GOKPL_") :]) == value, name
        assert value == _status.OK or value in _status.EXCEPTIONS, name
    assert set(_status.EXCEPTIONS) == set(statuses.values()) - {_status.OK}


def test_comments_and_preprocessor_lines_are_dropped_and_integer_defines_kept() -> None:
    header = """/* a header
 * over lines */
#ifndef X_H
#define X_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#define X_VERSION 3 // the version
int32_t x_call(int64_t timeout_ms); /* a call */
#ifdef __cplusplus
}
#endif
#endif
"""
    assert _cdef.declarations(header) == "#define X_VERSION 3\nint32_t x_call(int64_t timeout_ms);\n"
    ffi = _cdef.new_ffi(header)
    assert ffi.dlopen(None).X_VERSION == 3


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("int a;\n#if X\nint b;\n#endif\n", r"^line 2: cffi cannot take the preprocessor line '#if X'$"),
        ('#include "other.h"\n', r"^line 1: cffi cannot take the preprocessor line '#include \"other.h\"'$"),
        ("#define TWICE(x) ((x) * 2)\n", r"^line 1: cffi cannot take the preprocessor line"),
        ('#ifdef __cplusplus\nextern "C" {\n', r"never closed"),
        ("int a;\n#endif\n", r"^line 2: #endif without a conditional$"),
        ("int a; /* never\nclosed\n", r"^line 1: a comment that never ends$"),
        ("__attribute__((unused)) int f(void);\n", r"^cffi cannot parse a declaration: "),
        ("int f(void)\n", r"^cffi cannot parse a declaration: "),
    ],
)
def test_what_cffi_cannot_take_is_refused_with_where_it_is(header: str, error: str) -> None:
    with pytest.raises(_cdef.HeaderError, match=error):
        _cdef.new_ffi(header)
