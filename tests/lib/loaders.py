"""Real and synthetic ELF images for the ELF reader's tests.

Real: Debian's ``musl`` and ``libc6`` packages for six architectures, fetched
and unpacked by ``tools/fetch-loaders.sh`` (cached under
``${PIP_MUSL_CACHE:-~/.cache/pip-musl}/loaders``), with the ``qemu-user``
command that runs each foreign loader. Use the session fixture
``debian_loaders`` (import it into the test module:
``debian_loaders = loaders.debian_loaders``).

Synthetic: :func:`build_elf` writes a small, valid ELF file of any class and
byte order with a dynamic section, string and symbol tables, SysV and/or GNU
hash tables and symbol versions, and records where each structure lies so a
test can corrupt exactly one field (:func:`patch`). Its images are checked
against ``readelf`` in ``tests/unit/test_elf.py``.

Missing tools fail the test with a message naming what to install; nothing
here skips.
"""

from __future__ import annotations

import functools
import re
import shutil
import struct
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = ROOT / "tools" / "fetch-loaders.sh"


# -- real loaders ------------------------------------------------------------


@dataclass(frozen=True)
class DebianArch:
    """One Debian architecture and where its loaders live."""

    debian: str
    #: ``ElfFile.machine_name`` of its binaries.
    machine_name: str
    elf_class: int
    byte_order: str
    #: qemu-user binary that runs it; None for the build machine's own.
    qemu: str | None
    musl_triplet: str
    #: The loader's name as PT_INTERP spells it: /lib/ld-musl-<arch>.so.1.
    musl_interp: str
    glibc_triplet: str
    glibc_loader: str
    glibc_interp: str
    #: What ``readelf -h`` prints as "Machine:".
    readelf_machine: str


ARCHES: dict[str, DebianArch] = {
    a.debian: a
    for a in (
        DebianArch(
            "amd64", "x86_64", 64, "little", None,
            "x86_64-linux-musl", "/lib/ld-musl-x86_64.so.1",
            "x86_64-linux-gnu", "ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2",
            "Advanced Micro Devices X86-64",
        ),
        DebianArch(
            "arm64", "aarch64", 64, "little", "qemu-aarch64",
            "aarch64-linux-musl", "/lib/ld-musl-aarch64.so.1",
            "aarch64-linux-gnu", "ld-linux-aarch64.so.1", "/lib/ld-linux-aarch64.so.1",
            "AArch64",
        ),
        DebianArch(
            "armhf", "arm", 32, "little", "qemu-arm",
            "arm-linux-musleabihf", "/lib/ld-musl-armhf.so.1",
            "arm-linux-gnueabihf", "ld-linux-armhf.so.3", "/lib/ld-linux-armhf.so.3",
            "ARM",
        ),
        DebianArch(
            "i386", "i386", 32, "little", "qemu-i386",
            "i386-linux-musl", "/lib/ld-musl-i386.so.1",
            "i386-linux-gnu", "ld-linux.so.2", "/lib/ld-linux.so.2",
            "Intel 80386",
        ),
        DebianArch(
            "ppc64el", "ppc64le", 64, "little", "qemu-ppc64le",
            "powerpc64le-linux-musl", "/lib/ld-musl-powerpc64le.so.1",
            "powerpc64le-linux-gnu", "ld64.so.2", "/lib64/ld64.so.2",
            "PowerPC64",
        ),
        DebianArch(
            "s390x", "s390x", 64, "big", "qemu-s390x",
            "s390x-linux-musl", "/lib/ld-musl-s390x.so.1",
            "s390x-linux-gnu", "ld64.so.1", "/lib/ld64.so.1",
            "IBM S/390",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class LoaderSet:
    """The unpacked musl and glibc runtime files of one architecture."""

    arch: DebianArch
    #: musl's loader, which is also its libc: ``lib/ld-musl-<arch>.so.1``.
    musl_loader: Path
    #: The file that symlink points at: ``lib/<triplet>/libc.so``.
    musl_libc: Path
    glibc_loader: Path
    glibc_libc: Path
    #: Debian package versions, from the .deb names.
    musl_deb: str
    glibc_deb: str

    def run_command(self, program: Path) -> list[str]:
        """argv prefix that runs a binary of this architecture here."""
        return [*qemu_prefix(self.arch), str(program)]


def qemu_prefix(arch: DebianArch) -> list[str]:
    if arch.qemu is None:
        return []
    found = shutil.which(arch.qemu)
    if found is None:
        pytest.fail(f"{arch.qemu} not found: apt-get install qemu-user", pytrace=False)
    return [found]


def require_tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: apt-get install {package}", pytrace=False)
    return found


def _run_fetch_script() -> Path:
    if not FETCH_SCRIPT.is_file():
        pytest.fail(f"{FETCH_SCRIPT} is missing", pytrace=False)
    proc = subprocess.run(
        ["bash", str(FETCH_SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        pytest.fail(
            f"tools/fetch-loaders.sh failed (exit {proc.returncode}); it needs "
            "apt-get/dpkg and access to the Debian archive:\n" + tail,
            pytrace=False,
        )
    return Path(lines[-1])


@functools.cache
def fetch_debian_loaders() -> dict[str, LoaderSet]:
    """Run the fetch script (instant when cached) and locate every file."""
    root = _run_fetch_script()
    result: dict[str, LoaderSet] = {}
    missing: list[str] = []
    for name, arch in ARCHES.items():
        musl = root / f"musl-{name}"
        libc6 = root / f"libc6-{name}"
        loader_set = LoaderSet(
            arch=arch,
            musl_loader=musl / arch.musl_interp.lstrip("/"),
            musl_libc=musl / "lib" / arch.musl_triplet / "libc.so",
            glibc_loader=libc6 / "lib" / arch.glibc_triplet / arch.glibc_loader,
            glibc_libc=libc6 / "lib" / arch.glibc_triplet / "libc.so.6",
            musl_deb=_deb_name(musl),
            glibc_deb=_deb_name(libc6),
        )
        for path in (
            loader_set.musl_loader,
            loader_set.musl_libc,
            loader_set.glibc_loader,
            loader_set.glibc_libc,
        ):
            if not path.is_file():
                missing.append(str(path))
        result[name] = loader_set
    if missing:
        pytest.fail(
            "tools/fetch-loaders.sh did not provide: " + ", ".join(missing),
            pytrace=False,
        )
    return result


def _deb_name(unpacked: Path) -> str:
    stamp = unpacked / ".fetched"
    return stamp.read_text().strip() if stamp.is_file() else "?"


@pytest.fixture(scope="session")
def debian_loaders() -> dict[str, LoaderSet]:
    """Debian architecture name -> its unpacked musl and glibc loaders."""
    return fetch_debian_loaders()


# -- small real binaries built here ------------------------------------------


def compile_c(
    source: str,
    output: Path,
    *,
    compiler: str = "gcc",
    flags: Sequence[str] = (),
) -> Path:
    """Compile ``source`` with ``compiler`` into ``output`` (fails the test
    with the compiler's message if that does not work)."""
    package = "musl-tools" if "musl" in compiler else "gcc"
    require_tool(compiler, package)
    src = output.with_suffix(".c")
    src.write_text(source)
    proc = subprocess.run(
        [compiler, *flags, "-o", str(output), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{compiler} {' '.join(flags)} failed:\n{proc.stderr}", pytrace=False
        )
    return output


# -- synthetic images ----------------------------------------------------------

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W, PF_R = 1, 2, 4
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 4, 5, 6
DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH, DT_RUNPATH = 10, 11, 14, 15, 29
DT_GNU_HASH, DT_VERSYM = 0x6FFFFEF5, 0x6FFFFFF0
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
SHT_DYNSYM = 11
SHN_ABS = 0xFFF1
ET_EXEC, ET_DYN = 2, 3
EM_386, EM_S390, EM_X86_64, EM_AARCH64 = 3, 22, 62, 183
#: Virtual address of file offset 0 in synthetic images: not 0, so that a
#: reader mixing up addresses and offsets fails.
BASE_ADDRESS = 0x400000


@dataclass(frozen=True)
class SymbolSpec:
    name: str
    defined: bool = True
    binding: int = STB_GLOBAL
    kind: int = STT_FUNC
    #: For undefined symbols: the needed version (must be listed in
    #: ``version_needs`` of :func:`build_elf`).
    version: str | None = None


@dataclass(frozen=True)
class SyntheticElf:
    data: bytes
    elf_class: int
    byte_order: str
    #: Where things are (file offsets): "phdrs", "interp", "dynstr",
    #: "dynsym", "hash", "gnu_hash", "versym", "verneed", "dynamic",
    #: "shdrs", "extra", and "dyn:<TAG>" for the d_val of a dynamic entry.
    offsets: dict[str, int] = field(default_factory=dict)
    #: The symbols in table order (index 1 first).
    symbols: tuple[SymbolSpec, ...] = ()

    def address_of(self, offset: int) -> int:
        return BASE_ADDRESS + offset


def gnu_hash(name: bytes) -> int:
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


def sysv_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


class _StringTable:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[bytes, int] = {}

    def add(self, text: str | bytes) -> int:
        raw = text.encode() if isinstance(text, str) else text
        if raw not in self.index:
            self.index[raw] = len(self.data)
            self.data += raw + b"\0"
        return self.index[raw]


def build_elf(
    *,
    elf_class: int = 64,
    byte_order: str = "little",
    machine: int = EM_X86_64,
    elf_type: int = ET_DYN,
    interpreter: bytes | None = None,
    needed: Iterable[str] = (),
    soname: str | None = None,
    rpath: str | None = None,
    runpath: str | None = None,
    symbols: Iterable[SymbolSpec] = (),
    version_needs: Sequence[tuple[str, Sequence[str]]] = (),
    hash_style: str = "both",
    dynamic: bool = True,
    section_headers: bool = False,
    extra: bytes = b"",
    extra_writable: bool = False,
    load_flags: int = PF_R | PF_X,
) -> SyntheticElf:
    """A small valid ELF image (one PT_LOAD covering the whole file at
    BASE_ADDRESS; ``extra`` bytes get their own PT_LOAD, writable if asked)."""
    e = "<" if byte_order == "little" else ">"
    wide = elf_class == 64
    word = "Q" if wide else "I"
    ehsize, phentsize, shentsize = (64, 56, 64) if wide else (52, 32, 40)
    dyn_size, sym_size = (16, 24) if wide else (8, 16)
    hash_word = "Q" if wide and machine == EM_S390 else "I"

    # Undefined symbols first: DT_GNU_HASH only covers the tail of the table.
    ordered = sorted(symbols, key=lambda s: s.defined)
    strings = _StringTable()
    needed_offsets = [strings.add(n) for n in needed]
    soname_offset = strings.add(soname) if soname is not None else None
    rpath_offset = strings.add(rpath) if rpath is not None else None
    runpath_offset = strings.add(runpath) if runpath is not None else None
    name_offsets = [strings.add(s.name) for s in ordered]
    version_index: dict[str, int] = {}
    for _file, names in version_needs:
        for name in names:
            version_index.setdefault(name, len(version_index) + 2)
    need_file_offsets = [strings.add(f) for f, _ in version_needs]
    need_name_offsets = [[strings.add(n) for n in names] for _, names in version_needs]

    nsyms = len(ordered) + 1
    dynsym = bytearray(sym_size)  # the null symbol
    for s, name_offset in zip(ordered, name_offsets, strict=True):
        info = (s.binding << 4) | s.kind
        shndx = SHN_ABS if s.defined else 0
        value = 0x1000 if s.defined else 0
        if wide:
            dynsym += struct.pack(e + "IBBHQQ", name_offset, info, 0, shndx, value, 8)
        else:
            dynsym += struct.pack(e + "IIIBBH", name_offset, value, 8, info, 0, shndx)

    sysv = bytearray()
    # nbucket 1: bucket[0] is the last symbol, each chain entry the previous.
    sysv += struct.pack(e + 2 * hash_word, 1, nsyms)
    sysv += struct.pack(e + hash_word, nsyms - 1)
    sysv += struct.pack(e + f"{nsyms}{hash_word}", 0, *range(nsyms - 1))

    first_defined = 1 + sum(1 for s in ordered if not s.defined)
    gnu = bytearray(struct.pack(e + "IIII", 1, first_defined, 1, 6))
    gnu += struct.pack(e + word, (1 << (64 if wide else 32)) - 1)  # bloom: all set
    defined = ordered[first_defined - 1 :]
    gnu += struct.pack(e + "I", first_defined if defined else 0)
    for i, s in enumerate(defined):
        h = gnu_hash(s.name.encode()) & ~1
        gnu += struct.pack(e + "I", h | (1 if i == len(defined) - 1 else 0))

    versym = bytearray(struct.pack(e + "H", 0))
    for s in ordered:
        index = 1
        if not s.defined and s.version is not None:
            index = version_index[s.version]
        versym += struct.pack(e + "H", index)

    verneed = bytearray()
    for i, (name_offsets_of_file, file_offset) in enumerate(
        zip(need_name_offsets, need_file_offsets, strict=True)
    ):
        count = len(name_offsets_of_file)
        last = i == len(version_needs) - 1
        verneed += struct.pack(
            e + "HHIII", 1, count, file_offset, 16, 0 if last else 16 + 16 * count
        )
        for j, name_offset in enumerate(name_offsets_of_file):
            name = version_needs[i][1][j]
            verneed += struct.pack(
                e + "IHHII",
                sysv_hash(name.encode()),
                0,
                version_index[name],
                name_offset,
                0 if j == count - 1 else 16,
            )

    use_sysv = hash_style in ("sysv", "both")
    use_gnu = hash_style in ("gnu", "both")

    blobs: list[tuple[str, bytes]] = []
    if interpreter is not None:
        blobs.append(("interp", interpreter + b"\0"))
    if dynamic:
        blobs.append(("dynstr", bytes(strings.data)))
        blobs.append(("dynsym", bytes(dynsym)))
        if use_sysv:
            blobs.append(("hash", bytes(sysv)))
        if use_gnu:
            blobs.append(("gnu_hash", bytes(gnu)))
        if version_needs:
            blobs.append(("versym", bytes(versym)))
            blobs.append(("verneed", bytes(verneed)))

    phnum = 1 + (interpreter is not None) + dynamic + bool(extra)
    offsets: dict[str, int] = {"phdrs": ehsize}
    cursor = ehsize + phnum * phentsize
    body = bytearray()

    def place(name: str, blob: bytes) -> None:
        nonlocal cursor
        pad = -cursor % 8
        body.extend(b"\0" * pad)
        cursor += pad
        offsets[name] = cursor
        body.extend(blob)
        cursor += len(blob)

    for name, blob in blobs:
        place(name, blob)

    if dynamic:
        entries: list[tuple[int, int]] = [(DT_NEEDED, off) for off in needed_offsets]
        if soname_offset is not None:
            entries.append((DT_SONAME, soname_offset))
        if rpath_offset is not None:
            entries.append((DT_RPATH, rpath_offset))
        if runpath_offset is not None:
            entries.append((DT_RUNPATH, runpath_offset))
        entries += [
            (DT_STRTAB, BASE_ADDRESS + offsets["dynstr"]),
            (DT_STRSZ, len(strings.data)),
            (DT_SYMTAB, BASE_ADDRESS + offsets["dynsym"]),
            (DT_SYMENT, sym_size),
        ]
        if use_sysv:
            entries.append((DT_HASH, BASE_ADDRESS + offsets["hash"]))
        if use_gnu:
            entries.append((DT_GNU_HASH, BASE_ADDRESS + offsets["gnu_hash"]))
        if version_needs:
            entries.append((DT_VERSYM, BASE_ADDRESS + offsets["versym"]))
            entries.append((DT_VERNEED, BASE_ADDRESS + offsets["verneed"]))
            entries.append((DT_VERNEEDNUM, len(version_needs)))
        entries.append((DT_NULL, 0))
        dynamic_blob = b"".join(struct.pack(e + 2 * word, t, v) for t, v in entries)
        place("dynamic", dynamic_blob)
        for i, (tag, _value) in enumerate(entries):
            value_offset = offsets["dynamic"] + i * dyn_size + dyn_size // 2
            offsets.setdefault(f"dyn:{tag}", value_offset)

    load_end = cursor
    if extra:
        cursor += -cursor % 4096
        body.extend(b"\0" * (cursor - ehsize - phnum * phentsize - len(body)))
        place("extra", extra)

    shnum = 0
    if section_headers and dynamic:
        pad = -cursor % 8
        body.extend(b"\0" * pad)
        cursor += pad
        offsets["shdrs"] = cursor
        null = b"\0" * shentsize
        fmt = e + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")
        dynsym_shdr = struct.pack(
            fmt, 0, SHT_DYNSYM, 2, BASE_ADDRESS + offsets["dynsym"],
            offsets["dynsym"], len(dynsym), 0, 1, 8, sym_size,
        )  # fmt: skip
        body.extend(null + dynsym_shdr)
        cursor += 2 * shentsize
        shnum = 2

    phdrs = bytearray()

    def phdr(p_type: int, flags: int, offset: int, size: int) -> bytes:
        vaddr = BASE_ADDRESS + offset
        if wide:
            return struct.pack(e + "IIQQQQQQ", p_type, flags, offset, vaddr, vaddr,
                               size, size, 8)  # fmt: skip
        return struct.pack(e + "IIIIIIII", p_type, offset, vaddr, vaddr, size,
                           size, flags, 8)  # fmt: skip

    if interpreter is not None:
        phdrs += phdr(PT_INTERP, PF_R, offsets["interp"], len(interpreter) + 1)
    phdrs += phdr(PT_LOAD, load_flags, 0, load_end)
    if extra:
        extra_flags = PF_R | (PF_W if extra_writable else 0)
        phdrs += phdr(PT_LOAD, extra_flags, offsets["extra"], len(extra))
    if dynamic:
        phdrs += phdr(PT_DYNAMIC, PF_R | PF_W, offsets["dynamic"], len(dynamic_blob))

    header = (
        b"\x7fELF"
        + bytes([2 if wide else 1, 1 if byte_order == "little" else 2, 1])
        + b"\0" * 9
    )
    header += struct.pack(
        e + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"),
        elf_type, machine, 1, 0, ehsize, offsets.get("shdrs", 0), 0,
        ehsize, phentsize, phnum, shentsize, shnum, 0,
    )  # fmt: skip
    data = header + bytes(phdrs) + bytes(body)
    assert len(header) == ehsize
    assert len(phdrs) == phnum * phentsize
    return SyntheticElf(
        data=data,
        elf_class=elf_class,
        byte_order=byte_order,
        offsets=offsets,
        symbols=tuple(ordered),
    )


def patch(image: SyntheticElf, offset: int, value: int, size: int) -> bytes:
    """``image.data`` with the ``size``-byte integer at ``offset`` replaced,
    in the image's byte order."""
    raw = value.to_bytes(size, "little" if image.byte_order == "little" else "big")
    return image.data[:offset] + raw + image.data[offset + size :]


def word_size(image: SyntheticElf) -> int:
    """Size of an address-sized field (d_val, p_offset, ...)."""
    return 8 if image.elf_class == 64 else 4


# -- readelf, the reference -----------------------------------------------------


@dataclass(frozen=True)
class ReadelfView:
    """What binutils' readelf says about a file, in ElfFile's terms."""

    elf_class: int
    byte_order: str
    #: "Machine:" as readelf prints it.
    machine: str
    elf_type: int
    interpreter: str | None
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    #: Defined, non-local dynamic symbol names.
    defined: frozenset[str]
    undefined: frozenset[str]
    #: Undefined symbol -> the version it needs (only versioned ones).
    undefined_versions: dict[str, str]
    version_needs: tuple[tuple[str, tuple[str, ...]], ...]


_ELF_TYPES = {"NONE": 0, "REL": 1, "EXEC": 2, "DYN": 3, "CORE": 4}
_SYMBOL_LINE = re.compile(
    r"^\s*\d+:\s+[0-9a-fA-F]+\s+\S+\s+(?P<type>\S+)\s+(?P<bind>\S+)\s+\S+"
    r"(?:\s+\[[^\]]*\])?\s+(?P<ndx>\S+)(?:\s+(?P<name>\S+))?"
)


def run_readelf(path: Path, *args: str) -> str:
    readelf = require_tool("readelf", "binutils")
    proc = subprocess.run(
        [readelf, "-W", *args, str(path)],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"readelf {' '.join(args)} {path} failed:\n{proc.stderr}")
    return proc.stdout


def _field(text: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}:\s+(.*)$", text, re.MULTILINE)
    assert match, f"readelf printed no {label!r}"
    return match[1].strip()


def readelf_view(path: Path, *, use_dynamic: bool = False) -> ReadelfView:
    """Parse ``readelf -h -l -d --dyn-syms -V``. ``use_dynamic`` adds ``-D``
    (find the symbol table through the dynamic section, for files without
    section headers; -V then finds nothing)."""
    header = run_readelf(path, "-h", "-l", "-d")
    # With -D, readelf prints the dynamic symbols for -s (--dyn-syms prints
    # nothing when there are no section headers).
    symbols = run_readelf(path, *(["-D", "-s"] if use_dynamic else ["--dyn-syms"]))
    versions = "" if use_dynamic else run_readelf(path, "-V")

    interp = re.search(r"\[Requesting program interpreter: (.*)\]", header)

    def dynamic_strings(kind: str) -> list[str]:
        return re.findall(rf"\({kind}\)\s+\S.*?: \[(.*)\]", header)

    defined: set[str] = set()
    undefined: set[str] = set()
    undefined_versions: dict[str, str] = {}
    for line in symbols.splitlines():
        match = _SYMBOL_LINE.match(line)
        if not match or not match["name"]:
            continue
        name, _, version = match["name"].partition("@")
        version = version.lstrip("@")
        if match["ndx"] == "UND":
            undefined.add(name)
            if version:
                undefined_versions[name] = version
        elif match["bind"] != "LOCAL":
            defined.add(name)

    needs: list[tuple[str, list[str]]] = []
    for line in versions.splitlines():
        file_match = re.search(r"File: (\S+)\s+Cnt:", line)
        if file_match:
            needs.append((file_match[1], []))
            continue
        name_match = re.search(r"Name: (\S+)\s+Flags:", line)
        if name_match and needs:
            needs[-1][1].append(name_match[1])

    def paths(kind: str) -> tuple[str, ...]:
        return tuple(p for value in dynamic_strings(kind) for p in value.split(":"))

    sonames = dynamic_strings("SONAME")
    return ReadelfView(
        elf_class=64 if _field(header, "Class") == "ELF64" else 32,
        byte_order="little" if "little endian" in _field(header, "Data") else "big",
        machine=_field(header, "Machine"),
        elf_type=_ELF_TYPES[_field(header, "Type").split()[0]],
        interpreter=interp[1] if interp else None,
        needed=tuple(dynamic_strings("NEEDED")),
        soname=sonames[0] if sonames else None,
        rpath=paths("RPATH"),
        runpath=paths("RUNPATH"),
        defined=frozenset(defined),
        undefined=frozenset(undefined),
        undefined_versions=undefined_versions,
        version_needs=tuple((f, tuple(n)) for f, n in needs),
    )


# -- a small real shared object ---------------------------------------------------

#: C source of a small library with glibc-versioned undefined symbols:
#: memcpy (GLIBC_2.14 on x86_64) and statx (GLIBC_2.28).
SMALL_LIBRARY_SOURCE = """\
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

int small_copy(char *dst, const char *src, size_t n) {
    memcpy(dst, src, n);
    return (int)n;
}

int small_statx(const char *path) {
    struct statx st;
    return statx(AT_FDCWD, path, 0, STATX_SIZE, &st);
}

const int small_answer = 42;
"""


def build_small_library(dest: Path, *, compiler: str = "gcc") -> Path:
    """A stripped, compact (no separate-code padding) shared object with
    both hash tables, built from SMALL_LIBRARY_SOURCE."""
    source = SMALL_LIBRARY_SOURCE
    if "musl" in compiler:
        # musl 1.2.3 has no statx.
        source = source.split("int small_statx")[0] + "const int small_answer = 42;\n"
    return compile_c(
        source,
        dest,
        compiler=compiler,
        flags=(
            "-shared", "-fPIC", "-O1", "-fno-builtin", "-s",
            "-Wl,-z,noseparate-code", "-Wl,--hash-style=both",
            "-Wl,-soname,libsmall.so.1",
        ),
    )  # fmt: skip
