from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.lib import hosts as hosts_lib
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


def _loadgroup_works() -> bool:
    """pytest-xdist keeps a group together by renaming each test's
    ``Node._nodeid`` (``…[py311-musl1.2.3]@py311-musl1.2.3``); pytest 9.2 reads
    node ids from elsewhere, and the rename is then silently lost."""
    from _pytest.nodes import Node

    getter = Node.nodeid.fget
    return getter is not None and "_nodeid" in getter.__code__.co_names


def pytest_configure(config: pytest.Config) -> None:
    # Without the groups every musl host's venvs are made on both workers: the
    # run would pass, minutes slower, so it stops here instead.
    if config.getoption("dist", None) == "loadgroup" and not _loadgroup_works():
        raise pytest.UsageError(
            f"--dist loadgroup has no effect with pytest {pytest.__version__}: "
            "install the pytest that noxfile.TEST_REQUIREMENTS pins"
        )
    config.addinivalue_line(
        "markers",
        "every_musl_host: run on every musl host of tests.lib.hosts.HOSTS "
        "(default: the primary host only)",
    )
    config.addinivalue_line(
        "markers",
        "every_python_minor: run on one musl host per CPython minor, for what the "
        "musl release cannot change (tests.lib.hosts.one_host_per_python)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that needs a musl host (see tests/lib/hosts.py)."""
    if "musl_host" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker
    # The narrower choice wins where both apply (a test marked in a module
    # that runs every host).
    selection: hosts_lib.HostSelection = (
        "per-python"
        if marked("every_python_minor") is not None
        else "every"
        if marked("every_musl_host") is not None
        else "primary"
    )
    # Each host's tests form one xdist group (nox runs `--dist loadgroup`): its
    # session fixtures (venvs, indexes) are then made by one worker only.
    params = [
        pytest.param(h, id=h.name, marks=pytest.mark.xdist_group(h.name))
        for h in hosts_lib.selected_hosts(selection)
    ]
    metafunc.parametrize("musl_host", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def musl_host(request: pytest.FixtureRequest) -> hosts_lib.MuslHost:
    """The musl host this test runs on (parametrized by pytest_generate_tests)."""
    spec = getattr(request, "param", None)
    if not isinstance(spec, hosts_lib.HostSpec):
        pytest.fail("musl_host is parametrized by tests/conftest.py", pytrace=False)
    try:
        return hosts_lib.resolve(spec)
    except LookupError as e:
        pytest.fail(f"musl host {spec.name} is missing: {e}", pytrace=False)


@pytest.fixture(scope="session")
def musl_python(musl_host: hosts_lib.MuslHost) -> Path:
    """The host's musl CPython (built by tools/build-musl-python.sh --hosts)."""
    return musl_host.interpreter


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


# --------------------------------------------------------------------------
# aarch64 (tests/e2e/test_aarch64.py): the emulated part's time, for .ci/run
# --------------------------------------------------------------------------

_AARCH64_SECONDS: list[float] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # With xdist the controller sees every worker's reports too.
    if "test_aarch64.py::" in report.nodeid:
        _AARCH64_SECONDS.append(report.duration)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the summed durations (setup, call, teardown) of the aarch64 tests
    to build/aarch64-tests.seconds; .ci/run prints it in its stage summary."""
    if hasattr(session.config, "workerinput") or not _AARCH64_SECONDS:
        return
    out = ROOT / "build" / "aarch64-tests.seconds"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{sum(_AARCH64_SECONDS):.0f}\n")
