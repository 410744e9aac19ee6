"""What the benchmarks measure and with what: the pinned inputs, the targets,
the run's configuration and venvs, and small helpers the cases share."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    BenchError,
    Row,
    Sample,
    Stats,
    command_output,
    log,
)

from tests.lib.venvs import (
    STOCK_PIP_VERSION,
    Venv,
    make_venv,
    stock_pip_wheel,
)

# --------------------------------------------------------------------------
# What is measured
# --------------------------------------------------------------------------

MUSL_PLATFORMS = (
    "musllinux_1_2_x86_64",
    "musllinux_1_1_x86_64",
    "musllinux_1_0_x86_64",
)

#: Case 2: top-level requirements (their dependencies come along: 32 wheels,
#: 12 of them binary musllinux wheels).
INSTALL_SET = (
    "requests==2.34.2",
    "pyyaml==6.0.3",
    "jinja2==3.1.6",
    "msgpack==1.2.4",
    "attrs==26.1.0",
    "python-dateutil==4.0.0",
    "packaging==26.3",
    "click==8.5.1",
    "rich==15.0.0",
    "pydantic==2.14.3",
    "orjson==3.13.0",
    "cffi==2.1.1",
    "wrapt==2.5.2",
    "yarl==1.25.1",
    "aiosignal==1.4.0",
    "frozenlist==1.8.0",
)
INSTALL_SET_QUICK = ("requests==2.34.2", "pyyaml==6.0.3")

#: Case 3: C extensions whose sdists build with a C compiler and setuptools only.
ALPINE_SET = (
    "markupsafe==3.0.4",
    "wrapt==2.5.2",
    "psutil==7.2.2",
    "setproctitle==1.3.8",
    "simplejson==4.3.0",
)
ALPINE_SET_QUICK = ("markupsafe==3.0.4",)
#: What an isolated build of those sdists needs (the local index must hold it).
BUILD_DEPS = ("setuptools==84.2.1", "wheel==0.48.0", "packaging==26.3")

#: Case 4: large binary wheels (the largest one is used for the share).
#: musllinux_1_1 builds: the current musllinux_1_2 builds of numpy and scipy
#: bundle a libgcc_s with packed relocations (DT_RELR), which musl's loader
#: applies only from 1.2.4, so the fork (rightly) refuses them on a musl 1.2.3
#: host and there would be no install to compare with.
#: The musl CPython's minor -> (requirements, platform). CPython 3.13 on musl
#: 1.2.5 (what current Alpine ships) gets the musllinux_1_2 builds its users
#: install; there is no musllinux_1_1 scipy for it.
BIG_WHEELS = {
    "3.11": (("numpy==2.1.3", "scipy==1.14.0"), "musllinux_1_1_x86_64"),
    "3.13": (("numpy==2.2.6", "scipy==1.15.3"), "musllinux_1_2_x86_64"),
}

#: Issue 14's targets (value <= target).
TARGETS = {
    "tags_musl_call": 0.9,  # musl: cold get_supported() call, in-process
    "tags_glibc": 1.02,  # glibc: cold import + get_supported(), in-process
    "install": 1.02,
    "check_ab": 1.02,  # install with / without the check (bytecode compiled)
    "check_ab_nocompile": 1.05,  # the same with --no-compile
    "check_rss": 1.05,
    "rss": 1.05,
}


@dataclass
class Config:
    fork_wheel: Path
    musl_python: Path
    host_python: Path
    work: Path
    quick: bool
    repeat: int | None
    cases: frozenset[int]
    #: The musl CPython's ``major.minor`` (which wheels the index serves it).
    musl_minor: str = "3.11"
    #: Measure the musl CPython only (a second musl host; the glibc figures
    #: are the main run's).
    musl_only: bool = False
    load_before: float = 0.0

    @property
    def musl_abi(self) -> str:
        """``cp311``: the interpreter and ABI tag of the musl CPython."""
        return "cp" + self.musl_minor.replace(".", "")

    def hosts(self) -> tuple[str, ...]:
        """The CPythons measured: ``musl``, and ``glibc`` unless --musl-only."""
        return ("musl",) if self.musl_only else ("musl", "glibc")

    def reps(self, default: int) -> int:
        if self.repeat is not None:
            return self.repeat
        return 1 if self.quick else default

    def warm(self, default: int) -> int:
        """Warm-up rounds: as given; in --quick mode one for cheap cases only."""
        if self.quick:
            return 1 if default >= 2 else 0
        return default


@dataclass
class Env:
    """The venvs of one run (templates: install runs use fresh copies)."""

    host_fork: Venv
    host_stock: Venv
    musl_fork: Venv
    musl_stock: Venv
    musl_bare: Path  # a venv of the musl CPython without pip (uv's target)
    uv: Path | None
    uv_why_not: str


# --------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------


def find_uv() -> tuple[Path | None, str]:
    try:
        import uv  # type: ignore[import-not-found]

        return Path(uv.find_uv_bin()), ""
    except Exception:  # any failure means "not available"
        pass
    found = shutil.which("uv")
    if found:
        return Path(found), ""
    return (
        None,
        "uv is not installed next to this interpreter (nox -s benchmarks installs it)",
    )


def set_up(cfg: Config) -> Env:
    stock = stock_pip_wheel()
    venvs = cfg.work / "venvs"
    log("creating venvs (fork / stock pip on the glibc and the musl CPython)")
    host_fork = make_venv(venvs / "host-fork", cfg.host_python, cfg.fork_wheel)
    host_stock = make_venv(venvs / "host-stock", cfg.host_python, stock)
    musl_fork = make_venv(venvs / "musl-fork", cfg.musl_python, cfg.fork_wheel)
    musl_stock = make_venv(venvs / "musl-stock", cfg.musl_python, stock)
    bare = make_venv(venvs / "musl-bare", cfg.musl_python, None).root
    for venv, want in (
        (host_fork, None),
        (musl_fork, None),
        (host_stock, STOCK_PIP_VERSION),
        (musl_stock, STOCK_PIP_VERSION),
    ):
        version = pip_version(venv)
        if want is not None and version != want:
            raise BenchError(f"{venv.root}: expected pip {want}, got {version}")
        if want is None and "musl" not in version:
            raise BenchError(f"{venv.root}: expected the fork, got pip {version}")
    uv, why = find_uv()
    return Env(host_fork, host_stock, musl_fork, musl_stock, bare, uv, why)


def musl_minor(python: Path) -> str:
    """``3.11``: the ``major.minor`` of the interpreter ``python``."""
    out = command_output(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    )
    major, dot, minor = out.partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise BenchError(f"{python} does not say its version: {out}")
    return out


def pip_version(venv: Venv) -> str:
    return venv.pip("--version").stdout.split()[1]


def describe_musl_host(env: Env) -> str:
    proc = env.musl_fork.run(
        "-c",
        "from pip._internal.libc.host import host_libc; print(host_libc().describe())",
        check=False,
    )
    return proc.stdout.strip() or f"unknown ({proc.stderr.strip()[-200:]})"


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def site_packages(venv_root: Path) -> Path:
    (sp,) = venv_root.glob("lib/python3*/site-packages")
    return sp


def installed_wheels(venv_root: Path) -> dict[str, str]:
    """dist-info name -> its WHEEL ``Tag`` lines (joined), for pip and uv alike."""
    out = {}
    for d in sorted(site_packages(venv_root).glob("*.dist-info")):
        if d.name.lower().startswith("pip-"):
            continue
        wheel = d / "WHEEL"
        tags = []
        if wheel.exists():
            tags = [
                line.split(":", 1)[1].strip()
                for line in wheel.read_text().splitlines()
                if line.startswith("Tag:")
            ]
        out[d.name] = ",".join(tags)
    return out


def row(
    measure: str,
    contender: str,
    values: Sequence[float],
    unit: str,
    note: str = "",
) -> Row:
    return Row(measure, contender, Stats.of(values), unit, note)


def walls(samples: Sequence[Sample]) -> list[float]:
    return [s.wall for s in samples]


def cpus(samples: Sequence[Sample]) -> list[float]:
    return [s.cpu for s in samples]


CPU_NOTE = "CPU time (user + sys) is less sensitive to other load on the machine"
