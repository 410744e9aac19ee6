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
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lib.index import LocalIndex, build_tools_wheels
from tests.lib.venvs import Venv, clean_env
from tests.lib.wheels import (
    EXTRA_C_STATX,
    VARIANTS,
    build_ext_wheel,
    build_pure_wheel,
    build_sdist,
    build_variant_set,
    python_include_of,
)


@pytest.fixture(scope="session")
def musl_include(musl_python: Path) -> str:
    """The musl CPython's own ``Python.h`` directory."""
    return python_include_of(musl_python)


@pytest.fixture(scope="session")
def host_include(host_python: str) -> str:
    """The glibc host CPython's ``Python.h`` directory."""
    return python_include_of(host_python)


@pytest.fixture(scope="session")
def variant_wheels(
    tmp_path_factory: pytest.TempPathFactory, musl_include: str, host_include: str
) -> dict[str, Path]:
    """Every standard ``muslprobe`` variant (``tests.lib.wheels.VARIANTS``).

    Each variant goes into its own directory: ``musl-generic`` and
    ``glibc-generic`` share the file name ``…-linux_x86_64.whl``.
    """
    root = tmp_path_factory.mktemp("variants")
    built: dict[str, Path] = {}
    for name in VARIANTS:
        (path,) = build_variant_set(
            root / name, [name], host_include, musl_python_include=musl_include
        )
        built[name] = path
    return built


@pytest.fixture(scope="session")
def tools_wheels() -> list[Path]:
    """setuptools (pinned, cached): what an isolated build of the sdist needs."""
    return build_tools_wheels()


@pytest.fixture(scope="session")
def statx_wheel(tmp_path_factory: pytest.TempPathFactory, musl_include: str) -> Path:
    """A ``musllinux_1_2`` wheel whose extension needs ``statx`` (musl >= 1.2.5)."""
    return build_ext_wheel(
        tmp_path_factory.mktemp("statx"),
        tag_platform="musllinux_1_2_x86_64",
        compiler="musl-gcc",
        python_include=musl_include,
        variant="musllinux_1_2-statx",
        extra_c=EXTRA_C_STATX,
    )


@pytest.fixture(scope="session")
def relr_wheel(tmp_path_factory: pytest.TempPathFactory, musl_include: str) -> Path:
    """A ``musllinux_1_2`` wheel linked with packed relative relocations (DT_RELR).

    musl's dynamic linker supports ``DT_RELR`` only since 1.2.4; Alpine's
    toolchain emits it, and real musllinux wheels carry it (see
    ``test_real_wheels.py``). On musl 1.2.3 loading such a file crashes.
    """
    return build_ext_wheel(
        tmp_path_factory.mktemp("relr"),
        tag_platform="musllinux_1_2_x86_64",
        compiler="musl-gcc",
        python_include=musl_include,
        variant="musllinux_1_2-relr",
        extra_ldflags=["-Wl,-z,pack-relative-relocs"],
    )


@pytest.fixture(scope="session")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain ``muslprobe`` sdist (``variant()`` -> ``"sdist"``)."""
    return build_sdist(tmp_path_factory.mktemp("sdist"))


@pytest.fixture(scope="session")
def pure_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pure_wheel(tmp_path_factory.mktemp("pure"), variant="pure")


@pytest.fixture
def hosts(request: pytest.FixtureRequest) -> dict[str, Venv]:
    """The session venvs with the fork, by libc; created only when used."""

    class _Lazy(dict[str, Venv]):
        def __missing__(self, key: str) -> Venv:
            fixture = {"musl": "musl_fork_venv", "glibc": "fork_venv"}[key]
            venv: Venv = request.getfixturevalue(fixture)
            self[key] = venv
            return venv

    return _Lazy()


@pytest.fixture
def stock_hosts(request: pytest.FixtureRequest) -> dict[str, Venv]:
    """The session venvs with stock pip 26.3, by libc; created only when used."""

    class _Lazy(dict[str, Venv]):
        def __missing__(self, key: str) -> Venv:
            fixture = {"musl": "musl_stock_venv", "glibc": "stock_venv"}[key]
            venv: Venv = request.getfixturevalue(fixture)
            self[key] = venv
            return venv

    return _Lazy()


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


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
