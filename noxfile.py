"""Development sessions for the musl build of pip.

The fork is never run from the source tree (it is assembled from upstream pip at
build time), so every session that needs it builds the wheel first and installs it.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "docs", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
DIST = ROOT / "build" / "dist"
TEST_REQUIREMENTS = [
    "pytest>=8",
    "pytest-xdist",
    "hypothesis",
    "pyelftools",
    "virtualenv",
    "pypiserver",
    "twine",
    "wheel",
    "build",
    "setuptools",
]


def build_fork_wheel(session: nox.Session) -> Path:
    """Build the fork's wheel with the session's own (stock) pip."""
    shutil.rmtree(DIST, ignore_errors=True)
    session.run(
        "python",
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "--wheel-dir",
        str(DIST),
        str(ROOT),
    )
    (wheel,) = glob.glob(str(DIST / "pip-*.whl"))
    return Path(wheel)


def install_fork(session: nox.Session) -> Path:
    wheel = build_fork_wheel(session)
    session.run(
        "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--force-reinstall",
        "--no-deps",
        str(wheel),
    )
    # From here on the session's `python -m pip` is the fork.
    session.run("python", "-m", "pip", "--version")
    return wheel


def musl_python(session: nox.Session) -> str:
    out = session.run(
        "bash", str(ROOT / "tools" / "build-musl-python.sh"), external=True, silent=True
    )
    assert isinstance(out, str)
    return out.strip().splitlines()[-1]


def setup_system(session: nox.Session) -> None:
    session.run("bash", str(ROOT / "tools" / "setup-system.sh"), external=True)


def run_pytest(session: nox.Session, *default_args: str) -> None:
    wheel = install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", *TEST_REQUIREMENTS)
    env = {
        "PIP_MUSL_WHEEL": str(wheel),
        "PIP_MUSL_PYTHON": musl_python(session),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    args = session.posargs or list(default_args)
    session.run("python", "-m", "pytest", *args, env=env)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole suite: unit, functional and real-musl end-to-end tests."""
    setup_system(session)
    run_pytest(session, "-n", "2", "tests")


@nox.session(python="3.11")
def musl(session: nox.Session) -> None:
    """Build (or reuse) the musl CPython and run the real-musl end-to-end tests."""
    setup_system(session)
    run_pytest(session, "tests/e2e")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy --strict on our own code (against the built fork)."""
    install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", "ruff", "mypy", "nox")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "src", "hatch_build.py")
    session.run("mypy", "--strict", "-p", "pip._internal.libc", env={"MYPYPATH": ""})


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Sphinx, with warnings as errors."""
    session.install("sphinx", "myst-parser", "furo")
    out = ROOT / "docs" / "_build" / "html"
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", str(ROOT / "docs"), str(out)
    )


@nox.session(python="3.11")
def benchmarks(session: nox.Session) -> None:
    """Fork vs stock pip 26.3 (and uv): ratios written to benchmarks/RESULTS.md."""
    setup_system(session)
    wheel = install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", "pypiserver", "uv")
    session.run(
        "python",
        str(ROOT / "benchmarks" / "run.py"),
        "--fork-wheel",
        str(wheel),
        "--musl-python",
        musl_python(session),
        *session.posargs,
    )


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """Fuzz the ELF reader and the wheel inspector for a fixed budget."""
    setup_system(session)  # the seeds are compiled with gcc and musl-gcc
    install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", "hypothesis", "pytest",
                "atheris")
    budget = os.environ.get("PIP_MUSL_FUZZ_SECONDS", "60")
    session.run("python", str(ROOT / "tools" / "fuzz.py"), "--seconds", budget)


@nox.session(python="3.11")
def dist(session: nox.Session) -> None:
    """Release artifacts from the committed HEAD into dist/: sdist, wheel, zipapp
    and SHA256SUMS, the same bytes every time (tools/dist.py; docs/building.md)."""
    session.install("build")
    shutil.rmtree(ROOT / "dist", ignore_errors=True)
    session.run("python", str(ROOT / "tools" / "dist.py"), "--out", str(ROOT / "dist"),
                *session.posargs)


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """What .ci/run runs: lint, docs, the whole test suite and a short fuzz run."""
    session.notify("lint")
    session.notify("docs")
    session.notify("tests")
    session.notify("fuzz")
