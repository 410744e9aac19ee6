"""What a wheel member's path says: whether it may be an ELF file the loader
or pip would run, and whether it is a Python extension module that the running
interpreter can import (its ``EXTENSION_SUFFIXES``)."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterable, Sequence
from typing import Final

# An ELF header is at least 52 bytes (ELFCLASS32): smaller members are not ELF.
_MIN_ELF_SIZE: Final = 52

# Suffixes of members never worth opening to look for ELF magic: the bulk of
# every wheel is source, bytecode, text and data files.
_NOT_BINARY_SUFFIX_LIST: Final = """
    .py .pyc .pyi .pyx .pxd .pxi .pyo .h .hh .hpp .hxx .c .cc .cpp .cxx .cu .f .f90
    .rs .go .java .js .mjs .ts .css .html .htm .xml .xsl .json .toml .yaml .yml .cfg
    .ini .conf .txt .md .rst .csv .tsv .typed .pem .crt .mo .po .pot .tcl .png .jpg
    .jpeg .gif .svg .ico .bmp .webp .ttf .otf .woff .woff2 .npy .npz .pkl .pickle
    .dat .db .sqlite .zip .gz .bz2 .xz .zst .tar .whl .jar .wasm .a .lib .o .obj .dll
    .pyd .exe .dylib .cmake .pc .sh .bat .ps1 .in .lock .ipynb .proto .pb .onnx
    .safetensors .pt .h5 .parquet .arrow
"""
_NOT_BINARY_SUFFIXES: Final = frozenset(_NOT_BINARY_SUFFIX_LIST.split())


def _is_dist_info(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top.endswith(".dist-info")


def is_loadable_name(name: str) -> bool:
    """Whether a member's path says the loader or pip would run it: a shared
    object (``.so``, ``.so.1.2``), anything in an auditwheel-style ``*.libs/``
    directory, or a script installed from ``*.data/scripts/``."""
    if is_shared_object_name(name):
        return True
    parts = name.split("/")
    if any(part.endswith(".libs") for part in parts[:-1]):
        return True
    return len(parts) > 2 and parts[0].endswith(".data") and parts[1] == "scripts"


def worth_sniffing(info: zipfile.ZipInfo) -> bool:
    if info.is_dir() or info.file_size < _MIN_ELF_SIZE or _is_dist_info(info.filename):
        return False
    suffix = posixpath.splitext(info.filename)[1].lower()
    return suffix not in _NOT_BINARY_SUFFIXES


def is_shared_object_name(name: str) -> bool:
    """``.so``, or ``.so`` and dotted numbers (``.so.1.2``), at the end: checked
    on every member of every wheel, with string methods (no pattern to compile
    on the way into an install)."""
    _, dot_so, numbers = name.rpartition(".so")
    if not dot_so:
        return False
    if not numbers:
        return True
    parts = numbers.split(".")
    return parts[0] == "" and all(p.isascii() and p.isdigit() for p in parts[1:])


# -- extension module names ------------------------------------------------------------

# Interpreter tags of extension suffixes (``.cpython-311-x86_64-linux-gnu.so``,
# ``.pypy39-pp73-x86_64-linux-gnu.so``, ``.abi3.so``): a file with one of these
# is an extension module for one kind of interpreter, and the import system
# looks for no other suffixes than those in EXTENSION_SUFFIXES.
_TAGGED_PREFIXES: Final = ("cpython-", "pypy", "graalpy", "abi3")
# Wheel directories whose files are not imported as modules.
_NOT_IMPORTED_SCHEMES: Final = frozenset({"scripts", "data", "headers"})


def extension_suffix_of(name: str) -> str | None:
    """The interpreter-tagged suffix of an extension module member
    (``.cpython-311-x86_64-linux-gnu.so``), or None when ``name`` is not one:
    bare ``.so`` files, bundled libraries (``*.libs/``, ``lib*.so.1``) and files
    installed outside site-packages are left alone."""
    parts = name.split("/")
    if any(part.endswith(".libs") for part in parts[:-1]):
        return None
    if (
        len(parts) > 2
        and parts[0].endswith(".data")
        and parts[1] in _NOT_IMPORTED_SCHEMES
    ):
        return None
    base = parts[-1]
    if not base.endswith(".so"):
        return None
    stem, _, tag = base[: -len(".so")].partition(".")
    if not stem.isidentifier() or not tag or "." in tag:
        return None
    if not tag.startswith(_TAGGED_PREFIXES):
        return None
    return f".{tag}.so"


def unimportable_extensions(
    names: Iterable[str], extension_suffixes: Sequence[str]
) -> list[tuple[str, str]]:
    """``(member, suffix)`` of each extension module whose suffix the
    interpreter with ``extension_suffixes`` cannot import."""
    accepted = frozenset(extension_suffixes)
    found: list[tuple[str, str]] = []
    for name in names:
        suffix = extension_suffix_of(name)
        if suffix is not None and suffix not in accepted:
            found.append((name, suffix))
    return found
