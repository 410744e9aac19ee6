"""Real musllinux wheels nobody here wrote, on every real musl host.

The ``musllinux_1_2_x86_64`` wheels (for each host's CPython: cp311, cp313,
cp314, or abi3) of popular projects with C, C++ or Rust extensions are
downloaded once from the package index (pinned, cached in
``${PIP_MUSL_CACHE:-~/.cache/pip-musl}/wheels/real-musl/<cpXY>/``), served from
a local pypiserver, installed with the fork on every musl host (see
``tests/lib/hosts.py``) and then imported and *used* (one real call each) in a
fresh process. Stock pip 26.3 is recorded beside it on the primary host and on
the musl 1.2.3 hosts.

What is expected is derived from the host's musl release:

* a wheel without ``DT_RELR`` works everywhere;
* several real ``musllinux_1_2`` wheels (numpy, cryptography, pillow here)
  bundle libraries from Alpine's toolchain linked with packed relative
  relocations (``DT_RELR``). musl's dynamic linker applies ``DT_RELR`` only since
  1.2.4; on musl 1.2.3 loading them crashes the interpreter (SIGSEGV) — no
  missing symbol is involved. PEP 656's ``musllinux_1_2`` promises "musl 1.2 or
  newer", which these wheels break on 1.2.0 to 1.2.3. From 1.2.4 on they load:
  on 1.2.5 and 1.2.6 every wheel must install from its musllinux file and work.
  Before 1.2.4 the outcome is in :data:`BEFORE_RELR_OUTCOME`.

pydantic-core is not here: the package index this suite runs against carries
only a ``pydantic_core-0.0.1-py3-none-any`` placeholder, no musllinux wheel.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import Imported, _per_python, output_of, relr_members
from tests.lib.hosts import OLD_MUSL, PRIMARY, MuslHost
from tests.lib.index import LocalIndex, cache_dir, pip_env
from tests.lib.venvs import Venv, clean_env

pytestmark = [pytest.mark.musl, pytest.mark.network, pytest.mark.every_musl_host]

PLATFORM = "musllinux_1_2_x86_64"

#: Outcomes of the fork on a host.
WORKS = "works"  #: installs the musllinux wheel, import + smoke call work
REFUSED = "refused"  #: exit 1 naming the wheel, the host's musl and DT_RELR


@dataclass(frozen=True)
class Real:
    name: str
    version: str  #: the pin, unless ``versions`` has one for the CPython
    code: str  #: run after the install; must print ``expected``
    expected: str
    #: Whether the wheel has DT_RELR members (checked against the file itself).
    relr: bool = False
    versions: dict[str, str] = field(default_factory=dict)

    def requirement(self, python_version: str) -> str:
        return f"{self.name}=={self.versions.get(python_version, self.version)}"

    def stem(self, python_version: str) -> str:
        version = self.versions.get(python_version, self.version)
        return f"{self.name.replace('-', '_').lower()}-{version}-"


REAL = [
    Real(
        "numpy",
        "2.5.5",
        "import numpy\nprint(numpy.arange(6).sum(), numpy.linalg.det(numpy.eye(2)))",
        "15 1.0",
        relr=True,
        versions={"3.11": "2.4.6"},  # numpy 2.5 needs CPython >= 3.12
    ),
    Real(
        "cryptography",
        "50.0.2",
        "from cryptography.hazmat.primitives import hashes\n"
        "h = hashes.Hash(hashes.SHA256())\nh.update(b'musl')\nprint(h.finalize().hex()[:8])",
        "ed0f6c9c",
        relr=True,
    ),
    Real(
        "pillow",
        "13.0.0",
        "import io\nfrom PIL import Image\nb = io.BytesIO()\n"
        "Image.new('RGB', (4, 4), 'red').save(b, 'PNG')\n"
        "print(Image.open(io.BytesIO(b.getvalue())).getpixel((0, 0)))",
        "(255, 0, 0)",
        relr=True,
    ),
    Real(
        "lxml",
        "6.1.3",
        "from lxml import etree\n"
        "print(etree.tostring(etree.fromstring('<a><b>musl</b></a>').find('b')).decode())",
        "<b>musl</b>",
    ),
    Real(
        "orjson",
        "3.13.0",
        "import orjson\nprint(orjson.dumps({'a': [1, 2.5, None]}).decode())",
        '{"a":[1,2.5,null]}',
    ),
    Real(
        "psutil",
        "7.2.2",
        "import os, psutil\n"
        "print(psutil.Process().pid == os.getpid(), psutil.virtual_memory().total > 0)",
        "True True",
    ),
    Real(
        "pyyaml",
        "6.0.4",
        "import yaml\nfrom yaml import CSafeLoader\n"
        "print(yaml.__with_libyaml__, yaml.load('a: [1, 2]', Loader=CSafeLoader))",
        "True {'a': [1, 2]}",
    ),
    Real(
        "grpcio",
        "1.85.3",
        "import grpc\nfrom concurrent import futures\n"
        "s = grpc.server(futures.ThreadPoolExecutor(1))\n"
        "print(s.add_insecure_port('127.0.0.1:0') > 0)\ns.stop(None)",
        "True",
    ),
    Real(
        "cffi",
        "2.1.1",
        "import cffi\nffi = cffi.FFI()\nffi.cdef('size_t strlen(const char *);')\n"
        "print(ffi.dlopen(None).strlen(b'musl'))",
        "4",
    ),
    # A pyo3 (Rust) extension, standing in for pydantic-core (see above).
    Real(
        "rpds-py",
        "2026.9.1",
        "import rpds\nprint(sorted(rpds.HashTrieMap({'a': 1}).insert('b', 2).items()))",
        "[('a', 1), ('b', 2)]",
    ),
]

# ---------------------------------------------------------------------------
# musl before 1.2.4 (the 1.2.3 hosts): what the fork does with a DT_RELR wheel
# that is the only file of the pinned version on the index: nothing is left, so
# pip stops, naming the wheel and why. Walking back to an older release whose
# wheel loads is tested against PyPI itself in test_real_backtracking.py.
# ---------------------------------------------------------------------------
BEFORE_RELR_OUTCOME: dict[str, str] = {
    "numpy": REFUSED,
    "cryptography": REFUSED,
    "pillow": REFUSED,
}

#: Dependencies, pinned so the cache is reproducible.
DEPENDENCIES = [
    "pycparser==3.12",  # of cffi (cryptography needs cffi too)
    "typing-extensions==4.16.0",  # of grpcio
]


def expected_outcome(real: Real, host: MuslHost) -> str:
    if not real.relr or host.loads_relr:
        return WORKS
    return BEFORE_RELR_OUTCOME[real.name]


def test_every_relr_wheel_has_an_outcome_before_1_2_4() -> None:
    assert {r.name for r in REAL if r.relr} == set(BEFORE_RELR_OUTCOME)


def _download(requirements: list[str], python_version: str, dest: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--platform",
        PLATFORM,
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--no-deps",
        "-d",
        str(dest),
        *requirements,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=pip_env(), check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            "downloading the real musllinux wheels failed (needs the package index):\n"
            f"$ {' '.join(cmd)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}",
            pytrace=False,
        )


def _real_wheels(python_version: str) -> dict[str, Path]:
    """name -> cached wheel file for that CPython (downloaded when missing)."""
    deps = [Real(r.split("==")[0], r.split("==")[1], "", "") for r in DEPENDENCIES]
    wanted = [*REAL, *deps]
    cache = cache_dir() / "wheels" / "real-musl" / f"cp{python_version.replace('.', '')}"
    cache.mkdir(parents=True, exist_ok=True)

    def found(real: Real) -> list[Path]:
        return sorted(cache.glob(f"{real.stem(python_version)}*.whl"))

    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [r.requirement(python_version) for r in wanted if not found(r)]
        if missing:
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                _download(missing, python_version, Path(tmp))
                for wheel in Path(tmp).glob("*.whl"):
                    shutil.move(str(wheel), cache / wheel.name)
    out: dict[str, Path] = {}
    for real in wanted:
        files = found(real)
        assert len(files) == 1, (
            f"{real.requirement(python_version)}: expected one wheel in {cache}, "
            f"got {files}"
        )
        name = files[0].name
        assert name.endswith((f"-{PLATFORM}.whl", "-py3-none-any.whl")), name
        out[real.name] = files[0]
    return out


@pytest.fixture(scope="session")
def real_wheels(musl_host: MuslHost) -> dict[str, Path]:
    return _per_python(
        ("real-wheels", musl_host.cp_tag),
        lambda: _real_wheels(musl_host.python_version),
    )


@pytest.fixture(scope="session")
def real_indexes() -> Iterator[dict[str, LocalIndex]]:
    """The running real-wheel indexes by CPython tag (stopped at the end)."""
    indexes: dict[str, LocalIndex] = {}
    yield indexes
    for index in indexes.values():
        index.stop()


@pytest.fixture(scope="session")
def real_index(
    tmp_path_factory: pytest.TempPathFactory,
    musl_host: MuslHost,
    real_wheels: dict[str, Path],
    real_indexes: dict[str, LocalIndex],
) -> LocalIndex:
    """One pypiserver per CPython holding its real wheels (and no sdists),
    shared by the hosts of that CPython."""
    tag = musl_host.cp_tag
    if tag not in real_indexes:
        base = tmp_path_factory.mktemp(f"real-index-{tag}")
        index = LocalIndex(base / "packages", base / "pypiserver.log")
        index.start()
        real_indexes[tag] = index
        index.upload_all(real_wheels.values())
    return real_indexes[tag]


def _host_env(host: MuslHost, **extra: str) -> dict[str, str]:
    """A clean environment with the host's system libraries on the loader's
    path: an Alpine base image has ``libz.so.1`` in ``/lib``, and musllinux
    wheels leave it out (Pillow's ``_imaging`` needs it)."""
    return clean_env(LD_LIBRARY_PATH=str(host.system_libs), **extra)


def _install(
    venv: Venv, host: MuslHost, index: LocalIndex, target: Path, requirement: str
) -> subprocess.CompletedProcess[str]:
    return venv.pip(
        "install", "-v", "--no-cache-dir", "--index-url", index.url,
        "--target", str(target), requirement, check=False, env=_host_env(host),
    )


def _use(venv: Venv, host: MuslHost, target: Path, code: str) -> Imported:
    proc = venv.run("-c", code, check=False, env=_host_env(host, PYTHONPATH=str(target)))
    return Imported(proc.returncode == 0, proc.stdout, proc.stderr, proc.returncode)


def _with_stock(host: MuslHost) -> bool:
    """Stock pip is recorded beside the fork on the primary and old-musl hosts."""
    return host.name == PRIMARY.name or host.musl == OLD_MUSL


@pytest.mark.parametrize("real", REAL, ids=[r.name for r in REAL])
def test_real_wheel(
    *,
    real: Real,
    musl_host: MuslHost,
    real_index: LocalIndex,
    real_wheels: dict[str, Path],
    musl_fork_venv: Venv,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    wheel = real_wheels[real.name]
    relr = relr_members(wheel, tmp_path)
    assert bool(relr) == real.relr, (
        f"{wheel.name}: DT_RELR members {relr}, but the table says relr={real.relr}"
    )
    requirement = real.requirement(musl_host.python_version)
    expected = expected_outcome(real, musl_host)

    target = tmp_path / "fork"
    proc = _install(musl_fork_venv, musl_host, real_index, target, requirement)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, output_of(proc)
    if expected == WORKS:
        assert proc.returncode == 0, f"fork on {musl_host.name}:\n{output_of(proc)}"
        assert f"Downloading {wheel.name}" in proc.stdout, output_of(proc)
        assert "Building wheel" not in out, output_of(proc)
        assert (
            f"Wheel ABI check: {wheel.name} can load on this host "
            f"({musl_host.host_text})"
        ) in out, output_of(proc)
        assert "cannot load on this host" not in out, output_of(proc)
        used = _use(musl_fork_venv, musl_host, target, real.code)
        assert used.ok, f"the fork's install of {wheel.name} does not work:\n{used}"
        assert used.stdout.strip() == real.expected, str(used)
    else:
        assert expected == REFUSED, expected
        if proc.returncode == 0:
            used = _use(musl_fork_venv, musl_host, target, real.code)
            pytest.fail(
                f"the fork installed {wheel.name}, whose {relr[0]} uses DT_RELR "
                f"(musl >= 1.2.4) on {musl_host.musl_text}; import: {used}\n"
                f"install: {output_of(proc)}",
                pytrace=False,
            )
        assert proc.returncode == 1, output_of(proc)
        assert wheel.name in out, output_of(proc)
        assert musl_host.musl_text in out, output_of(proc)
        assert "RELR" in out, output_of(proc)

    if not _with_stock(musl_host):
        return
    stock_venv: Venv = request.getfixturevalue("musl_stock_venv")
    stock_target = tmp_path / "stock"
    proc = _install(stock_venv, musl_host, real_index, stock_target, requirement)
    assert proc.returncode == 0, f"stock pip:\n{output_of(proc)}"
    assert f"Downloading {wheel.name}" in proc.stdout, output_of(proc)
    used = _use(stock_venv, musl_host, stock_target, real.code)
    if real.relr and not musl_host.loads_relr:
        # Recorded: stock pip installs it and the import crashes (SIGSEGV).
        assert not used.ok, f"expected a crash on {musl_host.musl_text}:\n{used}"
    else:
        assert used.ok, f"stock pip's install of {wheel.name} does not work:\n{used}"
        assert used.stdout.strip() == real.expected, str(used)
