"""Hostile inputs cost bounded memory and time, in child processes under rlimits.

Every check runs in a child of the fork's venv with ``RLIMIT_AS`` (address space)
and ``RLIMIT_CPU`` set, plus a wall-clock timeout; the child reports its own peak
RSS and CPU time, and the test asserts both the outcome (a clear result or message)
and that the child stayed well inside the limits. A runaway shows up as a killed
child (SIGXCPU, MemoryError) or a timeout, naming the input.

Three layers:

* **pip itself** -- ``pip install --dry-run --no-index --find-links`` of adversarial
  wheels: the install-time check runs in pip's preparer (patch point
  ``RequirementPreparer._prepare_linked_requirement``); ``--dry-run`` resolves and
  prepares (so the check runs) but never unpacks a multi-GiB member to disk.
* **the inspector** -- ``check_wheel_file`` for a glibc and a musl host on the same
  wheels, with a tighter memory limit.
* **host detection** -- ``sys.executable`` (or the loader named by PT_INTERP) is a
  FIFO nobody writes to, a character device, a sparse multi-GiB file, or a "loader"
  that never exits.

The unit-level verdicts on such files live in tests/unit/test_wheel_abi.py and
tests/functional/test_wheel_abi_real.py (``inspect_wheel``); this module is about
the limits, end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lib import loaders
from tests.lib.index import cache_dir
from tests.lib.venvs import Venv, clean_env
from tests.lib.wheels import compile_shared_lib

MiB = 1 << 20
GiB = 1 << 30

#: Limits for children running pip (interpreter + pip + the check).
PIP_MEMORY = 1 * GiB
PIP_CPU = 20
#: Limits for children running only the inspector or detection.
CHECK_MEMORY = 512 * MiB
CHECK_CPU = 5
#: What a child may really use: far below the limits.
MAX_RSS_MIB = 300


# --------------------------------------------------------------------------
# Children under limits
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limited:
    returncode: int
    stdout: str
    stderr: str
    maxrss_mib: float
    cpu_seconds: float
    wall_seconds: float

    def describe(self) -> str:
        return (
            f"exit {self.returncode}, peak RSS {self.maxrss_mib:.0f} MiB, "
            f"CPU {self.cpu_seconds:.2f} s, wall {self.wall_seconds:.2f} s\n"
            f"--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"
        )


_USAGE_PRELUDE = """\
import atexit, json, os, resource, time
for _limit, _env in ((resource.RLIMIT_AS, "RB_MEMORY"), (resource.RLIMIT_CPU, "RB_CPU")):
    resource.setrlimit(_limit, (int(os.environ[_env]),) * 2)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
_t0 = time.perf_counter()
def _report():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss survives execve: a child spawned (vfork) by a big pytest worker
    # starts with the worker's peak. VmHWM belongs to this image's own memory.
    with open("/proc/self/status") as f:
        hwm = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    with open(os.environ["RB_USAGE"], "w") as f:
        json.dump({"maxrss_kib": int(hwm[0]), "cpu": ru.ru_utime + ru.ru_stime,
                   "wall": time.perf_counter() - _t0}, f)
atexit.register(_report)
"""


def run_limited(
    python: Path,
    code: str,
    *args: str,
    memory: int,
    cpu: int,
    wall: float,
    tmp: Path,
    env: Mapping[str, str] | None = None,
) -> Limited:
    """Run ``code`` with ``python`` under RLIMIT_AS=memory, RLIMIT_CPU=cpu
    (set first thing in the child, before anything the test is about)."""
    usage = tmp / f"usage-{time.monotonic_ns()}.json"
    child_env = clean_env(
        RB_USAGE=str(usage),
        RB_MEMORY=str(memory),
        RB_CPU=str(cpu),
        PYTHONUNBUFFERED="1",
        **(env or {}),
    )
    start = time.monotonic()
    proc = subprocess.Popen(
        [str(python), "-c", _USAGE_PRELUDE + textwrap.dedent(code), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env,
        cwd=tmp,
    )
    try:
        out, err = proc.communicate(timeout=wall)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(
            f"child exceeded {wall} s of wall-clock time (limits: {memory >> 20} "
            f"MiB, {cpu} s CPU):\n{out[-3000:]}\n{err[-3000:]}",
            pytrace=False,
        )
    took = time.monotonic() - start
    if not usage.exists():
        pytest.fail(
            f"child died without reporting (exit {proc.returncode}; a negative exit "
            f"is the signal: -{signal_name(proc.returncode)}) under limits "
            f"{memory >> 20} MiB / {cpu} s CPU:\n{out[-3000:]}\n{err[-3000:]}",
            pytrace=False,
        )
    used = json.loads(usage.read_text())
    return Limited(
        proc.returncode, out, err, used["maxrss_kib"] / 1024, used["cpu"], took
    )


def signal_name(returncode: int) -> str:
    import signal

    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return str(returncode)


def assert_within(result: Limited, *, cpu: float, wall: float) -> None:
    assert result.maxrss_mib < MAX_RSS_MIB, result.describe()
    assert result.cpu_seconds < cpu, result.describe()


# --------------------------------------------------------------------------
# Adversarial wheels
# --------------------------------------------------------------------------


def _dos_time() -> tuple[int, int]:
    """00:00:00 on 1980-01-01, the zip epoch, as (time, date)."""
    return 0, (1 << 5) | 1


def _deflate_zeros(size: int, head: bytes, chunk: int = 64 * MiB) -> tuple[bytes, int]:
    """A raw deflate stream of ``head`` + zeros up to ``size`` bytes, and its CRC.

    Each 64 MiB block of zeros is compressed once with Z_FULL_FLUSH (which resets
    the compressor, so the block's output is self-contained) and repeated: several
    GiB cost a few seconds and a few MiB, never the whole size in memory.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [comp.compress(head), comp.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(head)
    left = size - len(head)
    block_comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(chunk)
    block = block_comp.compress(zeros) + block_comp.flush(zlib.Z_FULL_FLUSH)
    zero_crc_steps = 0
    while left >= chunk:
        parts.append(block)
        left -= chunk
        zero_crc_steps += 1
    for _ in range(zero_crc_steps):
        crc = zlib.crc32(zeros, crc)
    if left:
        tail = zlib.compressobj(9, zlib.DEFLATED, -15)
        parts.append(tail.compress(bytes(left)) + tail.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(bytes(left), crc)
    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts.append(final.flush(zlib.Z_FINISH))
    return b"".join(parts), crc


def write_zip(
    path: Path, members: Mapping[str, bytes], bomb: tuple[str, int, bytes]
) -> Path:
    """A zip with ordinary deflated ``members`` and one ZIP64 member ``bomb``
    (name, size, head) that inflates to ``size`` bytes: ``head`` then zeros.
    Written by hand, since zipfile cannot store pre-compressed data."""
    mtime, mdate = _dos_time()
    out = bytearray()
    central = bytearray()
    entries = 0

    def add(name: str, raw: bytes, crc: int, usize: int, zip64: bool) -> None:
        nonlocal entries
        fname = name.encode()
        offset = len(out)
        if zip64:  # sizes in the ZIP64 extra field
            extra = struct.pack("<HHQQ", 1, 16, usize, len(raw))
            sizes, version = (0xFFFFFFFF, 0xFFFFFFFF), 45
        else:
            extra, sizes, version = b"", (len(raw), usize), 20
        head = (version, 0, 8, mtime, mdate, crc, *sizes, len(fname), len(extra))
        out.extend(struct.pack("<IHHHHHIIIHH", 0x04034B50, *head) + fname + extra)
        out.extend(raw)
        tail = (0, 0, 0, 0o100644 << 16, offset)  # comment, disk, attrs, offset
        entry = struct.pack("<IH", 0x02014B50, (3 << 8) | version)
        entry += struct.pack("<HHHHHIIIHH", *head) + struct.pack("<HHHII", *tail)
        central.extend(entry + fname + extra)
        entries += 1

    for name, data in members.items():
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = comp.compress(data) + comp.flush()
        add(name, raw, zlib.crc32(data), len(data), zip64=False)
    name, size, head = bomb
    raw, crc = _deflate_zeros(size, head)
    add(name, raw, crc, size, zip64=True)
    cd_offset, cd_size = len(out), len(central)
    out.extend(central)
    z64_offset = len(out)
    z64_end = (44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    out.extend(struct.pack("<IQHHIIQQQQ", 0x06064B50, *z64_end))
    out.extend(struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1))
    end = (0, 0, entries, entries, cd_size, cd_offset, 0)
    out.extend(struct.pack("<IHHHHIIH", 0x06054B50, *end))
    path.write_bytes(bytes(out))
    return path


def _dist_info(project: str, tag: str) -> dict[str, bytes]:
    pkg = project.replace("-", "_")
    di = f"{pkg}-1.0.dist-info"
    files = {
        f"{pkg}/__init__.py": b"",
        f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {project}\nVersion: 1.0\n\n".encode(),
        f"{di}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test_resource_bounds\n"
            f"Root-Is-Purelib: false\nTag: {tag}\n"
        ).encode(),
    }
    files[f"{di}/RECORD"] = b""  # pip's --dry-run never verifies RECORD
    return files


# The generic tag: on glibc the fork trusts manylinux wheels (auditwheel checked
# them) and opens only generic linux_<arch> ones, so that is what the
# adversaries carry to reach the check through pip.
CP = f"cp{sys.version_info[0]}{sys.version_info[1]}"  # the running CPython's
TAG = f"{CP}-{CP}-linux_x86_64"
BOMB_SIZE = 6 * GiB

PLAIN_C = "int rb_value(void) { return 42; }\n"


@dataclass(frozen=True)
class Adversary:
    project: str
    expect: str
    """``ok``: the check lets it through (a note at most); ``refused``: every
    file is rejected with a one-line reason; ``pip-error``: pip itself cannot
    read the wheel (before the check)."""
    reason: str
    """A piece of the reason pip must give (``refused``/``pip-error``)."""


ADVERSARIES = (
    Adversary("rb-zipbomb", "ok", ""),
    Adversary("rb-elfbomb", "ok", ""),
    Adversary("rb-notelf", "ok", ""),
    Adversary("rb-truncated", "refused", "is not a loadable ELF file: truncated"),
    Adversary("rb-hash32", "refused", "4294967295"),
    Adversary("rb-damaged", "refused", "damaged zip archive"),
    Adversary(
        "rb-corrupt",
        "pip-error",
        f"rb_corrupt-1.0-{TAG}.whl",
    ),
)


def _build_adversaries(dest: Path) -> None:
    so = compile_shared_lib(PLAIN_C, compiler="musl-gcc", soname="librb.so")
    glibc_so = compile_shared_lib(PLAIN_C, compiler="gcc", soname="librb.so")

    def wheel(project: str) -> Path:
        return dest / f"{project.replace('-', '_')}-1.0-{TAG}.whl"

    # A member named like a shared object that inflates to 6 GiB of zeros.
    write_zip(
        wheel("rb-zipbomb"),
        _dist_info("rb-zipbomb", TAG),
        ("rb_zipbomb/_ext.so", BOMB_SIZE, b""),
    )
    # The same, starting with a real ELF header whose program headers are
    # said to sit 5 GiB in: the reader would need that prefix.
    head = bytearray(glibc_so[:64])
    struct.pack_into("<Q", head, 32, 5 * GiB)  # e_phoff
    write_zip(
        wheel("rb-elfbomb"),
        _dist_info("rb-elfbomb", TAG),
        ("rb_elfbomb/_ext.so", BOMB_SIZE, bytes(head)),
    )

    def small(project: str, members: Mapping[str, bytes]) -> Path:
        path = wheel(project)
        import zipfile

        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in {**_dist_info(project, TAG), **members}.items():
                zf.writestr(name, data)
        return path

    small(
        "rb-notelf", {"rb_notelf/_ext.so": b"#!/bin/sh\necho not an ELF file\n" * 100}
    )
    small("rb-truncated", {"rb_truncated/_ext.so": glibc_so[: len(glibc_so) // 3]})
    image = loaders.build_elf(
        needed=["libc.so.6"],
        symbols=[loaders.SymbolSpec("malloc", defined=False)],
        hash_style="sysv",
    )
    small(
        "rb-hash32",
        {
            "rb_hash32/_ext.so": loaders.patch(
                image, image.offsets["hash"] + 4, 0xFFFFFFFF, 4
            )
        },
    )
    # The .so member's compressed bytes damaged (metadata intact): pip reads
    # the metadata, the check cannot inflate the member.
    damaged = small("rb-damaged", {"rb_damaged/_ext.so": so * 4})
    data = bytearray(damaged.read_bytes())
    at = data.find(b"rb_damaged/_ext.so") + len("rb_damaged/_ext.so") + 40
    data[at : at + 64] = bytes(range(64))
    damaged.write_bytes(bytes(data))
    # The central directory cut off: not a zip archive any more.
    corrupt = small("rb-corrupt", {"rb_corrupt/_ext.so": glibc_so})
    corrupt.write_bytes(corrupt.read_bytes()[:-30])


@pytest.fixture(scope="module")
def adversaries() -> Path:
    """The adversarial wheels, built once and kept in the test cache."""
    for tool in ("gcc", "musl-gcc"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is missing (Debian: apt-get install gcc musl-tools)",
                pytrace=False,
            )
    version = "v3"  # bump when the adversaries change
    dest = cache_dir() / "wheels" / f"resource-bounds-{version}-{CP}"
    if not (dest / ".complete").exists():
        tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        _build_adversaries(tmp)
        (tmp / ".complete").write_text("")
        shutil.rmtree(dest, ignore_errors=True)
        try:
            tmp.rename(dest)
        except OSError:  # another xdist worker won the race
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def test_bombs_are_small_files_declaring_gigabytes(adversaries: Path) -> None:
    import zipfile

    for project in ("rb_zipbomb", "rb_elfbomb"):
        path = adversaries / f"{project}-1.0-{TAG}.whl"
        assert path.stat().st_size < 16 * MiB
        with zipfile.ZipFile(path) as zf:
            assert zf.getinfo(f"{project}/_ext.so").file_size == BOMB_SIZE
            with zf.open(f"{project}/_ext.so") as member:  # a valid stream
                first = member.read(4 * MiB)
        assert len(first) == 4 * MiB
        if project == "rb_zipbomb":
            assert first == bytes(4 * MiB)
        else:
            assert first[:4] == b"\x7fELF" and not any(first[64:])


# --------------------------------------------------------------------------
# pip install --dry-run under limits
# --------------------------------------------------------------------------

PIP_MAIN = """\
import runpy, sys
sys.argv = ["pip", *sys.argv[1:]]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("adv", ADVERSARIES, ids=[a.project for a in ADVERSARIES])
def test_pip_install_check_under_limits(
    adv: Adversary, adversaries: Path, fork_venv: Venv, tmp_path: Path
) -> None:
    result = run_limited(
        fork_venv.python,
        PIP_MAIN,
        "install",
        "--dry-run",
        "--no-cache-dir",
        "--no-index",
        "--find-links",
        str(adversaries),
        adv.project,
        memory=PIP_MEMORY,
        cpu=PIP_CPU,
        wall=120,
        tmp=tmp_path,
    )
    assert_within(result, cpu=10, wall=60)
    filename = f"{adv.project.replace('-', '_')}-1.0-{TAG}.whl"
    if adv.expect == "ok":
        assert result.returncode == 0, result.describe()
        assert f"Would install {adv.project}-1.0" in result.stdout, result.describe()
        return
    assert result.returncode == 1, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    if adv.expect == "refused":
        # The resolver makes no candidate of it: nothing is left to install.
        assert (
            "Ignored the following versions whose wheels cannot load on this host"
            in result.stderr
        ), result.describe()
        assert f"Skipping {filename}: " in result.stdout, result.describe()
    assert adv.reason in result.stdout + result.stderr, result.describe()


# --------------------------------------------------------------------------
# The inspector alone, tighter
# --------------------------------------------------------------------------

CHECK = """\
import json, sys
from pip._internal.libc.host import HostLibc
from pip._internal.libc.wheel_abi import WheelAbiError, check_wheel_file
hosts = {
    "glibc": HostLibc("glibc", (2, 36), "x86_64", "/lib64/ld-linux-x86-64.so.2"),
    "musl": HostLibc("musl", (1, 2, 3), "x86_64", "/lib/ld-musl-x86_64.so.1"),
}
out = {}
for name, host in hosts.items():
    try:
        out[name] = [[p.kind, p.message] for p in check_wheel_file(sys.argv[1], host)]
    except WheelAbiError as exc:
        out[name] = str(exc)
print(json.dumps(out))
"""


@pytest.mark.parametrize("adv", ADVERSARIES, ids=[a.project for a in ADVERSARIES])
def test_inspector_under_limits(
    adv: Adversary, adversaries: Path, fork_venv: Venv, tmp_path: Path
) -> None:
    wheel = adversaries / f"{adv.project.replace('-', '_')}-1.0-{TAG}.whl"
    result = run_limited(
        fork_venv.python,
        CHECK,
        str(wheel),
        memory=CHECK_MEMORY,
        cpu=CHECK_CPU,
        wall=60,
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.describe()
    assert_within(result, cpu=3, wall=30)
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    for host, verdict in verdicts.items():
        if adv.expect == "ok":
            # Nothing to refuse: not ELF, or beyond the caps (a note at most).
            assert verdict == [], (host, verdict)
        elif adv.expect == "pip-error":
            assert isinstance(verdict, str) and "not a valid zip archive" in verdict, (
                host,
                verdict,
            )
        else:
            text = (
                verdict if isinstance(verdict, str) else " ".join(m for _, m in verdict)
            )
            assert adv.reason in text, (host, verdict)
            assert "\n" not in text


# --------------------------------------------------------------------------
# Host detection under limits
# --------------------------------------------------------------------------

DETECT = """\
import json, sys
from pip._internal.libc import host as h
target = sys.argv[1]
if sys.argv[2] == "running":
    sys.executable = target
    found = h.host_libc()
else:
    found = h.detect_host_libc(target)
print(json.dumps({"family": found.family, "version": found.version,
                  "interpreter": found.interpreter, "method": found.method}))
"""


def _detect(
    fork_venv: Venv, tmp_path: Path, target: Path, mode: str
) -> dict[str, object]:
    result = run_limited(
        fork_venv.python,
        DETECT,
        str(target),
        mode,
        memory=CHECK_MEMORY,
        cpu=CHECK_CPU,
        wall=30,
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.describe()
    assert_within(result, cpu=3, wall=15)
    found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    assert stat.S_ISFIFO(path.stat().st_mode)
    return path


def test_fifo_as_sys_executable(fork_venv: Venv, tmp_path: Path) -> None:
    """Nobody writes to the FIFO: opening it for reading would block forever."""
    fifo = _fifo(tmp_path / "python3")
    found = _detect(fork_venv, tmp_path, fifo, "running")
    # Falls back to /proc/self/exe, the real (glibc) interpreter.
    assert found["family"] == "glibc", found
    assert found["interpreter"] == "/proc/self/exe", found


def test_character_device_as_sys_executable(fork_venv: Venv, tmp_path: Path) -> None:
    found = _detect(fork_venv, tmp_path, Path("/dev/zero"), "running")
    assert found["family"] == "glibc", found
    assert found["interpreter"] == "/proc/self/exe", found


def test_sparse_giant_interpreter_is_read_as_a_prefix(
    fork_venv: Venv, tmp_path: Path, host_python: str
) -> None:
    """An 8 GiB (sparse) file that starts like the real interpreter."""
    giant = tmp_path / "python-giant"
    with open(os.path.realpath(host_python), "rb") as src, open(giant, "wb") as dst:
        dst.write(src.read(256 * 1024))
        dst.truncate(8 * GiB)
    found = _detect(fork_venv, tmp_path, giant, "pure")
    assert found["family"] == "glibc", found
    assert found["interpreter"] == str(giant), found


def _interpreter_naming(tmp_path: Path, loader: Path) -> Path:
    """An ELF executable whose PT_INTERP is ``loader`` (as on a musl system)."""
    image = loaders.build_elf(
        elf_type=2,  # ET_EXEC
        interpreter=str(loader).encode(),
        needed=["libc.so"],
    )
    path = tmp_path / "python3.11"
    path.write_bytes(image.data)
    path.chmod(0o755)
    return path


def test_loader_that_is_a_fifo(fork_venv: Venv, tmp_path: Path) -> None:
    loader = _fifo(tmp_path / "ld-musl-x86_64.so.1")
    found = _detect(fork_venv, tmp_path, _interpreter_naming(tmp_path, loader), "pure")
    assert found["family"] == "musl", found
    assert found["version"] is None, found


def test_loader_that_never_exits(fork_venv: Venv, tmp_path: Path) -> None:
    """The fallback runs the loader for its banner: a loader that hangs (and
    leaves a child holding its stderr open) must cost seconds, not forever."""
    loader = tmp_path / "ld-musl-x86_64.so.1"
    loader.write_text("#!/bin/sh\nsleep 300 &\nexec sleep 300\n")
    loader.chmod(0o755)
    started = time.monotonic()
    found = _detect(fork_venv, tmp_path, _interpreter_naming(tmp_path, loader), "pure")
    assert time.monotonic() - started < 15
    assert found["family"] == "musl", found
    assert found["version"] is None, found
    assert "unknown" in str(found["method"]), found


def test_loader_that_is_a_sparse_giant(fork_venv: Venv, tmp_path: Path) -> None:
    loader = tmp_path / "ld-musl-x86_64.so.1"
    with open("/lib/ld-musl-x86_64.so.1", "rb") as src, open(loader, "wb") as dst:
        dst.write(src.read(64 * 1024))
        dst.truncate(4 * GiB)
    found = _detect(fork_venv, tmp_path, _interpreter_naming(tmp_path, loader), "pure")
    assert found["family"] == "musl", found
