"""The streaming member reader and the read-ahead threads, on real shared objects.

Large members are compiled here (``gcc`` and ``musl-gcc``, machine code padded
with ``.incbin``/``.fill`` so the dynamic section sits tens of MB in), in the
layouts real wheels have: GNU ld's default (separate code), the classic one
(``-z noseparate-code``: the tables inside the code segment) and what
auditwheel's ``patchelf`` leaves (string table and dynamic section moved to new
segments at the end). What the reader learns must equal parsing the whole file,
it must not hold the member in memory, and reading ahead in threads must change
nothing that is reported.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import zipfile
from pathlib import Path

import pytest

from pip._internal.libc import read_ahead
from pip._internal.libc.elf import parse_elf
from pip._internal.libc.elf_summary import elf_member_from
from pip._internal.libc.inflated_members import (
    MemberSpool,
    file_identity,
    take_inflated,
)
from pip._internal.libc.wheel_abi import InspectionLimits, inspect_wheel
from tests.lib.elfbuild import compile_so, require_tool, run_bounded, write_wheel

MiB = 1 << 20

# A module whose code segment is padded: ``filler`` is the assembler directive.
PADDED_SOURCE = """\
#include <stdlib.h>
#include <string.h>
__asm__(".text\\n.globl padding\\npadding:\\n{filler}\\n");
char *duplicate(const char *s) {{ char *d = malloc(strlen(s) + 1);
    return d ? strcpy(d, s) : d; }}
int PyInit_padded(void) {{ return 0; }}
"""


def padded_so(
    dest: Path, *, filler: str, compiler: str = "gcc", ldflags: tuple[str, ...] = ()
) -> bytes:
    return compile_so(
        dest, PADDED_SOURCE.format(filler=filler), compiler=compiler, ldflags=ldflags
    )


def patchelf(path: Path, *args: str) -> bytes:
    tool = require_tool("patchelf", "patchelf")
    proc = subprocess.run(
        [tool, *args, str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return path.read_bytes()


def random_bin(dest: Path, size: int, seed: int) -> Path:
    dest.write_bytes(random.Random(seed).randbytes(size))
    return dest


LAYOUTS = {
    "separate-code": (),
    "classic": ("-Wl,-z,noseparate-code",),
}


@pytest.mark.parametrize("spooled", [False, True], ids=["check", "install"])
@pytest.mark.parametrize("compiler", ["gcc", "musl-gcc"])
@pytest.mark.parametrize("layout", [*LAYOUTS, "patchelf"])
def test_large_member_reads_like_the_whole_file(
    tmp_path: Path, compiler: str, layout: str, spooled: bool
) -> None:
    so = tmp_path / "big.so"
    data = padded_so(
        so,
        filler=".fill 24000000, 1, 0x90",
        compiler=compiler,
        ldflags=LAYOUTS.get(layout, ()),
    )
    if layout == "patchelf":
        # What auditwheel does to every bundled library and extension.
        data = patchelf(so, "--set-rpath", "$ORIGIN/../big.libs")
        data = patchelf(so, "--add-needed", "libextra-0123abcd.so.1")
    whole = parse_elf(data)
    dynamic = next(s for s in whole.segments if s.type == 2)
    assert dynamic.offset > 20 * MiB, "the padding did not land before .dynamic"
    wheel = write_wheel(tmp_path, {"padded/_big.so": data})
    # For an install the member is copied out as it is read, and the parser
    # reads the copy's pages instead of a window of its own.
    spool = None
    if spooled:
        (tmp_path / "spool").mkdir()
        identity = file_identity(str(wheel))
        assert identity is not None
        spool = MemberSpool(str(wheel), identity, str(tmp_path / "spool"))
    abi = inspect_wheel(wheel, spool=spool)
    if spool is not None:
        assert spool.count == 1
        with zipfile.ZipFile(wheel) as archive:
            copy = take_inflated(archive, "padded/_big.so")
        assert copy is not None
        assert Path(copy).read_bytes() == data
        assert abi == inspect_wheel(wheel)
    (found,) = abi.members
    assert found == elf_member_from("padded/_big.so", whole)
    assert "malloc" in found.undefined and "PyInit_padded" in found.defined
    if layout == "patchelf":
        assert "libextra-0123abcd.so.1" in found.needed
        assert found.rpath + found.runpath == ("$ORIGIN/../big.libs",)
    # One pass: what is inflated is the member up to its tables, no more.
    assert abi.bytes_read <= len(data)


def test_memory_holds_the_tables_not_the_member(tmp_path: Path) -> None:
    # 48 MB of machine code: the previous reader held all of it (and a copy
    # while growing); this one keeps the header, tables and dynamic section.
    so = tmp_path / "huge.so"
    data = padded_so(so, filler=".fill 48000000, 1, 0x90")
    wheel = write_wheel(tmp_path, {"padded/_huge.so": data})
    proc = run_bounded(
        f"""
        import json
        from pip._internal.libc.wheel_abi import inspect_wheel
        # Not ru_maxrss: it keeps the spawning pytest worker's peak across
        # execve, and a big worker would hide any growth here.
        def peak_kib():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        before = peak_kib()
        abi = inspect_wheel({str(wheel)!r})
        after = peak_kib()
        print(json.dumps({{"members": len(abi.members),
                           "grew_kib": after - before, "read": abi.bytes_read}}))
        """
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["members"] == 1
    assert report["read"] > 40 * MiB
    # The window is anonymous memory written only where kept; 1 MiB chunks
    # pass through. Far below the 48 MB the whole member would take.
    assert report["grew_kib"] < 12 * 1024, report


def _incompressible_wheel(tmp_path: Path, count: int) -> Path:
    files = {}
    for i in range(count):
        blob = random_bin(tmp_path / f"r{i}.bin", 1 * MiB + 4096 * i, seed=i)
        so = tmp_path / f"m{i}.so"
        files[f"pkg/_m{i}.so"] = padded_so(so, filler=f'.incbin \\"{blob}\\"')
    return write_wheel(tmp_path, files)


def _spy_read_ahead(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []
    original = read_ahead.ReadAhead.__init__

    def counting_init(self: read_ahead.ReadAhead, *args: object, **kw: object) -> None:
        made.append(1)
        original(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(read_ahead.ReadAhead, "__init__", counting_init)
    return made


@pytest.mark.parametrize(
    "limits",
    [
        InspectionLimits(),
        # Runs out after about three members: read-ahead results past that
        # point must be judged on what the wheel's budget has left.
        InspectionLimits(wheel_budget=3 * MiB + 512 * 1024),
        InspectionLimits(max_symbols=30),
    ],
    ids=["default", "byte-budget", "symbol-budget"],
)
def test_read_ahead_reports_what_one_at_a_time_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: InspectionLimits
) -> None:
    wheel = _incompressible_wheel(tmp_path, 6)
    with zipfile.ZipFile(wheel) as archive:
        compressed = sum(i.compress_size for i in archive.infolist())
    assert compressed > read_ahead.READ_AHEAD_MIN_BYTES
    made = _spy_read_ahead(monkeypatch)
    ahead = inspect_wheel(wheel, limits=limits)  # a path: may read ahead
    cpus = len(os.sched_getaffinity(0))
    assert made == ([1] if cpus > 1 else []), f"{cpus} CPUs"
    with open(wheel, "rb") as stream:  # a stream: one member at a time
        one_by_one = inspect_wheel(stream, limits=limits)
    assert len(made) <= 1
    assert ahead == one_by_one
    assert ahead.bytes_read == one_by_one.bytes_read
    if limits.wheel_budget < 10 * MiB:
        assert 1 <= len(ahead.members) < 6 and ahead.notes
    if limits.max_symbols == 30:
        assert len(ahead.members) < 6 and "symbol budget" in ahead.notes[0].message


def test_stopping_early_leaves_no_threads(tmp_path: Path) -> None:
    wheel = _incompressible_wheel(tmp_path, 6)
    proc = run_bounded(
        f"""
        import threading
        from pip._internal.libc.wheel_archive import ArchiveScan, open_archive
        with open_archive({str(wheel)!r}) as archive:
            scan = ArchiveScan(archive, "w.whl", read_ahead=True)
            first = next(iter(scan))
            del scan
        import gc; gc.collect()
        names = [t.name for t in threading.enumerate()]
        print(first.name, [n for n in names if n.startswith("pip-wheel-check")])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["pkg/_m0.so", "[]"]


class _ReadOnlyStream:
    """A member stream with ``read`` alone (a buffered one: short only at its
    end), where zipfile's members have ``read1`` too."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        n = len(self._data) if n < 0 else n
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    def __enter__(self) -> _ReadOnlyStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


@pytest.mark.parametrize("sink", [False, True], ids=["check", "install"])
def test_a_stream_without_read1_reads_what_a_zip_member_does(
    tmp_path: Path, sink: bool
) -> None:
    from pip._internal.libc.wheel_member import Budget, Parsed, read_member

    data = padded_so(tmp_path / "m.so", filler=".fill 3000000, 1, 0x90")
    limits = InspectionLimits(first_read=64 * 1024)
    written: list[bytes] = []

    class ListSink:
        done = False

        def write(self, chunk: bytes) -> None:
            written.append(bytes(chunk))

        def complete(self) -> None:
            ListSink.done = True

        def abandon(self) -> None:
            pass

        def mapped(self, length: int) -> object:
            import mmap

            window = mmap.mmap(-1, length)
            window[:] = b"".join(written)[:length]
            return window

    outcome = read_member(
        lambda: _ReadOnlyStream(data),  # type: ignore[arg-type,return-value]
        len(data),
        limits,
        Budget(limits.wheel_budget, limits.max_symbols),
        ListSink() if sink else None,  # type: ignore[arg-type]
    )
    assert isinstance(outcome, Parsed), outcome
    assert outcome.elf == parse_elf(data)
    if sink:
        assert ListSink.done and b"".join(written) == data
