"""Benchmarks: the musl build of pip against stock pip 26.3 (and uv), in one run.

Usage (``nox -s benchmarks`` runs this with the fork's wheel and the musl CPython)::

    python benchmarks/run.py --fork-wheel W --musl-python P [--quick] [--repeat N]
        [--out benchmarks/RESULTS.md] [--cases 1,2,3,4,5,6,7]

Cases (see benchmarks/README.md for the method):

1. cold tag computation, fork vs stock, on the glibc host CPython and the musl
   CPython (whole process and in-process), plus processes spawned;
2. ``pip install`` of ~30 wheels from a local pypiserver into a fresh venv of the
   musl CPython, fork vs stock, with uv as the speed anchor;
3. the "Alpine image" case: an index holding ``x86_64_linux_musl`` wheels and
   sdists only -- the fork installs the wheels, stock pip compiles the sdists;
4. the install-time ABI check's share of installing a large binary wheel, the
   wheel reader's throughput beside the zlib-only floor, and installs with and
   without the check (with and without bytecode compilation);
5. peak RSS of case 2;
6. the fork's own host detection against stock's loader spawn (startup.py);
7. whole commands on both hosts: --version, list, install --dry-run, install
   (startup.py).

Results are printed and written as Markdown (default benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import startup
from benchlib import (
    ORDER_NOTE,
    RATIO_HEADER,
    ROOT,
    BenchError,
    Ratio,
    Row,
    Sample,
    Section,
    Stats,
    building,
    cache_root,
    command_output,
    cpu_model,
    drop_page_cache,
    fresh_copy,
    interleave,
    key_of,
    last_json_line,
    log,
    md_table,
    mem_total,
    page_cache_droppable,
    paired_ratio,
    pip_download,
    ratio_rows,
    render_section,
    rounds_note,
    run_child,
    serve_directory,
)

from tests.lib.venvs import (
    STOCK_PIP_VERSION,
    Venv,
    clean_env,
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

#: The child of case 1: exactly the brief's command plus clocks around the two
#: steps, printed as one JSON line.
TAGS_CHILD = (
    "import time; t0 = time.perf_counter(); "
    "from pip._internal.utils.compatibility_tags import get_supported; "
    "import sys; m = len(sys.modules); "
    "t1 = time.perf_counter(); tags = get_supported(); t2 = time.perf_counter(); "
    "import json; print(json.dumps({'import_ms': (t1 - t0) * 1e3, "
    "'call_ms': (t2 - t1) * 1e3, 'n': len(tags), 'first': str(tags[0]), "
    "'mods': len(sys.modules) - m}))"
)

#: Untimed: which process-spawning audit events get_supported() raises.
SPAWN_CHILD = """\
import json, sys
SPAWN = {"subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.forkpty",
         "os.system", "os.spawn"}
seen = []
def hook(event, args):
    if event in SPAWN:
        seen.append(f"{event} {str(args[0])[:120]}")
sys.addaudithook(hook)
from pip._internal.utils.compatibility_tags import get_supported
get_supported()
print(json.dumps({"events": seen}))
"""

#: Case 4, in the fork's musl venv: import, host detection and one cold check.
CHECK_CHILD = """\
import json, sys, time
# Untimed: what `pip install` has loaded and done before it checks a wheel
# (its command, the preparer, and host detection for the tags).
import pip._internal.commands.install
import pip._internal.operations.prepare
from pip._internal.libc.host import host_libc
t0 = time.perf_counter()
host = host_libc()
t1 = time.perf_counter()
from pip._internal.libc.wheel_abi import check_wheel_file
t2 = time.perf_counter()
problems = check_wheel_file(sys.argv[1], host)
t3 = time.perf_counter()
print(json.dumps({"host_ms": (t1 - t0) * 1e3, "import_ms": (t2 - t1) * 1e3,
                  "check_ms": (t3 - t2) * 1e3, "problems": len(problems)}))
"""


#: Case 4, untimed: how many bytes the check decompresses, against the ELF
#: members' total size.
INFLATE_CHILD = """\
import json, sys, zipfile
from pip._internal.libc.host import host_libc
from pip._internal.libc.wheel_abi import check_wheel_file
read = zipfile.ZipExtFile.read
total = [0]
def counting(self, n=-1):
    data = read(self, n)
    total[0] += len(data)
    return data
zipfile.ZipExtFile.read = counting
check_wheel_file(sys.argv[1], host_libc())
zipfile.ZipExtFile.read = read
with zipfile.ZipFile(sys.argv[1]) as zf:
    so = [i for i in zf.infolist() if ".so" in i.filename.rsplit("/", 1)[-1]]
print(json.dumps({"inflated": total[0], "so_bytes": sum(i.file_size for i in so),
                  "so_count": len(so)}))
"""


#: Case 4, the floor of the reader: inflating the same shared objects with
#: zipfile/zlib and nothing else, in MB of wheel per second.
ZLIB_CHILD = """\
import json, sys, time, zipfile
t0 = time.perf_counter()
n = 0
with zipfile.ZipFile(sys.argv[1]) as zf:
    for info in zf.infolist():
        if ".so" in info.filename.rsplit("/", 1)[-1]:
            with zf.open(info) as f:
                while chunk := f.read(1 << 20):
                    n += len(chunk)
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1e3, "bytes": n}))
"""


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
# Cached inputs
# --------------------------------------------------------------------------


def wheelhouse(cfg: Config, env: Env, reqs: Sequence[str]) -> Path:
    """The musllinux wheels of ``reqs`` and their dependencies for the musl
    CPython's minor (cached)."""
    abi = cfg.musl_abi
    final = cache_root() / f"wheelhouse-{key_of(f'musllinux-{abi}', sorted(reqs))}"
    if not final.exists():
        log(f"downloading musllinux {abi} wheels for {len(reqs)} requirements (once)")
        with building(final) as tmp:
            pip_download(
                env.host_stock.python,
                tmp,
                [
                    "--only-binary=:all:",
                    *(a for p in MUSL_PLATFORMS for a in ("--platform", p)),
                    "--python-version",
                    cfg.musl_minor,
                    "--implementation",
                    "cp",
                    "--abi",
                    abi,
                    *reqs,
                ],
            )
    return final


def big_wheels(cfg: Config, env: Env) -> list[Path]:
    if cfg.musl_minor not in BIG_WHEELS:
        raise BenchError(
            f"case 4: no large wheels pinned for CPython {cfg.musl_minor} "
            f"(BIG_WHEELS has {', '.join(BIG_WHEELS)})"
        )
    reqs, platform_tag = BIG_WHEELS[cfg.musl_minor]
    final = cache_root() / f"big-{key_of(reqs, platform_tag)}"
    if not final.exists():
        log(f"downloading {', '.join(reqs)} {platform_tag} wheels (once)")
        with building(final) as tmp:
            pip_download(
                env.host_stock.python,
                tmp,
                [
                    "--no-deps",
                    "--only-binary=:all:",
                    "--platform",
                    platform_tag,
                    "--python-version",
                    cfg.musl_minor,
                    "--implementation",
                    "cp",
                    "--abi",
                    cfg.musl_abi,
                    *reqs,
                ],
            )
    return sorted(final.glob("*.whl"))


def alpine_inputs(cfg: Config, env: Env, reqs: Sequence[str]) -> Path:
    """sdists, build-dependency wheels and the fork's ``_linux_musl`` builds.

    Layout: ``sdists/``, ``build-deps/``, ``linux-musl/`` (cached per musl
    CPython build and requirement set).
    """
    final = cache_root() / (
        f"alpine-{cfg.musl_python.resolve().parent.parent.name}-"
        f"{key_of(sorted(reqs), BUILD_DEPS)}"
    )
    if final.exists():
        return final
    log(f"preparing the Alpine case (once): sdists of {', '.join(reqs)}")
    with building(final) as tmp:
        sdists, deps, built = tmp / "sdists", tmp / "build-deps", tmp / "linux-musl"
        for d in (sdists, deps, built):
            d.mkdir()
        pip_download(
            env.host_stock.python, sdists, ["--no-binary=:all:", "--no-deps", *reqs]
        )
        pip_download(env.host_stock.python, deps, ["--only-binary=:all:", *BUILD_DEPS])
        index_dir = tmp / "index"
        index_dir.mkdir()
        for f in [*sdists.iterdir(), *deps.iterdir()]:
            shutil.copy2(f, index_dir)
        log("building x86_64_linux_musl wheels with the fork on the musl CPython")
        with serve_directory(index_dir, tmp / "pypiserver.log") as url:
            run_child(
                [
                    env.musl_fork.python,
                    "-m",
                    "pip",
                    "wheel",
                    "--no-deps",
                    "--no-cache-dir",
                    "--index-url",
                    url,
                    "-w",
                    built,
                    *reqs,
                ]
            ).check("pip wheel (fork, musl CPython)")
        shutil.rmtree(index_dir)
        names = sorted(p.name for p in built.glob("*.whl"))
        bad = [n for n in names if not n.endswith("_linux_musl.whl")]
        if bad or len(names) != len(reqs):
            raise BenchError(
                f"the fork's pip wheel should give {len(reqs)} "
                f"*_linux_musl wheels, got {names}"
            )
    return final


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


# --------------------------------------------------------------------------
# Case 1: cold tag computation
# --------------------------------------------------------------------------


def case_tags(cfg: Config, env: Env) -> Section:
    sec = Section(
        "Cold tag computation",
        'A fresh `python -c "from pip._internal.utils.compatibility_tags import '
        'get_supported; get_supported()"` per run, fork vs stock pip '
        f"{STOCK_PIP_VERSION} in sibling venvs of the same interpreter. *Whole "
        "process*: wall time of the child, start-up included. *In-process*: "
        "`time.perf_counter()` inside the child around the import of "
        "`compatibility_tags` and around the `get_supported()` call, printed by the "
        "child. Nothing is subtracted.",
    )
    repeat, warmup = cfg.reps(40), cfg.warm(2)
    for interp, fork, stock in (
        ("musl", env.musl_fork, env.musl_stock),
        ("glibc", env.host_fork, env.host_stock),
    ):
        if interp not in cfg.hosts():
            continue

        def runner(venv: Venv) -> Callable[[int], Sample]:
            def run(_rnd: int) -> Sample:
                s = run_child([venv.python, "-c", TAGS_CHILD]).check("tags child")
                s.extra = last_json_line(s.stdout)
                return s

            return run

        log(f"case 1: cold tags on the {interp} CPython ({warmup}+{repeat} runs each)")
        got = interleave(
            {"fork": runner(fork), "stock": runner(stock)},
            repeat=repeat,
            warmup=warmup,
            label=f"tags/{interp}",
        )
        for name in ("fork", "stock"):
            s = got[name]
            first = s[0].extra
            note = (
                f"{int(first['n'])} tags, first {first['first']}; the call "
                f"imported {int(first['mods'])} modules"
            )
            sec.rows.append(
                row(f"{interp}: whole process", name, [x.wall * 1e3 for x in s], "ms")
            )
            sec.rows.append(
                row(
                    f"{interp}: whole process, CPU time",
                    name,
                    [x.cpu * 1e3 for x in s],
                    "ms",
                )
            )
            sec.rows.append(
                row(
                    f"{interp}: import compatibility_tags",
                    name,
                    [float(x.extra["import_ms"]) for x in s],
                    "ms",
                )
            )
            sec.rows.append(
                row(
                    f"{interp}: get_supported() call",
                    name,
                    [float(x.extra["call_ms"]) for x in s],
                    "ms",
                    note,
                )
            )
        f, st = got["fork"], got["stock"]
        # Issue 14: musl's target is on the call (it spawns nothing any more),
        # glibc's on import + call (the fork must not slow pip down there).
        call_target = TARGETS["tags_musl_call"] if interp == "musl" else None
        both_target = TARGETS["tags_glibc"] if interp == "glibc" else None
        stock_wall = Stats.of(walls(st)).median * 1e3
        stock_call = Stats.of([float(x.extra["call_ms"]) for x in st]).median
        sec.notes.append(
            f"{interp}: without its `get_supported()` call, stock's whole process "
            f"would take {stock_wall - stock_call:.1f} of its {stock_wall:.1f} ms "
            "(interpreter start-up and imports), so even a fork whose call cost "
            f"nothing would score {(stock_wall - stock_call) / stock_wall:.2f} on "
            "the whole-process ratio."
        )
        sec.ratios += [
            Ratio(
                f"{interp}: whole process fork/stock",
                paired_ratio(walls(f), walls(st)),
            ),
            Ratio(
                f"{interp}: whole process CPU time fork/stock",
                paired_ratio(cpus(f), cpus(st)),
                note=CPU_NOTE,
            ),
            Ratio(
                f"{interp}: in-process (import + get_supported) fork/stock",
                paired_ratio(
                    [
                        float(x.extra["import_ms"]) + float(x.extra["call_ms"])
                        for x in f
                    ],
                    [
                        float(x.extra["import_ms"]) + float(x.extra["call_ms"])
                        for x in st
                    ],
                ),
                both_target,
            ),
            Ratio(
                f"{interp}: in-process get_supported() call alone fork/stock",
                paired_ratio(
                    [float(x.extra["call_ms"]) for x in f],
                    [float(x.extra["call_ms"]) for x in st],
                ),
                call_target,
            ),
        ]
    # Processes spawned: audit hook (always) and strace (when installed).
    strace = shutil.which("strace")
    spawn_rows = []
    for interp, venv, name in (
        ("musl", env.musl_fork, "fork"),
        ("musl", env.musl_stock, "stock"),
        ("glibc", env.host_fork, "fork"),
        ("glibc", env.host_stock, "stock"),
    ):
        if interp not in cfg.hosts():
            continue
        audit = last_json_line(
            run_child([venv.python, "-c", SPAWN_CHILD]).check("spawn child").stdout
        )["events"]
        execs = "strace not installed"
        if strace:
            with tempfile.NamedTemporaryFile("r", suffix=".strace") as trace:
                run_child(
                    [
                        strace,
                        "-f",
                        "-qq",
                        "-e",
                        "trace=execve",
                        "-o",
                        trace.name,
                        venv.python,
                        "-c",
                        "from pip._internal.utils.compatibility_tags import "
                        "get_supported; get_supported()",
                    ]
                ).check("strace")
                lines = [
                    ln
                    for ln in Path(trace.name).read_text().splitlines()
                    if "execve(" in ln and ln.rstrip().endswith("= 0")
                ]
                # The first successful execve is the interpreter itself.
                execs = str(len(lines) - 1)
        spawn_rows.append(
            [
                interp,
                name,
                str(len(audit)),
                execs,
                "; ".join(sorted(set(audit))) or "—",
            ]
        )
        if interp == "musl" and name == "fork":
            sec.ratios.append(
                Ratio(
                    "musl: processes spawned by the fork's get_supported()",
                    float(len(audit)),
                    0.0,
                    "must be 0 (audit hook count)",
                    unit="count",
                )
            )
    sec.blocks.append(
        "Processes spawned by one cold `get_supported()`: audit-hook events "
        "(`subprocess.Popen`, `os.posix_spawn`, `os.fork`, `os.exec*`, `os.system`) "
        "seen in the child, and successful `execve` calls after the interpreter's "
        "own (`strace -f -e trace=execve`).\n\n"
        + md_table(
            ("Interpreter", "pip", "spawn events", "execve (strace)", "what"),
            spawn_rows,
        )
    )
    sec.notes.append(rounds_note(warmup, repeat))
    return sec


# --------------------------------------------------------------------------
# Case 2 (+5): pip install from a local index on the musl CPython
# --------------------------------------------------------------------------


def case_install(cfg: Config, env: Env) -> tuple[Section, Section]:
    reqs = INSTALL_SET_QUICK if cfg.quick else INSTALL_SET
    house = wheelhouse(cfg, env, reqs)
    files = sorted(house.glob("*.whl"))
    binary = [f for f in files if not f.name.endswith("-any.whl")]
    sec = Section(
        "pip install from a local index (musl CPython)",
        f"`python -m pip install --no-cache-dir --index-url <local> "
        f"<{len(reqs)} requirements>` into a fresh venv of the musl CPython (a copy "
        f"of a template venv made before the clock starts), dependencies resolved "
        f"normally; the index (pypiserver on 127.0.0.1) serves {len(files)} wheels "
        f"({len(binary)} binary musllinux, the rest pure). `--no-cache-dir`: every "
        "run downloads every file from the index, as a fresh container build does. "
        "uv (`uv pip install --no-config --no-cache --compile-bytecode --python "
        "<venv>/bin/python`) is the speed anchor; `--compile-bytecode` because pip "
        "compiles `.pyc` files by default and uv does not.",
    )
    mem = Section(
        "Peak memory (case 2)",
        "Peak RSS (`ru_maxrss` from `wait4` on each child: its own peak or that of "
        "its largest descendant) of the installs of case 2.",
    )
    # 21 rounds: 7-round medians of these 5-8 s installs moved by 4 %, and
    # 11-round ones had 95 % intervals of ±15 %.
    repeat, warmup = cfg.reps(21), cfg.warm(1)
    runs = cfg.work / "runs"
    runs.mkdir(exist_ok=True)
    seen: dict[str, dict[str, str]] = {}

    with serve_directory(house, cfg.work / "pypiserver-case2.log") as url:

        def pip_runner(name: str, template: Venv) -> Callable[[int], Sample]:
            def run(rnd: int) -> Sample:
                drop_page_cache(house)
                target = fresh_copy(template.root, runs / f"{name}-{rnd}")
                s = run_child(
                    [
                        target / "bin" / "python",
                        "-m",
                        "pip",
                        "install",
                        "--no-cache-dir",
                        "--index-url",
                        url,
                        *reqs,
                    ]
                ).check(f"pip install ({name})")
                seen[name] = installed_wheels(target)
                shutil.rmtree(target)
                return s

            return run

        contenders: dict[str, Callable[[int], Sample]] = {
            "fork": pip_runner("fork", env.musl_fork),
            "stock": pip_runner("stock", env.musl_stock),
        }
        uv = env.uv
        if uv is not None:

            def uv_run(rnd: int) -> Sample:
                drop_page_cache(house)
                target = fresh_copy(env.musl_bare, runs / f"uv-{rnd}")
                uv_env = {
                    k: v for k, v in clean_env().items() if not k.startswith("UV_")
                }
                s = run_child(
                    [
                        uv,
                        "pip",
                        "install",
                        "--no-config",
                        "--no-cache",
                        "--compile-bytecode",
                        "--python",
                        target / "bin" / "python",
                        "--index-url",
                        url,
                        *reqs,
                    ],
                    env=uv_env,
                ).check("uv pip install")
                seen["uv"] = installed_wheels(target)
                shutil.rmtree(target)
                return s

            contenders["uv"] = uv_run
        log(f"case 2: pip install of {len(files)} wheels ({warmup}+{repeat} runs each)")
        got = interleave(contenders, repeat=repeat, warmup=warmup, label="install")

    for name, samples in got.items():
        sec.rows.append(
            row(
                "install wall time",
                name,
                walls(samples),
                "s",
                f"{len(seen.get(name, {}))} distributions installed",
            )
        )
        sec.rows.append(row("install CPU time", name, cpus(samples), "s"))
        mem.rows.append(
            row("peak RSS", name, [s.maxrss_kb / 1024 for s in samples], "MiB")
        )
    sec.ratios += [
        Ratio(
            "install fork/stock",
            paired_ratio(walls(got["fork"]), walls(got["stock"])),
            TARGETS["install"],
        ),
        Ratio(
            "install CPU time fork/stock",
            paired_ratio(cpus(got["fork"]), cpus(got["stock"])),
            note=CPU_NOTE,
        ),
    ]
    mem.ratios.append(
        Ratio(
            "peak RSS fork/stock",
            paired_ratio(
                [s.maxrss_kb for s in got["fork"]], [s.maxrss_kb for s in got["stock"]]
            ),
            TARGETS["rss"],
        )
    )
    if "uv" in got:
        sec.ratios.append(
            Ratio(
                "uv/fork (speed anchor)",
                paired_ratio(walls(got["uv"]), walls(got["fork"])),
                note="below 1: uv is faster",
            )
        )
        mem.ratios.append(
            Ratio(
                "peak RSS uv/fork",
                paired_ratio(
                    [s.maxrss_kb for s in got["uv"]],
                    [s.maxrss_kb for s in got["fork"]],
                ),
                note="uv's own process; its bytecode-compiling Python children "
                "count if larger",
            )
        )
    else:
        sec.notes.append(f"uv not measured: {env.uv_why_not}.")
    # Did everyone install the same thing?
    fork_set = {k.lower() for k in seen.get("fork", {})}
    for other in ("stock", "uv"):
        if other in seen and {k.lower() for k in seen[other]} != fork_set:
            sec.notes.append(
                f"**{other} installed a different set than the fork**: "
                f"{sorted(fork_set ^ {k.lower() for k in seen[other]})}"
            )
    mismatch = {
        k: (v, seen.get("stock", {}).get(k))
        for k, v in seen.get("fork", {}).items()
        if seen.get("stock", {}).get(k) != v
    }
    sec.notes.append(
        "Fork and stock installed the same files (same WHEEL tags for every "
        "distribution)."
        if not mismatch
        else f"**Fork and stock chose different files**: {mismatch}"
    )
    sec.notes.append(rounds_note(warmup, repeat))
    return sec, mem


# --------------------------------------------------------------------------
# Case 3: the Alpine image
# --------------------------------------------------------------------------


def case_alpine(cfg: Config, env: Env) -> Section:
    reqs = ALPINE_SET_QUICK if cfg.quick else ALPINE_SET
    inputs = alpine_inputs(cfg, env, reqs)
    sec = Section(
        "Alpine image: `_linux_musl` wheels vs sdists",
        f"An index holding, for {len(reqs)} packages with C extensions "
        f"({', '.join(reqs)}), only sdists and `{cfg.musl_abi}-*-x86_64_linux_musl` "
        "wheels "
        "(built once by the fork on the musl CPython from those sdists), plus the "
        f"build dependencies ({', '.join(BUILD_DEPS)}) — no musllinux wheels. "
        "`python -m pip install --no-cache-dir --index-url <local> <requirements>` "
        "into a fresh venv of the musl CPython: the fork installs the `_linux_musl` "
        "wheels, stock pip does not know that tag and compiles every sdist.",
    )
    index_dir = cfg.work / "index-alpine"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir()
    for sub in ("sdists", "build-deps", "linux-musl"):
        for f in (inputs / sub).iterdir():
            shutil.copy2(f, index_dir)
    # Compiles dominate (tens of seconds a run), so no warm-up round unless asked:
    # the page cache is warm from the earlier cases.
    repeat, warmup = cfg.reps(3), cfg.warm(0)
    runs = cfg.work / "runs"
    runs.mkdir(exist_ok=True)
    seen: dict[str, dict[str, str]] = {}
    with serve_directory(index_dir, cfg.work / "pypiserver-case3.log") as url:

        def pip_runner(name: str, template: Venv) -> Callable[[int], Sample]:
            def run(rnd: int) -> Sample:
                target = fresh_copy(template.root, runs / f"alpine-{name}-{rnd}")
                s = run_child(
                    [
                        target / "bin" / "python",
                        "-m",
                        "pip",
                        "install",
                        "--no-cache-dir",
                        "--index-url",
                        url,
                        *reqs,
                    ]
                ).check(f"pip install ({name}, Alpine case)")
                seen[name] = installed_wheels(target)
                shutil.rmtree(target)
                return s

            return run

        log(f"case 3: Alpine image ({warmup}+{repeat} runs each; stock compiles)")
        got = interleave(
            {
                "fork": pip_runner("fork", env.musl_fork),
                "stock": pip_runner("stock", env.musl_stock),
            },
            repeat=repeat,
            warmup=warmup,
            label="alpine",
        )
    for name, samples in got.items():
        tags = seen.get(name, {})
        musl = sum("_linux_musl" in t for t in tags.values())
        note = (
            f"{musl}/{len(tags)} installed from `_linux_musl` wheels"
            if name == "fork"
            else f"{len(tags) - musl}/{len(tags)} built from sdists "
            f"({', '.join(sorted(set(tags.values())))})"
        )
        sec.rows.append(row("install wall time", name, walls(samples), "s", note))
        sec.rows.append(row("install CPU time", name, cpus(samples), "s"))
    sec.ratios.append(
        Ratio(
            "Alpine install fork/stock",
            paired_ratio(walls(got["fork"]), walls(got["stock"])),
            note="no target; below 1: the fork saves the compiles",
        )
    )
    sec.notes.append(rounds_note(warmup, repeat))
    return sec


# --------------------------------------------------------------------------
# Case 4: the install-time ABI check on a large wheel
# --------------------------------------------------------------------------


def case_check(cfg: Config, env: Env) -> Section:
    if cfg.quick:
        house = wheelhouse(cfg, env, INSTALL_SET_QUICK)
        candidates = [p for p in house.glob("*.whl") if not p.name.endswith("-any.whl")]
    else:
        candidates = big_wheels(cfg, env)
    if not candidates:
        raise BenchError("no binary wheel for case 4")
    wheels = sorted(candidates, key=lambda p: p.stat().st_size)
    largest = wheels[-1]
    mb = largest.stat().st_size / 1e6
    sec = Section(
        "Install-time ABI check on a large binary wheel",
        "In a fresh process of the fork's musl venv that has already imported "
        "what `pip install` loads before the check (untimed): `host_libc()`, the "
        "marginal import of `pip._internal.libc.wheel_abi`, then one "
        "`check_wheel_file(path, host)` (cold: it also reads the host libc's "
        "exported symbols, once per process). Against it: `python -m pip install "
        "--no-deps --no-cache-dir <wheel file>` into a fresh copy of that venv, "
        "with the check and with `--skip-wheel-abi-check` (interleaved). "
        "Share = (import + check) / install time with the check.",
    )
    repeat, warmup = cfg.reps(5), cfg.warm(1)
    check: dict[str, list[Sample]] = {}
    for w in wheels:

        def run_check(_rnd: int, w: Path = w) -> Sample:
            s = run_child([env.musl_fork.python, "-c", CHECK_CHILD, w]).check(
                f"check_wheel_file({w.name})"
            )
            s.extra = last_json_line(s.stdout)
            return s

        log(f"case 4: check_wheel_file on {w.name} ({w.stat().st_size / 1e6:.1f} MB)")
        check[w.name] = interleave(
            {w.name: run_check}, repeat=repeat, warmup=warmup, label="check"
        )[w.name]
        s = check[w.name]
        size = w.stat().st_size / 1e6
        problems = int(s[0].extra["problems"])
        sec.rows += [
            row(
                "host_libc() (first call; pip needs it for tags anyway)",
                w.name,
                [float(x.extra["host_ms"]) for x in s],
                "ms",
            ),
            row(
                "import wheel_abi (marginal)",
                w.name,
                [float(x.extra["import_ms"]) for x in s],
                "ms",
                "after pip's install machinery is loaded",
            ),
            row(
                "check_wheel_file() (cold)",
                w.name,
                [float(x.extra["check_ms"]) for x in s],
                "ms",
                f"{size:.1f} MB wheel; {problems} problem(s) found",
            ),
            row(
                "reader throughput",
                w.name,
                [size / (float(x.extra["check_ms"]) / 1e3) for x in s],
                "MB/s",
                "MB of wheel file per second of check",
            ),
        ]

    # Full installs of the largest wheel the check accepts, with and without it.
    accepted = [w for w in wheels if int(check[w.name][0].extra["problems"]) == 0]
    if not accepted:
        sec.notes.append(
            "The check refuses every candidate wheel on this host, so there is "
            "no install to compare with."
        )
        sec.ratios.append(
            Ratio(
                "install with check / with --skip-wheel-abi-check",
                None,
                TARGETS["check_ab"],
            )
        )
        return sec
    if accepted[-1] != largest:
        sec.notes.append(
            f"{largest.name} is refused by the check on this host; the install "
            f"runs use {accepted[-1].name}."
        )
    largest = accepted[-1]
    mb = largest.stat().st_size / 1e6
    runs = cfg.work / "runs"
    runs.mkdir(exist_ok=True)

    def install(skip: bool, compile_: bool) -> Callable[[int], Sample]:
        def run(rnd: int) -> Sample:
            drop_page_cache(largest)
            target = fresh_copy(
                env.musl_fork.root, runs / f"big-{skip}-{compile_}-{rnd}"
            )
            argv: list[str | os.PathLike[str]] = [
                target / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--no-cache-dir",
            ]
            if skip:
                argv.append(startup.SKIP_OPTION)
            if not compile_:
                argv.append("--no-compile")
            s = run_child([*argv, largest]).check("pip install (large wheel)")
            shutil.rmtree(target)
            return s

        return run

    # 21 rounds: a few percent on a 7 s install needs many on this machine
    # (9-round medians moved by 6 %; 15-round ones between 0.94 and 1.10 from
    # one run to the next, with the fastest runs of both equal).
    ireps, iwarm = cfg.reps(21), cfg.warm(1)
    log(f"case 4: pip install {largest.name} with/without the check ({iwarm}+{ireps})")
    on_label, off_label = "fork, check on", startup.SKIP
    # One A/B pair per loop: with all four in one loop (order reversed every
    # round) the check's compiled install always ran right after a compiled
    # install, the other one half the time after a --no-compile one, whose
    # smaller clean-up leaves the disk less busy: a bias of its own.
    got: dict[str, list[Sample]] = {}
    for suffix, compile_ in (("", True), (", --no-compile", False)):
        got |= interleave(
            {
                on_label + suffix: install(False, compile_),
                off_label + suffix: install(True, compile_),
            },
            repeat=ireps,
            warmup=iwarm,
            label="big install" + suffix,
        )
    on, off = got[on_label], got[off_label]
    on_nc, off_nc = got[f"{on_label}, --no-compile"], got[f"{off_label}, --no-compile"]
    for label, samples in got.items():
        sec.rows += [
            row(f"pip install {largest.name}", label, walls(samples), "s"),
            row("  CPU time", label, cpus(samples), "s"),
            row("  peak RSS", label, [x.maxrss_kb / 1024 for x in samples], "MiB"),
        ]
    log(f"case 4: zlib-only floor on {largest.name}")

    def zlib_floor(_rnd: int) -> Sample:
        s = run_child([env.musl_fork.python, "-c", ZLIB_CHILD, largest]).check("zlib")
        s.extra = last_json_line(s.stdout)
        return s

    floor = interleave(
        {"zlib": zlib_floor}, repeat=repeat, warmup=warmup, label="zlib floor"
    )["zlib"]
    floor_ms = [float(x.extra["ms"]) for x in floor]
    sec.rows.append(
        row(
            "zipfile/zlib alone: inflate the same shared objects",
            largest.name,
            [mb / (ms / 1e3) for ms in floor_ms],
            "MB/s",
            "the reader's floor: MB of wheel per second of inflating only",
        )
    )
    inflate = last_json_line(
        run_child([env.musl_fork.python, "-c", INFLATE_CHILD, largest])
        .check("decompression count")
        .stdout
    )
    sec.notes.append(
        f"The check decompressed {inflate['inflated'] / 1e6:.1f} MB of "
        f"{largest.name}'s {inflate['so_count']} shared objects, which total "
        f"{inflate['so_bytes'] / 1e6:.1f} MB uncompressed (counted in a separate, "
        "untimed run)."
    )
    s = check[largest.name]
    cost_ms = Stats.of(
        [float(x.extra["import_ms"]) + float(x.extra["check_ms"]) for x in s]
    ).median
    install_ms = Stats.of(walls(on)).median * 1e3
    sec.ratios += [
        Ratio(
            f"check's own time / install with the check ({mb:.1f} MB wheel)",
            100 * cost_ms / install_ms,
            note=(
                "gross, median (import + check) / median install: the install "
                "then writes the members the check inflated instead of inflating "
                "them, so what the check costs is the A/B below (targets 2 % / 5 %)"
            ),
            unit="%",
        ),
        Ratio(
            "install with check / with --skip-wheel-abi-check",
            paired_ratio(walls(on), walls(off)),
            TARGETS["check_ab"],
            "A/B of the whole install (bytecode compiled, pip's default)",
        ),
        Ratio(
            "install with check / with --skip-wheel-abi-check, --no-compile",
            paired_ratio(walls(on_nc), walls(off_nc)),
            TARGETS["check_ab_nocompile"],
        ),
        Ratio(
            "zlib alone inflating the same members / install with the check",
            100 * Stats.of(floor_ms).median / (Stats.of(walls(on)).median * 1e3),
            note="the floor of any reader that inflates the members (median)",
            unit="%",
        ),
        Ratio(
            "install CPU time with check / with --skip-wheel-abi-check",
            paired_ratio(cpus(on), cpus(off)),
            note=CPU_NOTE,
        ),
        Ratio(
            "install peak RSS with check / with --skip-wheel-abi-check",
            paired_ratio([x.maxrss_kb for x in on], [x.maxrss_kb for x in off]),
            TARGETS["check_rss"],
        ),
        Ratio(
            f"reader throughput on {largest.name}",
            mb / (Stats.of([float(x.extra["check_ms"]) for x in s]).median / 1e3),
            note="MB of wheel per second (median)",
            unit="MB/s",
        ),
        Ratio(
            f"zlib-only floor on {largest.name}",
            mb / (Stats.of(floor_ms).median / 1e3),
            note="MB of wheel per second inflating the same members, nothing else",
            unit="MB/s",
        ),
    ]
    if mb < 20:
        sec.notes.append(
            f"The largest wheel here is {mb:.1f} MB (< 20 MB): "
            + (
                "a `--quick` run uses a small wheel."
                if cfg.quick
                else "see BIG_WHEELS."
            )
        )
    sec.notes.append(
        f"check: {warmup} warm-up + {repeat} runs per wheel; installs: {iwarm} "
        f"warm-up + {ireps} runs of each, one loop per A/B pair; {ORDER_NOTE}."
    )
    return sec


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

CASE_TITLES = {
    1: "Cold tag computation",
    2: "pip install from a local index (musl CPython)",
    3: "Alpine image: `_linux_musl` wheels vs sdists",
    4: "Install-time ABI check on a large binary wheel",
    5: "Peak memory (case 2)",
    6: "Host detection: the fork's reads vs stock's loader spawn",
    7: "Whole commands",
}


def header(cfg: Config, env: Env, started: float, elapsed: float) -> str:
    uv_version = command_output([env.uv, "--version"]) if env.uv else "not available"
    pypiserver = command_output([sys.executable, "-m", "pypiserver", "--version"])
    lines = [
        "# Benchmarks: pip for musl vs stock pip",
        "",
        "Generated by `benchmarks/run.py` (`nox -s benchmarks`); do not edit by hand. "
        "See `benchmarks/README.md` for the method and how to read the tables.",
        "",
        md_table(
            ("", ""),
            [
                [
                    "Date",
                    datetime.datetime.fromtimestamp(started, datetime.UTC).strftime(
                        "%Y-%m-%d %H:%M UTC"
                    ),
                ],
                ["CPU", f"{cpu_model()} ({os.cpu_count()} logical CPUs)"],
                ["Memory", mem_total()],
                ["Kernel", f"{platform.system()} {platform.release()}"],
                [
                    "glibc CPython",
                    "not measured here (--musl-only)"
                    if cfg.musl_only
                    else f"{command_output([cfg.host_python, '-VV'])} "
                    f"({cfg.host_python})",
                ],
                [
                    "musl CPython",
                    f"{command_output([cfg.musl_python, '-VV'])} ({cfg.musl_python})",
                ],
                ["musl host (fork's detection)", describe_musl_host(env)],
                ["Fork", f"pip {pip_version(env.musl_fork)} ({cfg.fork_wheel.name})"],
                ["Stock", f"pip {pip_version(env.musl_stock)} (from PyPI)"],
                ["uv", uv_version],
                [
                    "Index",
                    f"pypiserver {pypiserver.split()[-1] if pypiserver else '?'} on 127.0.0.1",
                ],
                [
                    "Mode",
                    (
                        "--quick (smoke run; numbers are not meaningful)"
                        if cfg.quick
                        else "full"
                    )
                    + (f", --repeat {cfg.repeat}" if cfg.repeat is not None else ""),
                ],
                ["Run time", f"{elapsed / 60:.1f} min (excluding nothing)"],
                [
                    "Page cache",
                    "dropped before each install run, then its wheels read back "
                    "(untimed; benchmarks/benchlib.py: drop_page_cache)"
                    if page_cache_droppable()
                    else "kept between install runs (not root: cannot drop it)",
                ],
                [
                    "Load average (1 min)",
                    f"{cfg.load_before:.2f} at the start, {os.getloadavg()[0]:.2f} "
                    "at the end (other work on the machine inflates wall times)",
                ],
            ],
        ),
        "",
    ]
    return "\n".join(lines)


def render(cfg: Config, env: Env, sections: dict[int, Section], started: float) -> str:
    elapsed = time.time() - started
    parts = [header(cfg, env, started, elapsed)]
    all_ratios = [
        Ratio(f"{n}. {r.name}", r.value, r.target, r.note, r.unit)
        for n, s in sorted(sections.items())
        for r in s.ratios
    ]
    missed = [r for r in all_ratios if r.verdict == "MISSED"]
    within = [r for r in missed if r.target_inside_interval]
    parts += [
        "## Summary",
        "",
        "A ratio is the median of the per-round ratios (fork / stock unless named "
        "otherwise; the contenders of a round run back to back, so each round's "
        "ratio cancels what the machine was doing then); a ratio below 1 means the "
        "fork is faster or smaller. The 95 % interval is where the true median "
        "of the per-round ratios lies with at least 95 % confidence, whatever "
        "their distribution (the k-th smallest and k-th largest of them, k from "
        "the binomial distribution; none with fewer than 6 rounds): a verdict "
        "whose interval holds the target is within what this machine can "
        "tell apart. The sections give each contender's own min / median / max. "
        + (
            f"**{len(missed)} target(s) MISSED** by the median"
            + (
                f", {len(within)} of them with the target inside the interval."
                if within
                else "."
            )
            if missed
            else "All targets met."
        ),
        "",
        md_table(RATIO_HEADER, ratio_rows(all_ratios)),
        "",
    ]
    for n in sorted(sections):
        parts.append(render_section(n, sections[n]))
    return "\n".join(parts).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fork-wheel", type=Path, required=True)
    ap.add_argument("--musl-python", type=Path, required=True)
    ap.add_argument(
        "--host-python",
        type=Path,
        default=Path(getattr(sys, "_base_executable", sys.executable)),
        help="the glibc CPython (default: the base interpreter of this one)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument(
        "--repeat", type=int, help="measured runs per contender (all cases)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    ap.add_argument(
        "--cases",
        default="1,2,3,4,5,6,7",
        help="comma-separated case numbers to run (5 needs 2)",
    )
    ap.add_argument(
        "--musl-only",
        action="store_true",
        help="measure the musl CPython only (for a second musl host)",
    )
    ap.add_argument("--work-dir", type=Path, help="scratch dir (default: a temp dir)")
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args(argv)

    cases = frozenset(int(c) for c in args.cases.split(",") if c.strip())
    if not cases <= set(CASE_TITLES):
        ap.error(f"--cases: known cases are {sorted(CASE_TITLES)}")
    if args.repeat is not None and args.repeat < 1:
        ap.error("--repeat must be at least 1")
    for p in (args.fork_wheel, args.musl_python, args.host_python):
        if not p.exists():
            ap.error(f"{p} does not exist")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="pip-musl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cfg = Config(
        fork_wheel=args.fork_wheel.resolve(),
        musl_python=args.musl_python,
        host_python=args.host_python,
        work=work,
        quick=args.quick,
        repeat=args.repeat,
        cases=cases,
        musl_minor=musl_minor(args.musl_python),
        musl_only=args.musl_only,
    )
    started = time.time()
    cfg.load_before = os.getloadavg()[0]
    try:
        env = set_up(cfg)
        sections: dict[int, Section] = {}
        if 1 in cases:
            sections[1] = case_tags(cfg, env)
        if 2 in cases or 5 in cases:
            install, mem = case_install(cfg, env)
            if 2 in cases:
                sections[2] = install
            if 5 in cases:
                sections[5] = mem
        if 3 in cases:
            sections[3] = case_alpine(cfg, env)
        if 4 in cases:
            sections[4] = case_check(cfg, env)
        if 6 in cases:
            sections[6] = startup.case_detection(cfg, env)
        if 7 in cases:
            reqs = INSTALL_SET_QUICK if cfg.quick else INSTALL_SET
            sections[7] = startup.case_commands(
                cfg, env, reqs, wheelhouse(cfg, env, reqs)
            )
        for n, title in CASE_TITLES.items():
            if n not in sections:
                sections[n] = Section(title, "", skipped="not selected with --cases")
        text = render(cfg, env, sections, started)
    finally:
        if not args.keep_work and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        sys.exit(1)
