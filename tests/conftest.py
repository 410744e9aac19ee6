from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lib.venvs import Venv, make_venv, stock_pip_wheel

ROOT = Path(__file__).resolve().parent.parent

# The local package index (pypiserver) fixtures: local_index, local_index_session.
pytest_plugins = ["tests.lib.index"]


def _required_env_path(name: str, how: str) -> Path:
    value = os.environ.get(name)
    if not value or not Path(value).exists():
        pytest.fail(f"{name} is not set to an existing path: {how}", pytrace=False)
    return Path(value)


@pytest.fixture(scope="session")
def fork_wheel() -> Path:
    """The fork's wheel, built by the nox session."""
    return _required_env_path(
        "PIP_MUSL_WHEEL", "run the tests through `nox -s tests`, which builds it"
    )


@pytest.fixture(scope="session")
def stock_wheel() -> Path:
    return stock_pip_wheel()


@pytest.fixture(scope="session")
def host_python() -> str:
    """The glibc CPython running the tests (its base interpreter, not the venv)."""
    return getattr(sys, "_base_executable", sys.executable)


@pytest.fixture(scope="session")
def musl_python() -> Path:
    """The musl CPython built from Debian's sources by tools/build-musl-python.sh."""
    value = os.environ.get("PIP_MUSL_PYTHON")
    if not value:
        proc = subprocess.run(
            ["bash", str(ROOT / "tools" / "build-musl-python.sh"), "--print-path"],
            capture_output=True,
            text=True,
            check=False,
        )
        value = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else ""
    if not value or not Path(value).exists():
        pytest.fail(
            "the musl CPython is missing: run `bash tools/build-musl-python.sh` "
            "(nox -s tests does)",
            pytrace=False,
        )
    return Path(value)


@pytest.fixture(scope="session")
def fork_venv(
    tmp_path_factory: pytest.TempPathFactory, fork_wheel: Path, host_python: str
) -> Venv:
    """A venv of the glibc host CPython with the fork installed (shared, read-only use)."""
    return make_venv(
        tmp_path_factory.mktemp("fork-venv") / "v", host_python, fork_wheel
    )


@pytest.fixture(scope="session")
def stock_venv(
    tmp_path_factory: pytest.TempPathFactory, stock_wheel: Path, host_python: str
) -> Venv:
    """A venv of the same interpreter with stock pip 26.3: the oracle."""
    return make_venv(
        tmp_path_factory.mktemp("stock-venv") / "v", host_python, stock_wheel
    )


@pytest.fixture(scope="session")
def musl_fork_venv(
    tmp_path_factory: pytest.TempPathFactory, fork_wheel: Path, musl_python: Path
) -> Venv:
    """The "Alpine user": a venv of the musl CPython with the fork bootstrapped."""
    return make_venv(
        tmp_path_factory.mktemp("musl-fork-venv") / "v", musl_python, fork_wheel
    )


@pytest.fixture(scope="session")
def musl_stock_venv(
    tmp_path_factory: pytest.TempPathFactory, stock_wheel: Path, musl_python: Path
) -> Venv:
    return make_venv(
        tmp_path_factory.mktemp("musl-stock-venv") / "v", musl_python, stock_wheel
    )
