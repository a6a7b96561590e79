"""cffi's declarations of libgokpl, derived from its C header, gokpl.h.

The header (capi/gokpl.h) is the one description of the C ABI. cffi parses
plain C declarations only, so ``declarations`` drops what it cannot take:
comments, the include guard, ``#include`` lines of system headers and the
C++ linkage block; a ``#define NAME <integer>`` stays (cffi reads integer
constants). Any other preprocessor line is refused with its line number,
rather than guessed at, and ``new_ffi`` turns a declaration cffi's parser
refuses into the same error.

build_native.py compiles the derived declarations into the extension module
_gokpl_cffi; _native derives them again, from the copy of the header
installed in the package, only to open a library in cffi's ABI mode
(GOKPL_LIBRARY). Pure functions; no cffi import until ``new_ffi``.
"""

from __future__ import annotations

import re
from typing import Any

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_INTEGER_DEFINE = re.compile(r"define\s+([A-Za-z_]\w*)\s+(-?(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)")
_GUARD_DEFINE = re.compile(r"define\s+([A-Za-z_]\w*)")
_SYSTEM_INCLUDE = re.compile(r"include\s*<[\w./]+>")


class HeaderError(ValueError):
    """gokpl.h holds something the derivation cannot turn into cffi declarations."""


def declarations(header: str) -> str:
    """The declarations of header (gokpl.h's text) that cffi parses, in the header's order.

    Raises HeaderError naming the line for a preprocessor line other than the
    include guard, a system ``#include``, an integer ``#define`` and an
    ``#ifdef __cplusplus`` block, and for an unterminated comment or
    conditional.
    """
    text = _COMMENT.sub(_blank, header)
    if "/*" in text:
        raise HeaderError(f"line {text[: text.index('/*')].count(chr(10)) + 1}: a comment that never ends")
    kept: list[str] = []
    dropping: list[bool] = []  # one entry per open conditional: whether its lines are dropped
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped.startswith("#"):
            if not any(dropping):
                kept.append(line.rstrip())
            continue
        directive = stripped[1:].strip()
        if directive == "ifdef __cplusplus":
            dropping.append(True)
        elif directive.startswith("ifndef ") and not dropping:
            dropping.append(False)  # the include guard
        elif directive == "endif":
            if not dropping:
                raise HeaderError(f"line {number}: #endif without a conditional")
            dropping.pop()
        elif any(dropping) or _SYSTEM_INCLUDE.fullmatch(directive):
            continue
        elif match := _INTEGER_DEFINE.fullmatch(directive):
            kept.append(f"#define {match.group(1)} {match.group(2)}")
        elif not _GUARD_DEFINE.fullmatch(directive):
            raise HeaderError(f"line {number}: cffi cannot take the preprocessor line {stripped!r}")
    if dropping:
        raise HeaderError("a conditional (#ifdef, #ifndef) is never closed with #endif")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


def new_ffi(header: str) -> Any:
    """A cffi.FFI holding header's declarations; HeaderError when they do not parse."""
    import cffi

    ffi = cffi.FFI()
    try:
        ffi.cdef(declarations(header))
    except cffi.CDefError as exc:
        raise HeaderError(f"cffi cannot parse a declaration: {exc}") from None
    return ffi


def _blank(comment: re.Match[str]) -> str:
    """A comment as whitespace that keeps the line numbers of what follows."""
    return "\n" * comment.group().count("\n") or " "
