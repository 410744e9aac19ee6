"""Real musllinux wheels nobody here wrote, on the real musl CPython.

The ``musllinux_1_2_x86_64`` cp311 wheels of popular projects with C, C++ or
Rust extensions are downloaded once from the package index (pinned, cached in
``${PIP_MUSL_CACHE:-~/.cache/pip-musl}/wheels/real-musl/``), served from a local
pypiserver, installed with the fork on the musl CPython (musl 1.2.3) and then
imported and *used* (one real call each) in a fresh process. Stock pip 26.3 on
the same interpreter and index is recorded beside it.

Finding (recorded by ``test_relr_wheels_are_not_installed``): several real
``musllinux_1_2`` wheels (numpy 2.4.6, ujson 6.1.0, cryptography 50.0.2) bundle
``libgcc_s``/``libstdc++`` from Alpine's toolchain, linked with packed relative
relocations (``DT_RELR``). musl's dynamic linker applies ``DT_RELR`` only since
1.2.4; on musl 1.2.3 loading them crashes the interpreter (SIGSEGV) — no missing
symbol is involved, so the symbol check cannot see it. PEP 656's
``musllinux_1_2`` promises "musl 1.2 or newer", which these wheels break on
1.2.0 to 1.2.3.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import output_of, pip_install, run_code
from tests.lib.index import LocalIndex, cache_dir, pip_env
from tests.lib.venvs import Venv

pytestmark = [pytest.mark.musl, pytest.mark.network]

PLATFORM = "musllinux_1_2_x86_64"


@dataclass(frozen=True)
class Real:
    requirement: str  #: pinned, ``name==version``
    code: str  #: run after the install; must print ``expected``
    expected: str

    @property
    def name(self) -> str:
        return self.requirement.split("==")[0]

    @property
    def stem(self) -> str:
        name, version = self.requirement.split("==")
        return f"{name.replace('-', '_').lower()}-{version}-"


#: Wheels that work on musl 1.2.3: install, import, one real call.
WORKING = [
    Real(
        "markupsafe==3.0.4",
        "import markupsafe, markupsafe._speedups\n"
        "print(markupsafe.escape('<a href=\"x\">&</a>'))",
        "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;",
    ),
    Real(
        "pyyaml==6.0.3",
        "import yaml\nfrom yaml import CSafeLoader\n"
        "print(yaml.__with_libyaml__, yaml.load('a: [1, 2]', Loader=CSafeLoader))",
        "True {'a': [1, 2]}",
    ),
    Real(
        "msgpack==1.2.4",
        "import msgpack, msgpack._cmsgpack\nd = {'a': [1, 2, b'x']}\n"
        "print(msgpack.Packer is msgpack._cmsgpack.Packer, "
        "msgpack.unpackb(msgpack.packb(d)) == d)",
        "True True",
    ),
    Real(
        "orjson==3.13.0",
        "import orjson\nprint(orjson.dumps({'a': [1, 2.5, None]}).decode())",
        '{"a":[1,2.5,null]}',
    ),
    Real(
        "charset-normalizer==3.5.2",
        "import charset_normalizer.md as md\n"
        "from charset_normalizer import from_bytes\n"
        "text = 'héllo wörld, ça va très bien, naïve café'\n"
        "print(md.__file__.endswith('.so'), "
        "from_bytes(text.encode('utf-8')).best().encoding)",
        "True utf_8",
    ),
    Real(
        "cffi==2.1.1",
        "import cffi\nffi = cffi.FFI()\nffi.cdef('size_t strlen(const char *);')\n"
        "print(ffi.dlopen(None).strlen(b'musl'))",
        "4",
    ),
    Real(
        "psutil==7.2.2",
        "import os, psutil\n"
        "print(psutil.Process().pid == os.getpid(), psutil.virtual_memory().total > 0)",
        "True True",
    ),
    Real(
        "zstandard==0.25.0",
        "import zstandard as z\nd = b'musl' * 1000\n"
        "print(z.ZstdDecompressor().decompress(z.ZstdCompressor().compress(d)) == d, "
        "z.backend)",
        "True cext",
    ),
    Real(
        "rpds-py==2026.9.1",
        "import rpds\nprint(sorted(rpds.HashTrieMap({'a': 1}).insert('b', 2).items()))",
        "[('a', 1), ('b', 2)]",
    ),
    Real(
        "lxml==6.1.3",
        "from lxml import etree\n"
        "print(etree.tostring(etree.fromstring('<a><b>musl</b></a>').find('b')).decode())",
        "<b>musl</b>",
    ),
]

#: Wheels whose bundled libraries use DT_RELR (need musl >= 1.2.4).
RELR = [
    Real("ujson==6.1.0", "import ujson\nprint(ujson.dumps({'a': 1}))", '{"a":1}'),
    Real(
        "cryptography==50.0.2",
        "from cryptography.hazmat.primitives import hashes\n"
        "h = hashes.Hash(hashes.SHA256())\nh.update(b'musl')\nprint(h.finalize().hex()[:8])",
        "ed0f6c9c",
    ),
    Real("numpy==2.4.6", "import numpy\nprint(numpy.arange(6).sum())", "15"),
]

#: Dependencies, pinned so the cache is reproducible.
DEPENDENCIES = ["pycparser==3.12"]  # of cffi (cryptography needs cffi too)


def _download(requirements: list[str], dest: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--platform",
        PLATFORM,
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
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


@pytest.fixture(scope="session")
def real_wheels() -> dict[str, Path]:
    """requirement -> cached wheel file (downloaded when missing)."""
    wanted = [*WORKING, *RELR, *(Real(r, "", "") for r in DEPENDENCIES)]
    cache = cache_dir() / "wheels" / "real-musl"
    cache.mkdir(parents=True, exist_ok=True)

    def found(real: Real) -> list[Path]:
        return sorted(cache.glob(f"{real.stem}*.whl"))

    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [r.requirement for r in wanted if not found(r)]
        if missing:
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                _download(missing, Path(tmp))
                for wheel in Path(tmp).glob("*.whl"):
                    shutil.move(str(wheel), cache / wheel.name)
    out: dict[str, Path] = {}
    for real in wanted:
        files = found(real)
        assert len(files) == 1, (
            f"{real.requirement}: expected one wheel in {cache}, got {files}"
        )
        name = files[0].name
        assert name.endswith((f"-{PLATFORM}.whl", "-py3-none-any.whl")), name
        out[real.requirement] = files[0]
    return out


@pytest.fixture(scope="session")
def real_index(
    tmp_path_factory: pytest.TempPathFactory, real_wheels: dict[str, Path]
) -> Iterator[LocalIndex]:
    """One pypiserver holding every real wheel (and nothing else: no sdists)."""
    base = tmp_path_factory.mktemp("real-index")
    with LocalIndex(base / "packages", base / "pypiserver.log") as index:
        index.upload_all(real_wheels.values())
        yield index


def _relr_members(wheel: Path, tmp: Path) -> list[str]:
    """Members of ``wheel`` that are ELF files with a ``DT_RELR`` table (readelf)."""
    found = []
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if ".so" not in info.filename.rsplit("/", 1)[-1]:
                continue
            data = zf.read(info)
            if not data.startswith(b"\x7fELF"):
                continue
            path = tmp / "member.so"
            path.write_bytes(data)
            dyn = subprocess.run(
                ["readelf", "-d", str(path)], capture_output=True, text=True, check=True
            ).stdout
            if "(RELR)" in dyn:
                found.append(info.filename)
    return found


@pytest.mark.parametrize("real", WORKING, ids=[r.name for r in WORKING])
def test_real_wheel_installs_and_works(
    *,
    real: Real,
    real_index: LocalIndex,
    real_wheels: dict[str, Path],
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
    tmp_path: Path,
) -> None:
    wheel = real_wheels[real.requirement]
    results = {}
    for who, venv in (("fork", musl_fork_venv), ("stock", musl_stock_venv)):
        target = tmp_path / who
        proc = pip_install(venv, real_index, "--target", target, real.requirement)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{who} pip:\n{output_of(proc)}"
        assert f"Downloading {wheel.name}" in proc.stdout, f"{who}:\n{output_of(proc)}"
        assert "Building wheel" not in out, f"{who}:\n{output_of(proc)}"
        if who == "fork":
            assert (
                f"Wheel ABI check: {wheel.name} can load on this host "
                "(musl 1.2.3 (x86_64))"
            ) in out, output_of(proc)
            assert "cannot load on this host" not in out, output_of(proc)
        used = run_code(venv, target, real.code)
        assert used.ok, f"{who} pip's install of {wheel.name} does not work:\n{used}"
        results[who] = used.stdout.strip()
    # Stock pip picks the same file, with the same result.
    assert results == {"fork": real.expected, "stock": real.expected}


@pytest.mark.parametrize("real", RELR, ids=[r.name for r in RELR])
def test_relr_wheels_are_not_installed(
    *,
    real: Real,
    real_index: LocalIndex,
    real_wheels: dict[str, Path],
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
    tmp_path: Path,
) -> None:
    """A real musllinux_1_2 wheel that crashes musl 1.2.3 must not be installed.

    Its bundled libraries use ``DT_RELR`` (musl >= 1.2.4). Recorded: stock pip
    26.3 installs the wheel and ``import`` dies with SIGSEGV. The fork promises
    never to install a binary that cannot load here; with no other file of that
    version on the index it must stop with an error naming the wheel, the host's
    musl and what is missing. At the time of writing the fork's check says "can
    load on this host", installs it, and the import crashes exactly as with stock
    pip: this test fails until the check models ``DT_RELR``.
    """
    wheel = real_wheels[real.requirement]
    relr = _relr_members(wheel, tmp_path)
    assert relr, f"{wheel.name} has no DT_RELR member any more: update this test"

    stock_target = tmp_path / "stock"
    proc = pip_install(
        musl_stock_venv, real_index, "--target", stock_target, real.requirement
    )
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {wheel.name}" in proc.stdout, output_of(proc)
    crashed = run_code(musl_stock_venv, stock_target, real.code)
    assert crashed.returncode == -11, f"expected SIGSEGV on musl 1.2.3:\n{crashed}"

    fork_target = tmp_path / "fork"
    proc = pip_install(
        musl_fork_venv, real_index, "--target", fork_target, real.requirement
    )
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        used = run_code(musl_fork_venv, fork_target, real.code)
        pytest.fail(
            f"the fork installed {wheel.name}, whose {relr[0]} uses DT_RELR "
            f"(musl >= 1.2.4) on musl 1.2.3; import: {used}\ninstall: {output_of(proc)}",
            pytrace=False,
        )
    assert proc.returncode == 1, output_of(proc)
    assert wheel.name in out, output_of(proc)
    assert "musl 1.2.3" in out, output_of(proc)
    assert "RELR" in out, output_of(proc)
    assert "Traceback" not in out, output_of(proc)
