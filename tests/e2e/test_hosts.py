"""Each musl host is what it claims: its CPython, running on its musl release.

The hosts (``tests/lib/hosts.py``) are made by ``tools/build-musl-python.sh
--hosts``: for 1.2.5 and 1.2.6 a copy of the interpreter whose PT_INTERP names
the loader of Debian's ``musl`` package unpacked into the cache. These tests
look at the running process (``/proc/self/maps``), ask the loader itself for
its version, and load extensions whose success depends on the musl release.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.lib import hosts as hosts_lib
from tests.lib.hosts import MuslHost
from tests.lib.venvs import clean_env
from tests.lib.wheels import EXTRA_C_STATX, compile_extension

pytestmark = [pytest.mark.musl, pytest.mark.every_musl_host]

SYSTEM_LOADER = "/lib/ld-musl-x86_64.so.1"


def _interp(path: Path) -> str:
    out = subprocess.run(
        ["readelf", "-l", str(path)], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"\[Requesting program interpreter: (.*)\]", out)
    assert m, out
    return m.group(1)


def _needed(path: Path) -> list[str]:
    out = subprocess.run(
        ["readelf", "-d", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"\(NEEDED\).*\[(.*)\]", out)


def _loader_version(loader: str) -> tuple[int, int, int]:
    """musl's loader run without arguments prints ``Version 1.2.5`` (stderr)."""
    proc = subprocess.run([loader], capture_output=True, text=True, check=False)
    m = re.search(r"^Version (\d+)\.(\d+)\.(\d+)$", proc.stderr, re.M)
    assert m, f"{loader} printed no musl version:\n{proc.stdout}{proc.stderr}"
    major, minor, patch = (int(g) for g in m.groups())
    return major, minor, patch


def test_host_runs_its_cpython_on_its_musl(musl_host: MuslHost) -> None:
    py = musl_host.interpreter
    loader = _interp(py)
    if musl_host.musl == (1, 2, 3):
        assert loader == SYSTEM_LOADER
    else:
        assert loader != SYSTEM_LOADER and "/musl/" in loader, loader
    assert _loader_version(loader) == musl_host.musl
    # musl's loader is its libc: the interpreter needs nothing else.
    assert _needed(py) == ["libc.so"]
    ldd = subprocess.run(
        [loader, "--list", str(py)], capture_output=True, text=True, check=False
    )
    assert ldd.returncode == 0, ldd.stderr
    code = (
        "import json, sys, ssl, ctypes, zlib, bz2, lzma, sqlite3, uuid, _uuid\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(json.dumps({'version': '%d.%d' % sys.version_info[:2],\n"
        "  'maps': sorted({l.split()[-1] for l in maps.splitlines()\n"
        "                  if len(l.split()) > 5 and '/' in l.split()[-1]}),\n"
        "  'sqlite': sqlite3.connect(':memory:').execute('select 2').fetchone()[0],\n"
        "  'uuid': uuid.uuid4().version}))\n"
    )
    proc = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, env=clean_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["version"] == musl_host.python_version
    real_loader = str(Path(loader).resolve())
    assert real_loader in got["maps"], got["maps"]
    # No other libc image is mapped (not the system's musl, not glibc).
    others = [m for m in got["maps"] if re.search(r"/(libc\.so|ld-musl|libc\.so\.6)", m)]
    assert others == [real_loader], others
    assert got["sqlite"] == 2 and got["uuid"] == 4


@pytest.mark.parametrize("kind", ["statx", "relr"])
def test_musl_release_decides_what_loads(
    musl_host: MuslHost, musl_include: str, tmp_path: Path, kind: str
) -> None:
    """An extension needing ``statx`` loads from 1.2.5, one with DT_RELR from
    1.2.4: the host's loader, not the file, decides."""
    ext = tmp_path / "muslprobe" / "_ext.so"
    ext.parent.mkdir()
    (ext.parent / "__init__.py").write_text("from ._ext import variant\n")
    if kind == "statx":
        compile_extension(
            ext, compiler="musl-gcc", python_include=musl_include, variant=kind,
            extra_c=EXTRA_C_STATX,
        )
        loads = musl_host.loads_statx
    else:
        compile_extension(
            ext, compiler="musl-gcc", python_include=musl_include, variant=kind,
            extra_ldflags=["-Wl,-z,pack-relative-relocs"],
        )
        assert "(RELR)" in subprocess.run(
            ["readelf", "-d", str(ext)], capture_output=True, text=True, check=True
        ).stdout
        loads = musl_host.loads_relr
    proc = subprocess.run(
        [str(musl_host.interpreter), "-c", "import muslprobe; print(muslprobe.variant())"],
        capture_output=True, text=True, env=clean_env(PYTHONPATH=str(tmp_path)),
        check=False,
    )
    if loads:
        assert proc.returncode == 0 and proc.stdout.strip() == kind, proc.stderr
    else:
        assert proc.returncode != 0, proc.stdout
        if kind == "statx":
            assert "statx: symbol not found" in proc.stderr, proc.stderr


def test_every_planned_host_is_built() -> None:
    """All nine hosts exist, but for a CPython whose Debian source the archive
    does not serve (the build script says so in the host list)."""
    try:
        built = hosts_lib.load_hosts()
    except LookupError as e:
        pytest.fail(str(e), pytrace=False)
    planned = {h.name for h in hosts_lib.planned_hosts()}
    assert set(built) == planned, (sorted(built), sorted(planned))
    assert hosts_lib.PRIMARY.name in built
    missing = hosts_lib.unavailable_pythons()
    assert len(planned) + 3 * len(missing) == len(hosts_lib.HOSTS), missing
    for host in built.values():
        assert (host.system_libs / "libz.so.1").is_file(), host
