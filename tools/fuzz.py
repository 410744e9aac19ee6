#!/usr/bin/env python3
"""Fuzz the fork's ELF reader and wheel inspector for a fixed time budget.

    python tools/fuzz.py --seconds 60 [--target elf|wheel|all] [--engine auto]

Targets
  elf    ``parse_elf`` (all three reading modes), the pure helpers that consume
         its result, and ``musl_version_from_image`` on mutated real ELF files.
  wheel  ``inspect_wheel``, ``check_wheel_file`` and ``wheel_abi_problems`` (for
         glibc, musl, static and unknown hosts) on mutated zip files whose
         members are mutated ELF files.

The seed corpus is made at start: small shared objects and executables compiled
with ``gcc`` and ``musl-gcc`` (several hash styles, RUNPATH, SONAME, symbol
versions), the first 64 KiB of musl's loader ``/lib/ld-musl-x86_64.so.1``, and
wheels built from them. Missing compilers are an error, not a reason to fuzz less.

Engines
  atheris     coverage-guided (libFuzzer), with a structure-aware custom mutator
              mixed with libFuzzer's own; used by ``auto`` when importable.
  hypothesis  the same structure-aware mutations, drawn by hypothesis
              (``@given`` run in rounds until the budget is spent).

The only allowed outcomes are a result, :class:`ElfError` (ELF target) or
:class:`WheelAbiError` (wheel target), within ``--per-input-seconds`` of CPU time,
plus the readers' documented invariants (an ``ElfTruncatedError`` asks for bytes
beyond those given; messages are one line). Anything else is a crash: the input is
saved as ``tests/data/fuzz-regressions/<target>-<sha256[:16]>.bin``, the traceback
printed, and the run exits non-zero. ``tests/unit/test_fuzz_regressions.py``
replays every saved input with :func:`check_input`.

Each target runs in its own child process (``--worker``), which reports its
statistics to the driver in a JSON file.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import hashlib
import importlib
import io
import json
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = ROOT / "tests" / "data" / "fuzz-regressions"
TARGETS = ("elf", "wheel")
MUSL_LOADER = Path("/lib/ld-musl-x86_64.so.1")

MAX_ELF_LEN = 128 * 1024
MAX_WHEEL_LEN = 256 * 1024
DEFAULT_PER_INPUT_SECONDS = 3.0

# --------------------------------------------------------------------------
# Checking one input: the property
# --------------------------------------------------------------------------


class InputTimeout(BaseException):
    """One input took longer than the per-input bound (raised from SIGVTALRM)."""


class PropertyViolation(AssertionError):
    """The code returned, but broke one of its documented invariants."""


def _check_message(exc: BaseException) -> None:
    text = str(exc)
    if not text or "\n" in text:
        raise PropertyViolation(
            f"{type(exc).__name__} message is not one line: {text!r}"
        )


def _elf_modes(data: bytes) -> str:
    from pip._internal.libc.elf import ElfError, ElfTruncatedError, parse_elf
    from pip._internal.libc.musl_version import musl_version_from_image
    from pip._internal.libc.wheel_abi import elf_member_from, libc_link_of

    outcome = "result"
    for symbols, dynamic in ((True, True), (False, True), (False, False)):
        try:
            elf = parse_elf(data, symbols=symbols, dynamic=dynamic)
        except ElfError as exc:
            _check_message(exc)
            if isinstance(exc, ElfTruncatedError) and exc.needed <= len(data):
                raise PropertyViolation(
                    f"ElfTruncatedError asks for {exc.needed} bytes but "
                    f"{len(data)} were given: a reader would loop"
                ) from exc
            outcome = "ElfError"
            continue
        # Everything a caller touches on a result must work too.
        _ = (elf.undefined_symbols, elf.defined_symbols, elf.machine_name)
        for sym in elf.symbols:
            _ = (sym.name, sym.version)
        libc_link_of(elf)
        str(elf_member_from("pkg/_fuzz.so", elf))
    version = musl_version_from_image(data)
    if version is not None and len(version) != 3:
        raise PropertyViolation(f"musl_version_from_image returned {version!r}")
    return outcome


@functools.cache
def _hosts() -> tuple[Any, ...]:
    from pip._internal.libc.host import HostLibc

    hosts: list[Any] = [
        HostLibc("glibc", (2, 36), "x86_64", "/lib64/ld-linux-x86-64.so.2"),
        HostLibc("glibc", (2, 17), "aarch64", "/lib/ld-linux-aarch64.so.1"),
        HostLibc("musl", (1, 1, 24), "x86_64", "/nonexistent/ld-musl-x86_64.so.1"),
        HostLibc("static", arch="x86_64", built_for_musl=True),
        HostLibc("unknown"),
    ]
    if MUSL_LOADER.exists():
        hosts.append(HostLibc("musl", (1, 2, 3), "x86_64", str(MUSL_LOADER)))
    return tuple(hosts)


@functools.cache
def scratch_dir() -> Path:
    """Where inputs are written for the wheel target: the driver's temporary
    directory for workers, else a private one removed at exit."""
    given = os.environ.get("PIP_MUSL_FUZZ_SCRATCH")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(tempfile.mkdtemp(prefix="pip-musl-fuzz-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _wheel_file(data: bytes) -> Path:
    path = scratch_dir() / f"fuzz-{os.getpid()}-1.0-cp311-cp311-linux_x86_64.whl"
    path.write_bytes(data)
    return path


def _wheel_modes(data: bytes) -> str:
    from pip._internal.libc.wheel_abi import (
        WheelAbiError,
        check_wheel_file,
        deserved_musllinux,
        host_libc_exports,
        inspect_wheel,
        wheel_abi_problems,
    )

    path = _wheel_file(data)
    try:
        abi = inspect_wheel(path)
    except WheelAbiError as exc:
        _check_message(exc)
        outcome = "WheelAbiError"
        abi = None
    else:
        outcome = "result"
        for part in (*abi.members, *abi.malformed, *abi.notes):
            str(part)
        deserved_musllinux(abi, "x86_64")
        deserved_musllinux(abi, "aarch64")
    for host in _hosts():
        if abi is not None:
            for exports in (host_libc_exports(host), None, frozenset()):
                for problem in wheel_abi_problems(abi, host, exports):
                    if not problem.message or "\n" in problem.message:
                        raise PropertyViolation(f"problem message {problem.message!r}")
        try:
            problems = check_wheel_file(path, host)
        except WheelAbiError as exc:
            _check_message(exc)
            if abi is not None:
                raise PropertyViolation(
                    "check_wheel_file failed on a wheel inspect_wheel read"
                ) from exc
        else:
            if abi is None:
                raise PropertyViolation(
                    "check_wheel_file read a wheel inspect_wheel refused"
                )
            tuple(str(p) for p in problems)
    return outcome


CHECKS: dict[str, Callable[[bytes], str]] = {"elf": _elf_modes, "wheel": _wheel_modes}


@contextlib.contextmanager
def _cpu_bound(seconds: float) -> Iterator[None]:
    """Raise InputTimeout once this process has used ``seconds`` more CPU time."""

    def on_alarm(signum: int, frame: object) -> None:
        raise InputTimeout(f"input took more than {seconds} s of CPU time")

    previous = signal.signal(signal.SIGVTALRM, on_alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def check_input(
    target: str, data: bytes, *, per_input_seconds: float = DEFAULT_PER_INPUT_SECONDS
) -> str:
    """Run ``target``'s code on ``data``; return the outcome's name.

    Allowed outcomes are ``"result"``, ``"ElfError"`` and ``"WheelAbiError"``.
    Anything else propagates: an unexpected exception, a
    :class:`PropertyViolation`, or :class:`InputTimeout` when the input costs
    more than ``per_input_seconds`` of CPU time (also checked on the wall clock,
    with slack for a loaded machine).
    """
    start = time.monotonic()
    with _cpu_bound(per_input_seconds):
        outcome = CHECKS[target](data)
    elapsed = time.monotonic() - start
    if elapsed > 4 * per_input_seconds:
        raise InputTimeout(f"input took {elapsed:.1f} s of wall-clock time")
    return outcome


def save_regression(target: str, data: bytes, directory: Path = REGRESSIONS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{target}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------

_SEED_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
__attribute__((weak)) extern int fuzz_weak_missing(void);
int fuzz_counter;
const char fuzz_banner[] = "pip-musl fuzz seed";
static int fuzz_hidden(void) { return fuzz_counter++; }
int fuzz_api(const char *s) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    return (int)strlen(buf) + (int)sqrt((double)fuzz_counter)
        + (fuzz_weak_missing ? fuzz_weak_missing() : 0);
}
int fuzz_other(void) { return fuzz_hidden() + (int)getpid() + (int)(long)malloc(1); }
#ifdef FUZZ_MAIN
int main(int argc, char **argv) { return fuzz_api(argc > 1 ? argv[1] : "x") & 1; }
#endif
"""

# (name, compiler, flags)
_SEED_BUILDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("gcc-gnuhash", "gcc", ("-shared", "-fPIC", "-O1", "-lm")),
    ("gcc-sysv-rpath", "gcc", (
        "-shared", "-fPIC", "-Wl,--hash-style=sysv", "-Wl,-rpath,$ORIGIN/../lib",
        "-Wl,-soname,libfuzz.so.1", "-lm",
    )),
    ("gcc-both-runpath", "gcc", (
        "-shared", "-fPIC", "-s", "-Wl,--hash-style=both",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN", "-lm",
    )),
    ("gcc-pie-exe", "gcc", ("-DFUZZ_MAIN", "-fPIE", "-pie", "-lm")),
    ("musl-gnuhash", "musl-gcc", ("-shared", "-fPIC", "-O1")),
    ("musl-sysv-soname", "musl-gcc", (
        "-shared", "-fPIC", "-Wl,--hash-style=sysv", "-Wl,-soname,libfuzz.so.2",
    )),
    ("musl-static-exe", "musl-gcc", ("-DFUZZ_MAIN", "-static")),
    ("musl-pie-exe", "musl-gcc", ("-DFUZZ_MAIN", "-fPIE", "-pie")),
)  # fmt: skip


def build_elf_seeds(workdir: Path) -> dict[str, bytes]:
    """Compile the ELF seeds; fail (SystemExit) naming what is missing."""
    missing = [c for c in ("gcc", "musl-gcc") if shutil.which(c) is None]
    if missing:
        raise SystemExit(
            f"fuzz.py: {', '.join(missing)} not found: the seed corpus is compiled "
            "with gcc and musl-gcc (Debian: apt-get install gcc musl-tools)"
        )
    if not MUSL_LOADER.is_file():
        raise SystemExit(
            f"fuzz.py: {MUSL_LOADER} not found (Debian: apt-get install musl)"
        )
    src = workdir / "seed.c"
    src.write_text(_SEED_C)
    seeds: dict[str, bytes] = {}
    for name, compiler, flags in _SEED_BUILDS:
        out = workdir / f"{name}.elf"
        proc = subprocess.run(
            [compiler, "-o", str(out), str(src), *flags],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"fuzz.py: building seed {name} failed:\n{proc.stderr}")
        seeds[name] = out.read_bytes()
    with open(MUSL_LOADER, "rb") as f:
        seeds["ld-musl-64k"] = f.read(64 * 1024)
    return seeds


@dataclass
class Member:
    name: str
    data: bytes
    method: int = zipfile.ZIP_DEFLATED


def zip_bytes(members: Sequence[Member]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for m in members:
            info = zipfile.ZipInfo(m.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = m.method
            info.external_attr = 0o100755 << 16
            with warnings_suppressed():
                zf.writestr(info, m.data)
    return buf.getvalue()


@contextlib.contextmanager
def warnings_suppressed() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _dist_info(name: str = "fuzz") -> list[Member]:
    di = f"{name}-1.0.dist-info"
    return [
        Member(
            f"{di}/METADATA", b"Metadata-Version: 2.1\nName: fuzz\nVersion: 1.0\n\n"
        ),
        Member(f"{di}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"),
        Member(f"{di}/RECORD", b""),
    ]


def build_wheel_models(elf: dict[str, bytes]) -> list[list[Member]]:
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    init = Member("fuzz/__init__.py", b"from ._ext import *\n")
    return [
        [init, Member("fuzz/_ext.so", elf["gcc-gnuhash"]), *_dist_info()],
        [
            init,
            Member(
                "fuzz/_ext.cpython-311-x86_64-linux-musl.so",
                elf["musl-gnuhash"],
                stored,
            ),
            Member("fuzz.libs/libfuzz.so.2", elf["musl-sysv-soname"]),
            Member("fuzz/bin/tool", elf["musl-pie-exe"]),
            *_dist_info(),
        ],
        [
            Member("fuzz/_ext.so", elf["gcc-sysv-rpath"], stored),
            Member("fuzz-1.0.data/scripts/tool", elf["gcc-pie-exe"]),
            Member("fuzz/not_elf.so", b"this is not an ELF file\n"),
            Member("fuzz/sub.so/", b"", stored),
            *_dist_info(),
        ],
        [
            Member("fuzz/ld.so.1", elf["ld-musl-64k"]),
            Member("fuzz/static", elf["musl-static-exe"]),
            Member("fuzz/_both.so", elf["gcc-both-runpath"]),
            *_dist_info(),
        ],
        [
            # A small compressed member that inflates to 4 MiB.
            Member("fuzz/big.so", elf["musl-gnuhash"][:64] + bytes(4 << 20), deflated),
            *_dist_info(),
        ],
    ]


# --------------------------------------------------------------------------
# Structure-aware mutations
# --------------------------------------------------------------------------

BOUNDARY = (
    0, 1, 2, 3, 4, 7, 8, 0x10, 0x20, 0x38, 0x40, 0x7F, 0x80, 0xFF, 0x100, 0x1000,
    0x7FFF, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF0, 0xFFFF_FFFF,
    1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1,
)  # fmt: skip


class Chooser:
    """Where a mutation's choices come from (random.Random or hypothesis)."""

    def below(self, n: int) -> int:  # 0 <= result < n
        raise NotImplementedError

    def blob(self, max_len: int) -> bytes:
        raise NotImplementedError

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[self.below(len(seq))]

    def chance(self, percent: int) -> bool:
        return self.below(100) < percent


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def below(self, n: int) -> int:
        return self.rng.randrange(n) if n > 0 else 0

    def blob(self, max_len: int) -> bytes:
        return self.rng.randbytes(self.rng.randrange(max_len + 1))


class HypothesisChooser(Chooser):
    def __init__(self, draw: Callable[[Any], Any]) -> None:
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def below(self, n: int) -> int:
        return int(self.draw(self.st.integers(0, n - 1))) if n > 0 else 0

    def blob(self, max_len: int) -> bytes:
        return bytes(self.draw(self.st.binary(max_size=max_len)))


# ELF dynamic tags worth aiming at, and how to tell where their tables are.
DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 1, 4, 5, 6, 10, 11
DT_RPATH, DT_SONAME, DT_RUNPATH = 15, 14, 29
DT_GNU_HASH, DT_VERSYM, DT_VERNEED, DT_VERNEEDNUM = (
    0x6FFFFEF5, 0x6FFFFFF0, 0x6FFFFFFE, 0x6FFFFFFF,
)  # fmt: skip
_TABLE_TAGS = {DT_HASH, DT_STRTAB, DT_SYMTAB, DT_GNU_HASH, DT_VERSYM, DT_VERNEED}


@dataclass
class ElfLayout:
    """Offsets of the fields worth mutating: (offset, width) pairs."""

    fields: list[tuple[int, int]] = field(default_factory=list)
    order: str = "<"
    word: int = 8


def elf_layout(data: bytes) -> ElfLayout:
    """Find header, program-header, dynamic-entry and table fields (never raises)."""
    lay = ElfLayout()
    try:
        if data[:4] != b"\x7fELF" or len(data) < 52:
            return lay
        is64 = data[4] == 2
        lay.order = ">" if data[5] == 2 else "<"
        lay.word = 8 if is64 else 4
        w, o = lay.word, lay.order
        # e_ident bytes, e_type, e_machine, e_entry, e_phoff, e_shoff, then
        # e_phentsize .. e_shstrndx.
        lay.fields += [(4, 1), (5, 1), (6, 1), (16, 2), (18, 2)]
        lay.fields += [(24, w), (24 + w, w), (24 + 2 * w, w)]
        lay.fields += [(36 + 2 * w + 2 * k, 2) for k in range(7)]
        phoff = struct.unpack_from(o + ("Q" if is64 else "I"), data, 24 + w)[0]
        phentsize, phnum = struct.unpack_from(o + "HH", data, 42 + 2 * w)
        loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        dynamic: tuple[int, int] | None = None
        for k in range(min(phnum, 64)):
            base = phoff + k * phentsize
            if base + phentsize > len(data):
                break
            if is64:
                p_type, _fl, off, vaddr, _pa, filesz = struct.unpack_from(
                    o + "IIQQQQ", data, base
                )
                offs = (
                    (base, 4),
                    (base + 8, 8),
                    (base + 16, 8),
                    (base + 32, 8),
                    (base + 40, 8),
                )
            else:
                p_type, off, vaddr, _pa, filesz = struct.unpack_from(
                    o + "IIIII", data, base
                )
                offs = (
                    (base, 4),
                    (base + 4, 4),
                    (base + 8, 4),
                    (base + 16, 4),
                    (base + 20, 4),
                )
            lay.fields += list(offs)
            if p_type == 1:
                loads.append((vaddr, off, filesz))
            elif p_type == 2:
                dynamic = (off, filesz)

        def to_offset(addr: int) -> int | None:
            for vaddr, off, filesz in loads:
                if vaddr <= addr < vaddr + filesz:
                    return off + addr - vaddr
            return None

        if dynamic is not None:
            off, size = dynamic
            step = 2 * w
            for pos in range(off, min(off + size, len(data) - step + 1), step):
                tag, val = struct.unpack_from(o + ("qQ" if is64 else "iI"), data, pos)
                lay.fields += [(pos, w), (pos + w, w)]
                if tag == 0:
                    break
                if tag in _TABLE_TAGS:
                    where = to_offset(val)
                    if where is not None:
                        lay.fields += [(where + i, 4) for i in range(0, 32, 4)]
                        lay.fields += [(where, w), (where + w, w)]
    except (struct.error, IndexError):
        pass
    lay.fields = [(a, b) for a, b in lay.fields if a >= 0 and a + b <= len(data)]
    return lay


def _put_int(data: bytearray, offset: int, width: int, value: int, order: str) -> None:
    value &= (1 << (8 * width)) - 1
    fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    struct.pack_into(order + fmt, data, offset, value)


def mutate_elf(
    data: bytes, ch: Chooser, others: Sequence[bytes] = (), rounds: int = 0
) -> bytes:
    """Apply 1-6 mutations, mostly aimed at the fields the reader trusts."""
    buf = bytearray(data)
    lay = elf_layout(data)
    for _ in range(rounds or 1 + ch.below(6)):
        op = ch.below(100)
        if op < 45 and lay.fields:  # an integer field -> boundary or nearby value
            off, width = ch.pick(lay.fields)
            if off + width > len(buf):
                continue
            if ch.chance(60):
                value = ch.pick(BOUNDARY)
            else:
                current = int.from_bytes(
                    buf[off : off + width], "little" if lay.order == "<" else "big"
                )
                value = current + ch.pick((-1, 1, -8, 8, 16, 0x1000, -0x1000, 1 << 20))
            _put_int(buf, off, width, value, lay.order)
        elif op < 60 and buf:  # bit flip anywhere
            pos = ch.below(len(buf))
            buf[pos] ^= 1 << ch.below(8)
        elif op < 70 and buf:  # overwrite a run of bytes
            pos = ch.below(len(buf))
            blob = ch.blob(16)
            buf[pos : pos + len(blob)] = blob
        elif op < 80 and buf:  # truncate (often right inside a hot field)
            if lay.fields and ch.chance(50):
                off, width = ch.pick(lay.fields)
                cut = off + ch.below(width + 1)
            else:
                cut = ch.below(len(buf) + 1)
            del buf[cut:]
        elif op < 87 and buf:  # delete or duplicate a chunk
            pos = ch.below(len(buf))
            size = 1 + ch.below(256)
            if ch.chance(50):
                del buf[pos : pos + size]
            else:
                buf[pos:pos] = buf[pos : pos + size]
        elif op < 94 and others:  # splice with another seed
            other = ch.pick(others)
            cut = ch.below(min(len(buf), len(other)) + 1)
            buf = (
                bytearray(buf[:cut] + other[cut:])
                if ch.chance(50)
                else bytearray(other[:cut] + buf[cut:])
            )
            lay = elf_layout(bytes(buf))
        else:  # string tables: make names long, empty or unterminated
            pos = ch.below(len(buf)) if buf else 0
            buf[pos : pos + 8] = ch.pick(
                (b"\0" * 8, b"A" * 8, b"libc.so.6", b"libc.so\0", b"$ORIGIN:")
            )
    return bytes(buf[:MAX_ELF_LEN])


_ZIP_NAMES = (
    "fuzz/_ext.so",
    "fuzz/x.so.1",
    "fuzz.libs/libx.so.3",
    "fuzz-1.0.data/scripts/t",
    "fuzz/tool",
    "fuzz/mod.py",
    "fuzz/dir.so/",
    "../escape.so",
    "/abs.so",
    "a" * 300 + ".so",
    "fuzz/\u00e9\u00e8.so",
    "fuzz/NUL\0.so",
    "",
)


def mutate_wheel_model(
    members: list[Member], ch: Chooser, elf_seeds: Sequence[bytes]
) -> list[Member]:
    members = [Member(m.name, m.data, m.method) for m in members]
    for _ in range(1 + ch.below(3)):
        op = ch.below(100)
        elf_idx = [i for i, m in enumerate(members) if m.data[:4] == b"\x7fELF"]
        if op < 50 and elf_idx:
            m = members[ch.pick(elf_idx)]
            m.data = mutate_elf(m.data, ch, elf_seeds)
        elif op < 60 and members:
            ch.pick(members).name = ch.pick(_ZIP_NAMES)
        elif op < 68 and members:
            ch.pick(members).method = ch.pick(
                (
                    zipfile.ZIP_STORED,
                    zipfile.ZIP_DEFLATED,
                    zipfile.ZIP_BZIP2,
                    zipfile.ZIP_LZMA,
                )
            )
        elif op < 74 and members:
            members.pop(ch.below(len(members)))
        elif op < 80 and members:
            members.append(Member(**vars(ch.pick(members))))  # same name twice
        elif op < 86:
            head = ch.pick(elf_seeds)[: ch.pick((0, 4, 16, 52, 64, 4096))]
            members.append(
                Member(ch.pick(_ZIP_NAMES), head + bytes(ch.below(16 << 20)))
            )
        elif op < 93 and members:
            m = ch.pick(members)
            m.data = m.data[: ch.below(len(m.data) + 1)]
        else:
            members.append(Member(ch.pick(_ZIP_NAMES), ch.pick(elf_seeds)))
    return members


def _zip_fields(data: bytes) -> list[tuple[int, int]]:
    """Header fields of local headers, central directory entries and the EOCD."""
    fields: list[tuple[int, int]] = []
    # (offset, width) pairs after each signature: versions, flags, method,
    # CRC, sizes, name/extra lengths, offsets, counts.
    layouts = {
        b"PK\x03\x04": (4, 2, 6, 2, 8, 2, 14, 4, 18, 4, 22, 4, 26, 2, 28, 2),
        b"PK\x01\x02": (
            6, 2, 8, 2, 10, 2, 16, 4, 20, 4, 24, 4, 28, 2, 30, 2, 32, 2, 38, 4, 42, 4,
        ),
        b"PK\x05\x06": (8, 2, 10, 2, 12, 4, 16, 4, 20, 2),
    }  # fmt: skip
    for magic, spec in layouts.items():
        start = 0
        while (pos := data.find(magic, start)) >= 0 and len(fields) < 400:
            fields += [(pos + spec[i], spec[i + 1]) for i in range(0, len(spec), 2)]
            start = pos + 4
    return [(a, b) for a, b in fields if a + b <= len(data)]


def mutate_zip_bytes(data: bytes, ch: Chooser) -> bytes:
    buf = bytearray(data)
    fields = _zip_fields(data)
    for _ in range(1 + ch.below(3)):
        fields = [(a, b) for a, b in fields if a + b <= len(buf)]
        if fields and ch.chance(70):
            off, width = ch.pick(fields)
            _put_int(buf, off, width, ch.pick(BOUNDARY), "<")
        elif buf and ch.chance(50):
            pos = ch.below(len(buf))
            buf[pos] ^= 1 << ch.below(8)
        elif buf:
            del buf[ch.below(len(buf)) :]
    return bytes(buf)


def read_model(data: bytes) -> list[Member] | None:
    """The members of a zip (each read up to 1 MiB), or None if unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            out = []
            for info in zf.infolist()[:64]:
                with zf.open(info) as f:
                    out.append(
                        Member(info.filename, f.read(1 << 20), info.compress_type)
                    )
            return out
    except Exception:
        return None


def mutate_wheel(
    data: bytes, ch: Chooser, models: Sequence[list[Member]], elf_seeds: Sequence[bytes]
) -> bytes:
    model = read_model(data) if data else None
    if model is None or ch.chance(20):
        model = ch.pick(models)
    try:
        out = zip_bytes(mutate_wheel_model(model, ch, elf_seeds))
    except (ValueError, OSError, NotImplementedError, RuntimeError):
        out = zip_bytes(ch.pick(models))
    if ch.chance(30):
        out = mutate_zip_bytes(out, ch)
    return out[:MAX_WHEEL_LEN]


# --------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------


@dataclass
class Stats:
    target: str
    engine: str
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    crashes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def dump(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**vars(self), "outcomes": dict(self.outcomes)}))
        tmp.replace(path)


class Crash(Exception):
    pass


def _signature(exc: BaseException) -> str:
    """Exception type and the innermost frame in pip: one saved input each."""
    frames = [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}"
        for f in traceback.extract_tb(exc.__traceback__)
        if "/pip/" in f.filename
    ]
    return f"{type(exc).__name__} at {frames[-1] if frames else '?'}"


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.target: str = args.target
        self.stats = Stats(self.target, args.engine)
        self.stats_path = Path(args.stats)
        self.regressions = Path(args.regressions)
        corpus = Path(args.corpus)
        self.elf_seeds = [p.read_bytes() for p in sorted((corpus / "elf").iterdir())]
        self.wheel_seeds = [
            p.read_bytes() for p in sorted((corpus / "wheel").iterdir())
        ]
        self.models = [m for m in map(read_model, self.wheel_seeds) if m]
        self.last_dump = 0.0
        self.started = time.monotonic()
        self.signatures: set[str] = set()

    @property
    def seeds(self) -> list[bytes]:
        return self.elf_seeds if self.target == "elf" else self.wheel_seeds

    def mutate(self, data: bytes, ch: Chooser) -> bytes:
        if self.target == "elf":
            return mutate_elf(data, ch, self.elf_seeds)
        return mutate_wheel(data, ch, self.models, self.elf_seeds)

    def run_one(self, data: bytes) -> None:
        start = time.monotonic()
        try:
            outcome = check_input(
                self.target, data, per_input_seconds=self.args.per_input_seconds
            )
        except (Exception, InputTimeout) as exc:
            self.stats.inputs += 1
            signature = _signature(exc)
            if signature in self.signatures:
                return  # --keep-going: a crash already saved
            self.signatures.add(signature)
            path = save_regression(self.target, data, self.regressions)
            self.stats.crashes.append(f"{path}: {type(exc).__name__}: {exc}")
            self.stats.seconds = time.monotonic() - self.started
            self.stats.dump(self.stats_path)
            print(
                f"\nCRASH ({self.target}): {type(exc).__name__}: {exc}\n"
                f"input saved as {path}\n{traceback.format_exc()}",
                file=sys.stderr,
                flush=True,
            )
            if self.args.keep_going:
                return
            raise Crash(str(path)) from exc
        took = time.monotonic() - start
        self.stats.inputs += 1
        self.stats.outcomes[outcome] += 1
        self.stats.slowest = max(self.stats.slowest, took)
        now = time.monotonic()
        if now - self.last_dump > 1.0:
            self.last_dump = now
            self.stats.seconds = now - self.started
            self.stats.dump(self.stats_path)

    # -- atheris ------------------------------------------------------------------

    def run_atheris(self) -> int:
        import atheris

        corpus = scratch_dir() / f"atheris-{self.target}"
        corpus.mkdir()
        for i, seed in enumerate(self.seeds):
            (corpus / f"seed-{i}").write_bytes(seed)
        artifacts = corpus / "artifacts"
        artifacts.mkdir()

        def test_one(data: bytes) -> None:
            try:
                self.run_one(bytes(data))
            except Crash:
                self.stats.dump(self.stats_path)
                os._exit(1)

        def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
            rng = random.Random(seed)
            if rng.random() < 0.3:
                out = atheris.Mutate(data, max_size)
            else:
                out = self.mutate(data or rng.choice(self.seeds), RandomChooser(rng))
            return out[:max_size]

        max_len = MAX_ELF_LEN if self.target == "elf" else MAX_WHEEL_LEN
        libfuzzer_args = [
            sys.argv[0],
            f"-max_total_time={max(1, int(self.args.seconds))}",
            f"-max_len={max_len}",
            f"-timeout={int(self.args.per_input_seconds * 10) + 5}",
            "-rss_limit_mb=3072",
            f"-artifact_prefix={artifacts}/",
            f"-seed={self.args.seed}",
            "-print_final_stats=1",
            str(corpus),
        ]
        with atheris.instrument_imports():
            for module in ("elf", "musl_version", "wheel_abi"):
                importlib.import_module(f"pip._internal.libc.{module}")
        atheris.Setup(libfuzzer_args, test_one, custom_mutator=custom_mutator)
        atheris.Fuzz()  # exits the process when the time is up
        return 0

    # -- hypothesis ---------------------------------------------------------------

    def run_hypothesis(self) -> int:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st

        # Bound memory too: a reader that tries to allocate without limit fails.
        limit = self.args.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        deadline = self.started + self.args.seconds
        seeds = self.seeds

        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
        )
        @given(index=st.integers(0, len(seeds) - 1), data=st.data())
        def fuzz_round(index: int, data: st.DataObject) -> None:
            # No early return on the deadline in here: hypothesis needs the same
            # draws whenever a choice sequence repeats. Rounds are short instead.
            self.run_one(self.mutate(seeds[index], HypothesisChooser(data.draw)))

        # Plain random mutations interleave with hypothesis's rounds: stacking
        # mutations on mutated inputs gets deeper than one draw does.
        rng = random.Random(self.args.seed)
        pool = list(seeds)

        def stop() -> bool:
            return bool(self.stats.crashes) and not self.args.keep_going

        while time.monotonic() < deadline and not stop():
            try:
                fuzz_round()
            except Exception:
                # A Crash (already saved and reported by run_one), or
                # hypothesis's report about one that did not replay.
                if not self.stats.crashes:
                    raise
                if stop():
                    break
            for _ in range(200):
                if time.monotonic() > deadline:
                    break
                sample = self.mutate(rng.choice(pool), RandomChooser(rng))
                try:
                    self.run_one(sample)
                except Crash:
                    break
                if len(pool) < 400 and rng.random() < 0.2:
                    pool.append(sample)
        crashed = self.stats.crashes
        self.stats.seconds = time.monotonic() - self.started
        self.stats.dump(self.stats_path)
        return 1 if crashed else 0


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def make_corpus(directory: Path) -> tuple[int, int]:
    (directory / "elf").mkdir(parents=True)
    (directory / "wheel").mkdir()
    with tempfile.TemporaryDirectory(prefix="pip-musl-fuzz-build-") as tmp:
        elf = build_elf_seeds(Path(tmp))
    for name, data in elf.items():
        (directory / "elf" / f"{name}.bin").write_bytes(data)
    models = build_wheel_models(elf)
    for i, model in enumerate(models):
        (directory / "wheel" / f"wheel-{i}.bin").write_bytes(zip_bytes(model))
    return len(elf), len(models)


def _engine(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import atheris  # noqa: F401
    except ImportError:
        return "hypothesis"
    return "atheris"


def drive(args: argparse.Namespace) -> int:
    engine = _engine(args.engine)
    targets = TARGETS if args.target == "all" else (args.target,)
    share = max(1.0, args.seconds / len(targets))
    failed = False
    with tempfile.TemporaryDirectory(prefix="pip-musl-fuzz-") as tmp:
        corpus = Path(tmp) / "corpus"
        n_elf, n_wheel = make_corpus(corpus)
        print(
            f"fuzz.py: engine {engine}; seeds: {n_elf} ELF files, {n_wheel} wheels; "
            f"{share:.0f} s per target; per-input bound {args.per_input_seconds} s; "
            f"crashes go to {args.regressions}",
            flush=True,
        )
        for target in targets:
            stats_path = Path(tmp) / f"{target}.json"
            cmd = [
                sys.executable, str(Path(__file__).resolve()), "--worker",
                "--target", target, "--engine", engine, "--seconds", str(share),
                "--corpus", str(corpus), "--stats", str(stats_path),
                "--regressions", str(args.regressions), "--seed", str(args.seed),
                "--per-input-seconds", str(args.per_input_seconds),
                "--memory-mb", str(args.memory_mb),
                *(["--keep-going"] if args.keep_going else []),
            ]  # fmt: skip
            started = time.monotonic()
            log = Path(tmp) / f"{target}.log"
            env = dict(os.environ, PIP_MUSL_FUZZ_SCRATCH=str(Path(tmp) / "scratch"))
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=env
                )
                try:
                    rc = proc.wait(timeout=share + 120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
                    print(f"fuzz.py: {target} worker hung; killed", flush=True)
            took = time.monotonic() - started
            stats: dict[str, Any] = {}
            if stats_path.exists():
                stats = json.loads(stats_path.read_text())
            text = log.read_text(errors="replace")
            summary = (
                f"{target}: {stats.get('inputs', '?')} inputs in {took:.0f} s "
                f"(outcomes {stats.get('outcomes', {})}, slowest input "
                f"{stats.get('slowest', 0):.3f} s), worker exit {rc}"
            )
            print(summary, flush=True)
            if engine == "atheris":
                for line in text.splitlines():
                    if line.startswith(("Done ", "stat::number_of_executed_units")):
                        print(f"  libFuzzer: {line}", flush=True)
            for crash in stats.get("crashes", []):
                print(f"  CRASH: {crash}", flush=True)
            if rc != 0 or stats.get("crashes"):
                failed = True
                print(f"--- {target} worker output (tail):\n{text[-6000:]}", flush=True)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, required=True, help="total budget")
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="all")
    parser.add_argument(
        "--engine", choices=("auto", "atheris", "hypothesis"), default="auto"
    )
    parser.add_argument(
        "--per-input-seconds", type=float, default=DEFAULT_PER_INPUT_SECONDS
    )
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="after a crash, keep fuzzing (one saved input per distinct crash)",
    )
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--regressions", type=Path, default=REGRESSIONS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.worker:
        return drive(args)
    worker = Worker(args)
    if args.engine == "atheris":
        return worker.run_atheris()
    return worker.run_hypothesis()


if __name__ == "__main__":
    sys.exit(main())
