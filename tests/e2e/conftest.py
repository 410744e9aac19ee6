"""Fixtures of the real-musl end-to-end tests.

Everything here is built or fetched for real, once per pytest session (with
xdist: once per worker): the ``muslprobe`` variant wheels are compiled with
``musl-gcc`` against the musl CPython's own headers and with ``gcc`` against the
host CPython's; the build tools an isolated sdist build needs come from the
package index once and are cached (``tests.lib.index.build_tools_wheels``).

No fixture here imports ``pip._internal``: pip only ever runs in subprocesses
(the fork and stock pip 26.3, each in its own venv).
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from tests.lib.hosts import BUILD_SCRIPT, MuslHost
from tests.lib.index import LocalIndex, build_tools_wheels
from tests.lib.venvs import Venv, clean_env, make_venv
from tests.lib.wheels import (
    EXTRA_C_STATX,
    VARIANTS,
    build_ext_wheel,
    build_pure_wheel,
    build_sdist,
    build_variant_set,
    python_include_of,
    python_tag_of,
)

T = TypeVar("T")


@pytest.fixture(scope="session")
def musl_include(musl_python: Path) -> str:
    """The musl CPython's own ``Python.h`` directory."""
    return python_include_of(musl_python)


@pytest.fixture(scope="session")
def host_include(host_python: str) -> str:
    """The glibc host CPython's ``Python.h`` directory."""
    return python_include_of(host_python)


@pytest.fixture(scope="session")
def host_cp_tag(host_python: str) -> str:
    """The glibc host CPython's interpreter/ABI tag (``cp311``)."""
    return python_tag_of(host_python)


# Built artefacts depend only on the CPython version, not on the musl release
# the host runs: the three hosts of one CPython share them (per process; with
# xdist each worker builds what its tests need, once).
_PER_PYTHON: dict[tuple[str, str], object] = {}


def _per_python(key: tuple[str, str], build: Callable[[], T]) -> T:
    if key not in _PER_PYTHON:
        _PER_PYTHON[key] = build()
    return _PER_PYTHON[key]  # type: ignore[return-value]


def _variant_set(root: Path, include: str, tag: str) -> dict[str, Path]:
    built: dict[str, Path] = {}
    for name in VARIANTS:
        (path,) = build_variant_set(
            root / name, [name], include, python_tag=tag, abi_tag=tag
        )
        built[name] = path
    return built


@pytest.fixture(scope="session")
def variant_wheels(
    tmp_path_factory: pytest.TempPathFactory,
    musl_host: MuslHost,
    musl_include: str,
) -> dict[str, Path]:
    """Every standard ``muslprobe`` variant (``tests.lib.wheels.VARIANTS``) for
    the musl host's CPython: tagged with its ABI (``cp313``), compiled against
    its ``Python.h`` (with ``musl-gcc``, and with ``gcc`` for the glibc ones).

    Each variant goes into its own directory: ``musl-generic`` and
    ``glibc-generic`` share the file name ``…-linux_x86_64.whl``.
    """
    tag = musl_host.cp_tag
    return _per_python(
        ("variants", tag),
        lambda: _variant_set(
            tmp_path_factory.mktemp(f"variants-{tag}"), musl_include, tag
        ),
    )


@pytest.fixture(scope="session")
def glibc_variant_wheels(
    tmp_path_factory: pytest.TempPathFactory, host_include: str, host_cp_tag: str
) -> dict[str, Path]:
    """The same variants for the glibc host CPython (its tag and headers)."""
    return _variant_set(
        tmp_path_factory.mktemp(f"glibc-variants-{host_cp_tag}"),
        host_include,
        host_cp_tag,
    )


@pytest.fixture(scope="session")
def glibc_partner_python(musl_host: MuslHost, host_python: str) -> Path:
    """A glibc CPython of the musl host's minor version: the test host's own
    when it matches, else one built by ``build-musl-python.sh --glibc``."""
    if python_tag_of(host_python) == musl_host.cp_tag:
        return Path(host_python)
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--print-glibc", "--python",
         musl_host.python_version],
        capture_output=True,
        text=True,
        check=False,
    )
    path = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else ""
    if not path or not Path(path).exists():
        pytest.fail(
            f"no glibc CPython {musl_host.python_version} to pair with "
            f"{musl_host.name}: run `bash tools/build-musl-python.sh --glibc "
            f"--python {musl_host.python_version}` (nox -s tests does)\n{proc.stderr}",
            pytrace=False,
        )
    return Path(path)


@pytest.fixture(scope="session")
def partner_fork_venv(
    tmp_path_factory: pytest.TempPathFactory,
    musl_host: MuslHost,
    glibc_partner_python: Path,
    fork_wheel: Path,
) -> Venv:
    """The fork on the glibc partner CPython (one per CPython version)."""
    tag = musl_host.cp_tag
    return _per_python(
        ("partner-fork", tag),
        lambda: make_venv(
            tmp_path_factory.mktemp(f"partner-fork-{tag}") / "v",
            glibc_partner_python,
            fork_wheel,
        ),
    )


@pytest.fixture(scope="session")
def partner_stock_venv(
    tmp_path_factory: pytest.TempPathFactory,
    musl_host: MuslHost,
    glibc_partner_python: Path,
    stock_wheel: Path,
) -> Venv:
    """Stock pip 26.3 on the glibc partner CPython."""
    tag = musl_host.cp_tag
    return _per_python(
        ("partner-stock", tag),
        lambda: make_venv(
            tmp_path_factory.mktemp(f"partner-stock-{tag}") / "v",
            glibc_partner_python,
            stock_wheel,
        ),
    )


@pytest.fixture(scope="session")
def tools_wheels() -> list[Path]:
    """setuptools (pinned, cached): what an isolated build of the sdist needs."""
    return build_tools_wheels()


@pytest.fixture(scope="session")
def statx_wheel(
    tmp_path_factory: pytest.TempPathFactory, musl_host: MuslHost, musl_include: str
) -> Path:
    """A ``musllinux_1_2`` wheel whose extension needs ``statx`` (musl >= 1.2.5)."""
    tag = musl_host.cp_tag
    return _per_python(
        ("statx", tag),
        lambda: build_ext_wheel(
            tmp_path_factory.mktemp(f"statx-{tag}"),
            tag_platform="musllinux_1_2_x86_64",
            compiler="musl-gcc",
            python_include=musl_include,
            variant="musllinux_1_2-statx",
            extra_c=EXTRA_C_STATX,
            python_tag=tag,
            abi_tag=tag,
        ),
    )


@pytest.fixture(scope="session")
def relr_wheel(
    tmp_path_factory: pytest.TempPathFactory, musl_host: MuslHost, musl_include: str
) -> Path:
    """A ``musllinux_1_2`` wheel linked with packed relative relocations (DT_RELR).

    musl's dynamic linker supports ``DT_RELR`` only since 1.2.4; Alpine's
    toolchain emits it, and real musllinux wheels carry it (see
    ``test_real_wheels.py``). On musl 1.2.3 loading such a file crashes.
    """
    tag = musl_host.cp_tag
    return _per_python(
        ("relr", tag),
        lambda: build_ext_wheel(
            tmp_path_factory.mktemp(f"relr-{tag}"),
            tag_platform="musllinux_1_2_x86_64",
            compiler="musl-gcc",
            python_include=musl_include,
            variant="musllinux_1_2-relr",
            extra_ldflags=["-Wl,-z,pack-relative-relocs"],
            python_tag=tag,
            abi_tag=tag,
        ),
    )


@pytest.fixture(scope="session")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain ``muslprobe`` sdist (``variant()`` -> ``"sdist"``)."""
    return build_sdist(tmp_path_factory.mktemp("sdist"))


@pytest.fixture(scope="session")
def pure_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pure_wheel(tmp_path_factory.mktemp("pure"), variant="pure")


# --------------------------------------------------------------------------
# Helpers shared by the e2e modules (plain functions, imported from here)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """The outcome of importing a module in a fresh interpreter."""

    ok: bool
    stdout: str
    stderr: str
    returncode: int

    def __str__(self) -> str:
        return (
            f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n"
            f"{self.stderr}"
        )


def run_code(venv: Venv, target: Path | None, code: str) -> Imported:
    """Run ``code`` with ``venv``'s interpreter, ``target`` on ``PYTHONPATH``."""
    env = clean_env(PYTHONPATH=str(target)) if target is not None else clean_env()
    proc = venv.run("-c", code, check=False, env=env)
    return Imported(proc.returncode == 0, proc.stdout, proc.stderr, proc.returncode)


def pip_install(
    venv: Venv, index: LocalIndex, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``pip install -v --index-url <index> …`` with no outside configuration."""
    return venv.pip(
        "install",
        "-v",
        "--no-cache-dir",
        "--index-url",
        index.url,
        *map(str, args),
        check=False,
    )


def dt_needed(path: Path) -> list[str]:
    """``DT_NEEDED`` entries of an ELF file, read with binutils' ``readelf``."""
    out = subprocess.run(
        ["readelf", "-d", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [
        line.split("[", 1)[1].rstrip("]")
        for line in out.splitlines()
        if "(NEEDED)" in line
    ]


def relr_members(wheel: Path, tmp: Path) -> list[str]:
    """Members of ``wheel`` that are ELF files with a ``DT_RELR`` table, read
    with binutils' ``readelf`` (an oracle independent of the fork's reader)."""
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


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
