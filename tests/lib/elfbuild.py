"""Real ELF files and minimal wheels for the wheel ABI tests.

Shared objects are compiled here with the real compilers (``musl-gcc`` for musl,
``gcc`` for glibc) and packed into minimal wheels with :mod:`zipfile`. The real
musl loader (``/lib/ld-musl-x86_64.so.1``, Debian's musl 1.2.3) is the oracle:
:func:`musl_loader_verdict` asks it whether a file loads, so a test can check that
the inspection agrees with the loader rather than with itself.

Hostile inputs are made here too: zip bombs built by streaming zeros, ELF files with
a patched machine, and symbol tables crafted to be expensive.

Missing tools fail the test with a message naming what to install; nothing skips.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pip._internal.libc.host import HostLibc

MUSL_LOADER = Path("/lib/ld-musl-x86_64.so.1")
EM_AARCH64 = 183
E_MACHINE_OFFSET = 18


def require_tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: apt-get install {package}", pytrace=False)
    return found


def require_musl_loader() -> Path:
    if not MUSL_LOADER.exists():
        pytest.fail(
            f"{MUSL_LOADER} is missing: apt-get install musl (Debian's musl 1.2.3)",
            pytrace=False,
        )
    return MUSL_LOADER


# -- hosts ---------------------------------------------------------------------


def musl_host(version: tuple[int, ...] = (1, 2, 3)) -> HostLibc:
    """An x86_64 musl host whose loader is this machine's real musl."""
    return HostLibc("musl", version, "x86_64", loader=str(MUSL_LOADER))


def glibc_host(version: tuple[int, ...] | None = None) -> HostLibc:
    """An x86_64 glibc host, by default of this machine's own glibc version."""
    return HostLibc("glibc", version or real_glibc_version(), "x86_64")


def real_glibc_version() -> tuple[int, int]:
    text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    name, _, version = text.partition(" ")
    if name != "glibc":
        pytest.fail(f"not a glibc machine: CS_GNU_LIBC_VERSION={text!r}", pytrace=False)
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


# -- compiling -------------------------------------------------------------------


def compile_so(
    dest: Path,
    source: str,
    *,
    compiler: str,
    soname: str | None = None,
    ldflags: Sequence[str] = (),
    cflags: Sequence[str] = (),
) -> bytes:
    """Compile C ``source`` into the shared object ``dest``; return its bytes."""
    package = "musl-tools" if compiler == "musl-gcc" else "gcc"
    cc = require_tool(compiler, package)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="elfbuild-") as tmp:
        src = Path(tmp) / "src.c"
        src.write_text(textwrap.dedent(source))
        argv = [cc, "-shared", "-fPIC", "-O1", *cflags, str(src), "-o", str(dest)]
        if soname:
            argv.append(f"-Wl,-soname,{soname}")
        argv += ldflags
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(
            f"compiling {dest.name} failed:\n$ {' '.join(argv)}\n{proc.stderr}",
            pytrace=False,
        )
    return dest.read_bytes()


def set_machine(data: bytes, machine: int) -> bytes:
    """``data`` (a little-endian ELF file) with e_machine replaced."""
    assert data[:4] == b"\x7fELF" and data[5] == 1, "little-endian ELF expected"
    return (
        data[:E_MACHINE_OFFSET]
        + struct.pack("<H", machine)
        + data[E_MACHINE_OFFSET + 2 :]
    )


# -- wheels ------------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def write_wheel(
    dest_dir: Path,
    files: Mapping[str, bytes],
    *,
    name: str = "abiprobe",
    version: str = "1.0",
    tag: str = "cp311-cp311-linux_x86_64",
    modes: Mapping[str, int] | None = None,
    stored: frozenset[str] = frozenset(),
) -> Path:
    """A minimal but valid wheel holding ``files`` plus its dist-info.
    ``modes``: Unix modes of some members; ``stored``: members not deflated."""
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    ).encode()
    members[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tests/lib/elfbuild.py\n"
        f"Root-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    record = [f"{n},{_record_hash(d)},{len(d)}" for n, d in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | (modes or {}).get(member, 0o644)) << 16
            info.compress_type = (
                zipfile.ZIP_STORED if member in stored else zipfile.ZIP_DEFLATED
            )
            archive.writestr(info, data)
    return path


def write_zero_bomb(
    path: Path, member: str, size: int, *, head: bytes = b"", chunk: int = 1 << 22
) -> Path:
    """A zip whose ``member`` inflates to ``size`` bytes: ``head`` then zeros.
    Written by streaming, so building it costs no memory (deflate ~1000:1)."""
    zeros = bytes(chunk)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        out.write(head)
        left = size - len(head)
        while left > 0:
            out.write(zeros[: min(chunk, left)])
            left -= chunk
    return path


def symbol_flood_elf(count: int, *, name_length: int = 1) -> bytes:
    """A valid 64-bit x86_64 shared object with ``count`` dynamic symbols that
    all share one name of ``name_length`` bytes (a SysV hash table sizes the
    table). Cheap to store, deflates ~500:1, expensive to parse naively."""
    ehdr, phdr = 64, 56
    dyn_off = ehdr + 2 * phdr
    dyn_size = 6 * 16
    str_off = dyn_off + dyn_size
    strtab = b"\0" + b"A" * name_length + b"\0"
    sym_off = (str_off + len(strtab) + 7) & ~7
    sym_entry = struct.Struct("<IBBHQQ")
    # st_info 0x12: global function; st_shndx 0: undefined.
    symtab = sym_entry.pack(0, 0, 0, 0, 0, 0) + sym_entry.pack(1, 0x12, 0, 0, 0, 0) * (
        count - 1
    )
    hash_off = sym_off + len(symtab)
    hash_table = struct.pack("<III", 1, count, 0) + bytes(4 * count)
    size = hash_off + len(hash_table)
    dynamic = struct.pack(
        "<12Q",
        *(4, hash_off, 5, str_off, 10, len(strtab), 6, sym_off, 11, 24, 0, 0),
    )
    header = (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + struct.pack(
            "<HHIQQQIHHHHHH", 3, 62, 1, 0, ehdr, 0, 0, ehdr, phdr, 2, 64, 0, 0
        )
    )
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)
    phdrs += struct.pack(
        "<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, dyn_size, dyn_size, 8
    )
    image = bytearray(size)
    for offset, part in (
        (0, header),
        (ehdr, phdrs),
        (dyn_off, dynamic),
        (str_off, strtab),
        (sym_off, symtab),
        (hash_off, hash_table),
    ):
        image[offset : offset + len(part)] = part
    return bytes(image)


# -- oracles -------------------------------------------------------------------------


def musl_loader_verdict(path: Path) -> tuple[bool, str]:
    """Whether the real musl loader loads and relocates ``path`` (its ldd mode:
    it maps the file and its DT_NEEDED libraries and binds every symbol)."""
    loader = require_musl_loader()
    proc = subprocess.run(
        [str(loader), "--list", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    output = proc.stdout + proc.stderr
    return proc.returncode == 0 and "Error" not in output, output.strip()


def extract(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(dest)
    return dest


def run_bounded(
    code: str,
    *,
    memory_bytes: int = 1 << 30,
    cpu_seconds: int = 60,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a child limited to ``memory_bytes`` of address
    space and ``cpu_seconds`` of CPU: a runaway shows up as a failure of the
    child, not of the test machine."""
    prelude = textwrap.dedent(
        f"""\
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({memory_bytes}, {memory_bytes}))
        resource.setrlimit(resource.RLIMIT_CPU, ({cpu_seconds}, {cpu_seconds}))
        """
    )
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
    )
