"""aarch64 end to end: a musl CPython for arm64, run under qemu-user.

The hosts (``tests.lib.hosts.AARCH64_HOSTS``) are one CPython 3.13 cross-built
by ``tools/build-musl-python.sh --aarch64`` (Debian's ``gcc-aarch64-linux-gnu``
with the arm64 ``musl-dev`` 1.2.3 as its libc) on Debian's arm64 musl 1.2.3 and
1.2.5 loaders. Nothing is mocked but the CPU: every aarch64 process is started
as ``qemu-aarch64 <python> …`` (:attr:`MuslHost.command`). The fork never spawns
``sys.executable`` on these paths (no sdist is built here), so no binfmt_misc
registration is needed; the kernel could not exec an aarch64 file itself.

Emulation is ~10x slower than the x86_64 hosts, so this module is kept small:
per host one venv (the fork bootstrapped from its own wheel), one ``pip debug``,
one install of the whole choice matrix, and one install per real wheel. Those
installs are ``--no-compile``: byte-compiling every installed ``.py`` file (numpy
has hundreds) is most of an emulated install's time and nothing this module
checks; the one import after it compiles what it needs.

What differs by host is derived from the host and the files: a real wheel with
``DT_RELR`` members (read from the wheel with ``readelf``) is refused before
musl 1.2.4 (:attr:`MuslHost.loads_relr`), and works from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import relr_members
from tests.lib import hosts as hosts_lib
from tests.lib.hosts import MuslHost
from tests.lib.index import LocalIndex, cache_dir, pip_env
from tests.lib.venvs import clean_env
from tests.lib.wheels import build_ext_wheel

pytestmark = [pytest.mark.musl, pytest.mark.aarch64, pytest.mark.network]

#: pip under emulation: generous, so a slow CI machine is not a failure.
TIMEOUT = 1200

RANKING = (
    "aarch64_linux_musl > linux_aarch64 > musllinux_1_2_aarch64 > "
    "musllinux_1_1_aarch64 > musllinux_1_0_aarch64"
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using ``aarch64_host`` runs once per aarch64 host; each
    host's tests are one xdist group (its venv is made once)."""
    if "aarch64_host" not in metafunc.fixturenames:
        return
    params = [
        pytest.param(h, id=h.name, marks=pytest.mark.xdist_group(h.name))
        for h in hosts_lib.AARCH64_HOSTS
    ]
    metafunc.parametrize("aarch64_host", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def aarch64_host(request: pytest.FixtureRequest) -> MuslHost:
    spec = getattr(request, "param", None)
    if not isinstance(spec, hosts_lib.HostSpec):
        pytest.fail("aarch64_host is parametrized by test_aarch64.py", pytrace=False)
    try:
        return hosts_lib.resolve_aarch64(spec)
    except LookupError as e:
        pytest.fail(f"aarch64 host {spec.name} is missing: {e}", pytrace=False)


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"$ {' '.join(map(str, proc.args))}\nexit {proc.returncode}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )


@dataclass(frozen=True)
class EmulatedVenv:
    """A venv of an aarch64 interpreter; every command goes through the emulator."""

    root: Path
    emulator: tuple[str, ...]

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(
        self, *args: str | os.PathLike[str], env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.emulator, str(self.python), *map(str, args)],
            capture_output=True,
            text=True,
            env=env or clean_env(),
            timeout=TIMEOUT,
            check=False,
        )

    def pip(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "pip", *args)


@pytest.fixture(scope="session")
def a64_venv(aarch64_host: MuslHost, fork_wheel: Path) -> EmulatedVenv:
    """The "Alpine arm64 user": a venv of the host's CPython, the fork
    bootstrapped from its own wheel (``python pip.whl/pip install pip.whl``).

    The bootstrap is the slowest emulated step (40-50 s under qemu), and the
    fork's wheel is built reproducibly (the same commit gives the same bytes),
    so the venv is kept in the cache under the wheel's digest and the host's
    interpreter: a rerun of the same commit reuses it, any change to the fork
    (or a rebuilt interpreter) bootstraps a new one and removes the host's
    older ones. Made once even when xdist spreads the host's tests over both
    workers (a lock in the cache). The tests only read it (installs go to
    ``--target`` directories)."""
    key = hashlib.sha256(fork_wheel.read_bytes())
    key.update("\0".join([*aarch64_host.command, aarch64_host.loader]).encode())
    cache = cache_dir() / "venvs"
    cache.mkdir(parents=True, exist_ok=True)
    prefix = f"a64-venv-{aarch64_host.name}-"
    root = cache / (prefix + key.hexdigest()[:16])
    venv = EmulatedVenv(root, aarch64_host.emulator)
    with open(cache / f".{prefix}lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():
            return venv
        for older in cache.glob(prefix + "*"):
            shutil.rmtree(older, ignore_errors=True)
        proc = subprocess.run(
            [*aarch64_host.command, "-m", "venv", "--without-pip", str(root)],
            capture_output=True, text=True, env=clean_env(), timeout=TIMEOUT,
            check=False,
        )
        assert proc.returncode == 0, output_of(proc)
        # Byte-compiled at install (the default): with PYTHONDONTWRITEBYTECODE
        # set, as on this machine, every pip run would otherwise compile pip's
        # modules again under emulation.
        proc = venv.run(f"{fork_wheel}/pip", "install", "--quiet", "--no-index", fork_wheel)
        assert proc.returncode == 0, output_of(proc)
        (root / ".complete").touch()
    return venv


def _readelf(path: Path, *flags: str) -> str:
    return subprocess.run(
        ["readelf", *flags, str(path)], capture_output=True, text=True, check=True
    ).stdout


# ---------------------------------------------------------------------------
# pip debug
# ---------------------------------------------------------------------------


def test_debug_reports_aarch64_musl(aarch64_host: MuslHost, a64_venv: EmulatedVenv) -> None:
    """The interpreter is an AArch64 file on its release's loader; the fork
    reports musl, that release and aarch64, and ranks the aarch64 tags."""
    assert "AArch64" in _readelf(aarch64_host.interpreter, "-h")
    maps = a64_venv.run("-c", "print(open('/proc/self/maps').read())")
    assert maps.returncode == 0, output_of(maps)
    assert str(Path(aarch64_host.loader).resolve()) in maps.stdout, maps.stdout

    proc = a64_venv.pip("debug", "--verbose")
    out = proc.stdout
    assert proc.returncode == 0, output_of(proc)
    assert re.search(r"^\s*family: musl$", out, re.M), out
    version = re.escape(aarch64_host.musl_text.split()[1])
    assert re.search(rf"^\s*version: {version}$", out, re.M), out
    loader = re.escape(aarch64_host.loader)
    assert re.search(rf"^\s*loader \(PT_INTERP\): {loader}$", out, re.M), out
    assert re.search(r"^\s*architecture: aarch64$", out, re.M), out
    assert f"platform ranking: {RANKING}" in out, out
    tags = out.split("Compatible tags:", 1)[1].split()
    cp = f"{aarch64_host.cp_tag}-{aarch64_host.cp_tag}"
    assert tags[1:6] == [f"{cp}-{p}" for p in RANKING.split(" > ")], out
    assert not any("manylinux" in t or "x86_64" in t for t in tags), out


# ---------------------------------------------------------------------------
# The choice matrix, built with the cross compiler
# ---------------------------------------------------------------------------

def _cross_cc(host: MuslHost, libc: str) -> str:
    """A compiler the host's build left in its ``toolchain/bin``: the musl
    wrapper (its sysconfig ``CC``) or Debian's cross gcc itself (glibc)."""
    name = {"musl": "aarch64-linux-musl-gcc", "glibc": "aarch64-linux-gnu-gcc"}[libc]
    cc = host.interpreter.parent.parent / "toolchain" / "bin" / name
    assert cc.exists(), f"{cc} is missing (tools/build-musl-python.sh --aarch64)"
    return str(cc)


def _include(host: MuslHost) -> Path:
    inc = host.interpreter.parent.parent / "include" / f"python{host.python_version}"
    assert (inc / "Python.h").is_file(), f"no Python.h in {inc}"
    return inc


#: package -> (files: (variant, platform tag, compiler kind), expected variant,
#: what the one skipped file is refused for, or None).
MATRIX: dict[str, tuple[list[tuple[str, str, str]], str, str | None]] = {
    # aarch64_linux_musl > linux_aarch64 > musllinux; the glibc manylinux is no
    # candidate at all.
    "probe-rank": (
        [
            ("linux_musl", "aarch64_linux_musl", "musl"),
            ("musl-generic", "linux_aarch64", "musl"),
            ("musllinux_1_2", "musllinux_1_2_aarch64", "musl"),
            ("manylinux", "manylinux_2_17_aarch64", "glibc"),
        ],
        "linux_musl",
        None,
    ),
    # A glibc build behind linux_aarch64: refused for its libc.
    "probe-libc": (
        [
            ("glibc-generic", "linux_aarch64", "glibc"),
            ("musllinux_1_2", "musllinux_1_2_aarch64", "musl"),
        ],
        "musllinux_1_2",
        "libc",
    ),
    # An x86_64 musl build mislabelled linux_aarch64: refused for its machine.
    "probe-machine": (
        [
            ("x86_64-as-aarch64", "linux_aarch64", "x86_64"),
            ("musllinux_1_2", "musllinux_1_2_aarch64", "musl"),
        ],
        "musllinux_1_2",
        "machine",
    ),
}


@pytest.fixture(scope="session")
def matrix_wheels(
    tmp_path_factory: pytest.TempPathFactory, aarch64_host: MuslHost
) -> dict[str, dict[str, Path]]:
    """package -> variant -> wheel, compiled against the host's ``Python.h``."""
    compilers = {
        "musl": _cross_cc(aarch64_host, "musl"),
        "glibc": _cross_cc(aarch64_host, "glibc"),
        "x86_64": "musl-gcc",
    }
    tag = aarch64_host.cp_tag
    root = tmp_path_factory.mktemp("a64-matrix")
    out: dict[str, dict[str, Path]] = {}
    for name, (files, _, _) in MATRIX.items():
        out[name] = {
            variant: build_ext_wheel(
                root / name / variant,
                tag_platform=platform,
                compiler=compilers[kind],
                python_include=_include(aarch64_host),
                variant=variant,
                name=name,
                python_tag=tag,
                abi_tag=tag,
            )
            for variant, platform, kind in files
        }
    return out


def _skip_lines(output: str) -> list[str]:
    return [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith("Skipping ") and "cannot load on this host" in line
    ]


def test_choice_matrix_on_aarch64(
    *,
    aarch64_host: MuslHost,
    a64_venv: EmulatedVenv,
    matrix_wheels: dict[str, dict[str, Path]],
    local_index: LocalIndex,
    tmp_path: Path,
) -> None:
    """One install of the three packages: each gets its expected file, the
    refused ones are named with the reason, and every extension imports and
    calls into musl under qemu."""
    for wheels in matrix_wheels.values():
        local_index.upload_all(wheels.values())
    target = tmp_path / "target"
    proc = a64_venv.pip(
        "install", "-v", "--no-cache-dir", "--no-compile", "--index-url", local_index.url,
        "--target", target, *MATRIX,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, output_of(proc)

    skips = _skip_lines(out)
    expected_skips = [(n, r) for n, (_, _, r) in MATRIX.items() if r is not None]
    assert len(skips) == len(expected_skips), output_of(proc)
    for name, reason in expected_skips:
        refused = next(w for v, w in matrix_wheels[name].items() if v != MATRIX[name][1])
        (line,) = [s for s in skips if s.startswith(f"Skipping {refused.name}: ")]
        assert f"cannot load on this host ({aarch64_host.host_text})" in line, line
        if reason == "libc":
            assert "glibc" in line and "libc.so.6" in line, line
        else:
            assert "x86_64" in line and "this host is aarch64" in line, line

    modules = [n.replace("-", "_") for n in MATRIX]
    code = (
        f"import {', '.join(modules)}\n"
        + "".join(f"print({m}.variant(), {m}.libc_pid() > 0)\n" for m in modules)
    )
    imported = a64_venv.run("-c", code, env=clean_env(PYTHONPATH=str(target)))
    assert imported.returncode == 0, output_of(imported) + output_of(proc)
    got = imported.stdout.split("\n")
    for i, (name, (_, expected, _)) in enumerate(MATRIX.items()):
        assert got[i] == f"{expected} True", (name, imported.stdout, output_of(proc))
        (ext,) = (target / name.replace("-", "_")).glob("_ext*.so")
        assert "AArch64" in _readelf(ext, "-h"), ext
        assert "[libc.so]" in _readelf(ext, "-d"), ext


# ---------------------------------------------------------------------------
# Real musllinux_1_2_aarch64 wheels from the package index
# ---------------------------------------------------------------------------

PLATFORM = "musllinux_1_2_aarch64"


@dataclass(frozen=True)
class Real:
    name: str
    version: str
    code: str  #: run after the install; prints ``expected``
    expected: str
    deps: tuple[str, ...] = ()  #: the names of its (pinned) dependencies


REAL = [
    Real(
        "numpy", "2.5.5",
        "import numpy\nprint(numpy.arange(6).sum(), numpy.linalg.det(numpy.eye(2)))",
        "15 1.0",
    ),
    Real(
        "orjson", "3.13.0",
        "import orjson\nprint(orjson.dumps({'a': [1, 2.5, None]}).decode())",
        '{"a":[1,2.5,null]}',
    ),
    Real(
        "cryptography", "50.0.2",
        "from cryptography.hazmat.primitives import hashes\n"
        "h = hashes.Hash(hashes.SHA256())\nh.update(b'musl')\nprint(h.finalize().hex()[:8])",
        "ed0f6c9c",
        deps=("cffi", "pycparser"),
    ),
]
PINS = {r.name: r.version for r in REAL} | {"cffi": "2.1.1", "pycparser": "3.12"}


def _download(requirements: list[str], dest: Path) -> None:
    cmd = [
        sys.executable, "-m", "pip", "download", "--only-binary=:all:",
        "--platform", PLATFORM, "--python-version", "3.13", "--implementation", "cp",
        "--no-deps", "-d", str(dest), *requirements,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=pip_env(), check=False)
    if proc.returncode != 0:
        pytest.fail(
            "downloading the real musllinux aarch64 wheels failed (needs the package "
            f"index):\n{output_of(proc)[-6000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def real_a64_wheels() -> dict[str, Path]:
    """name -> wheel (downloaded once into the cache, pinned)."""
    cache = cache_dir() / "wheels" / "real-musl-aarch64" / "cp313"
    cache.mkdir(parents=True, exist_ok=True)

    def found(name: str) -> list[Path]:
        return sorted(cache.glob(f"{name}-{PINS[name]}-*.whl"))

    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [f"{n}=={v}" for n, v in PINS.items() if not found(n)]
        if missing:
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                _download(missing, Path(tmp))
                for wheel in Path(tmp).glob("*.whl"):
                    shutil.move(str(wheel), cache / wheel.name)
    out = {}
    for name in PINS:
        files = found(name)
        assert len(files) == 1, f"{name}=={PINS[name]}: expected one wheel, got {files}"
        assert files[0].name.endswith((f"-{PLATFORM}.whl", "-py3-none-any.whl")), files
        out[name] = files[0]
    return out


@pytest.fixture(scope="session")
def real_a64_index(
    tmp_path_factory: pytest.TempPathFactory, real_a64_wheels: dict[str, Path]
) -> Iterator[LocalIndex]:
    base = tmp_path_factory.mktemp("real-a64-index")
    index = LocalIndex(base / "packages", base / "pypiserver.log")
    index.start()
    try:
        index.upload_all(real_a64_wheels.values())
        yield index
    finally:
        index.stop()


@pytest.mark.parametrize("real", REAL, ids=[r.name for r in REAL])
def test_real_wheel_on_aarch64(
    *,
    real: Real,
    aarch64_host: MuslHost,
    a64_venv: EmulatedVenv,
    real_a64_wheels: dict[str, Path],
    real_a64_index: LocalIndex,
    tmp_path: Path,
) -> None:
    """Installed with its dependencies from the local index and used once;
    refused (exit 1, naming the wheel, the host's musl and DT_RELR) when a
    wheel it needs has DT_RELR members and the host's musl is older than 1.2.4."""
    wheel = real_a64_wheels[real.name]
    relr = {n: relr_members(real_a64_wheels[n], tmp_path) for n in (real.name, *real.deps)}
    refused = {n for n, members in relr.items() if members}
    works = aarch64_host.loads_relr or not refused

    target = tmp_path / "target"
    proc = a64_venv.pip(
        "install", "-v", "--no-cache-dir", "--no-compile", "--index-url", real_a64_index.url,
        "--target", target, f"{real.name}=={real.version}",
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, output_of(proc)
    if works:
        assert proc.returncode == 0, f"{aarch64_host.name}:\n{output_of(proc)}"
        assert f"Downloading {wheel.name}" in proc.stdout, output_of(proc)
        assert (
            f"Wheel ABI check: {wheel.name} can load on this host "
            f"({aarch64_host.host_text})"
        ) in out, output_of(proc)
        assert "cannot load on this host" not in out, output_of(proc)
        used = a64_venv.run("-c", real.code, env=clean_env(PYTHONPATH=str(target)))
        assert used.returncode == 0, f"{wheel.name} does not work:\n{output_of(used)}"
        assert used.stdout.strip() == real.expected, output_of(used)
    else:
        assert proc.returncode == 1, (
            f"{aarch64_host.name}: {sorted(refused)} have DT_RELR members {relr}, "
            f"which musl < 1.2.4 cannot load\n{output_of(proc)}"
        )
        names = [real_a64_wheels[n].name for n in refused]
        assert any(n in out for n in names), output_of(proc)
        assert aarch64_host.musl_text in out, output_of(proc)
        assert "RELR" in out, output_of(proc)
        assert not (target / real.name).exists(), output_of(proc)
