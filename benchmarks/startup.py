"""Cases 6 and 7 of benchmarks/run.py: detection at its floor, and whole commands.

6. The fork's own host detection (importing its modules + ``host_libc()``, in a
   process that has imported ``compatibility_tags``) against what stock pip does
   instead on a musl host: spawning the musl loader to read its banner (the
   ``subprocess.run`` alone, and packaging's whole ``_get_musl_version``).
7. Whole commands on both hosts, fork vs stock: ``pip --version``, ``pip list``
   (in a venv holding case 2's ~30 distributions), ``pip install --dry-run`` of
   case 2's requirements from the local index, and (glibc; musl is case 2)
   ``pip install`` of them into a fresh venv.

Kept apart from run.py (already long); it takes run.py's helpers as arguments.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchlib import (
    ORDER_NOTE,
    Ratio,
    Row,
    Sample,
    Section,
    Stats,
    building,
    cache_root,
    drop_page_cache,
    fresh_copy,
    interleave,
    key_of,
    last_json_line,
    log,
    median_child_ms,
    paired_ratio,
    pip_download,
    rounds_note,
    run_child,
    serve_directory,
)
from range_floor import binary_wheels, first_range_requests_ms

from tests.lib.venvs import Venv

SKIP_OPTION = "--skip-wheel-abi-check"
#: The fork's contender with its check turned off.
SKIP = f"fork, {SKIP_OPTION}"

TARGETS = {"detect": 0.5, "commands": 1.02}

#: The fork: what ``get_supported()`` adds on top of upstream's work.
FORK_DETECT_CHILD = """\
import json, sys, time
import pip._internal.utils.compatibility_tags  # untimed: loads the patches
before = set(sys.modules)
t0 = time.perf_counter()
from pip._internal.libc.host import host_libc
host = host_libc()
t1 = time.perf_counter()
modules = [m for m in set(sys.modules) - before if m.startswith("pip._internal.libc.")]
# The floor of any import here: one module holding nothing (bytecode cached).
sys.path.insert(0, sys.argv[1])
t2 = time.perf_counter()
import bench_empty_module
t3 = time.perf_counter()
# The floor of the reads: the same bytes read with nothing parsed (the
# interpreter's first page, the loader's first page and the region the version
# is looked for in, through one reused 64 KiB buffer as the fork reads it), and
# one memchr-speed pass over that region.
import os
from pip._internal.libc import elf_ident, musl_version
regions = []
if host.family == "musl":
    with elf_ident.ElfReader(host.loader) as reader:
        regions = musl_version._regions(reader.ident(), reader.read)
t4 = time.perf_counter()
fd = os.open(sys.executable, os.O_RDONLY)
os.pread(fd, 4096, 0)
os.close(fd)
if regions:
    fd = os.open(host.loader, os.O_RDONLY)
    os.pread(fd, 4096, 0)
    buf = bytearray(64 * 1024)
    for offset, size in regions:
        for at in range(offset, offset + size, len(buf)):
            got = os.preadv(fd, [buf], at)
            buf.count(b".", 0, min(got, offset + size - at))
    os.close(fd)
t5 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1e3, "host": host.describe(),
                  "method": host.method, "empty_ms": (t3 - t2) * 1e3,
                  "reads_ms": (t5 - t4) * 1e3, "modules": len(modules)}))
"""

#: Stock on musl: the loader spawn packaging does (``subprocess.run([ld],
#: stderr=PIPE, text=True)``), with its own ELF read of the interpreter untimed.
STOCK_SPAWN_CHILD = """\
import json, subprocess, sys, time
import pip._internal.utils.compatibility_tags  # untimed, as for the fork
from pip._vendor.packaging._elffile import ELFFile
with open(sys.executable, "rb") as f:
    ld = ELFFile(f).interpreter
t0 = time.perf_counter()
proc = subprocess.run([ld], stderr=subprocess.PIPE, text=True)
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1e3, "banner": proc.stderr.splitlines()[:2]}))
"""

#: Stock on musl: packaging's whole detection (ELF read + spawn + parse).
STOCK_MUSL_VERSION_CHILD = """\
import json, sys, time
import pip._internal.utils.compatibility_tags  # untimed
from pip._vendor.packaging import _musllinux
t0 = time.perf_counter()
version = _musllinux._get_musl_version(sys.executable)
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1e3, "version": str(version)}))
"""


#: Case 7, the floor of the musl dry run: to tell whether the wheels it picks
#: load, the check must inflate their ELF members; this is zlib doing only that,
#: on one thread, for every wheel the index serves.
ELF_INFLATE_CHILD = """\
import json, sys, time, zipfile
from pip._internal.libc.member_names import is_loadable_name
t0 = time.perf_counter()
n = 0
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.is_dir() and is_loadable_name(info.filename):
                with zf.open(info) as f:
                    while chunk := f.read(1 << 20):
                        n += len(chunk)
print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3, "bytes": n}))
"""

#: Case 7, untimed: the garbage collector's share of a musl dry run. The
#: fork's check imports some twenty modules whose functions and classes live
#: to the end; those allocations can tip the run over one more full
#: (generation 2) collection than stock makes, which then walks pip's whole
#: heap. argv: pip's arguments.
GC_CHILD = """\
import gc, json, sys, time
stats = {"ms": 0.0, "collections": [0, 0, 0]}
began = [0.0]
def watch(phase, info):
    if phase == "start":
        began[0] = time.perf_counter()
    else:
        stats["ms"] += (time.perf_counter() - began[0]) * 1e3
        stats["collections"][info["generation"]] += 1
gc.callbacks.append(watch)
from pip._internal.cli.main import main
code = main(sys.argv[1:])
gc.callbacks.remove(watch)
print(json.dumps(stats))
sys.exit(code)
"""


def _row(
    measure: str, who: str, values: Sequence[float], unit: str, note: str = ""
) -> Row:
    return Row(measure, who, Stats.of(values), unit, note)


def _ms(samples: Sequence[Sample]) -> list[float]:
    return [float(s.extra["ms"]) for s in samples]


def _child(python: Path, code: str, *args: Path) -> Callable[[int], Sample]:
    def run(_rnd: int) -> Sample:
        s = run_child([python, "-c", code, *args]).check("detection child")
        s.extra = last_json_line(s.stdout)
        return s

    return run


def case_detection(cfg: Any, env: Any) -> Section:
    sec = Section(
        "Host detection: the fork's reads vs stock's loader spawn",
        "In a fresh process that has imported `compatibility_tags` (untimed): the "
        "fork's own detection — importing `pip._internal.libc.host` (and what it "
        "imports) plus the first `host_libc()` — against stock pip 26.3 on the "
        "same musl CPython: the `subprocess.run([loader], stderr=PIPE, text=True)` "
        "packaging runs to read the musl version (its ELF read of the interpreter "
        "untimed), and packaging's whole `_get_musl_version(sys.executable)`. On "
        "the glibc CPython the fork's detection is recorded for context (stock "
        "does no detection of its own beyond glibc's version there).",
    )
    repeat, warmup = cfg.reps(30), cfg.warm(3)
    empty = cfg.work / "empty-module"
    empty.mkdir(exist_ok=True)
    (empty / "bench_empty_module.py").write_text("")
    forks = {"fork": env.musl_fork.python}
    if "glibc" in cfg.hosts():
        forks["fork on glibc"] = env.host_fork.python
    for python in forks.values():
        run_child([python, "-m", "compileall", "-q", empty]).check("compileall")
    log(f"case 6: detection vs loader spawn ({warmup}+{repeat} runs each)")
    contenders = {
        "fork: import + host_libc()": _child(
            env.musl_fork.python, FORK_DETECT_CHILD, empty
        ),
        "stock: loader spawn": _child(env.musl_stock.python, STOCK_SPAWN_CHILD),
        "stock: _get_musl_version()": _child(
            env.musl_stock.python, STOCK_MUSL_VERSION_CHILD
        ),
    }
    if "fork on glibc" in forks:
        contenders["fork on glibc: import + host_libc()"] = _child(
            forks["fork on glibc"], FORK_DETECT_CHILD, empty
        )
    got = interleave(
        contenders,
        repeat=repeat,
        warmup=warmup,
        label="detection",
    )
    notes = {
        "fork: import + host_libc()": got["fork: import + host_libc()"][0].extra[
            "method"
        ],
    }
    if "fork on glibc" in forks:
        notes["fork on glibc: import + host_libc()"] = got[
            "fork on glibc: import + host_libc()"
        ][0].extra["host"]
    for name, samples in got.items():
        sec.rows.append(
            _row(
                name.split(":")[1].strip(),
                name.split(":")[0],
                _ms(samples),
                "ms",
                notes.get(name, ""),
            )
        )
    for who in forks:
        samples = got[f"{who}: import + host_libc()"]
        sec.rows.append(
            _row(
                "import of an empty module (the floor of one import)",
                who,
                [float(x.extra["empty_ms"]) for x in samples],
                "ms",
                f"detection imported {int(samples[0].extra['modules'])} fork modules",
            )
        )
    reads = [float(x.extra["reads_ms"]) for x in got["fork: import + host_libc()"]]
    sec.rows.append(
        _row(
            "the same bytes read, nothing parsed (the floor of the reads)",
            "fork",
            reads,
            "ms",
            "interpreter and loader headers, the loader's region, one count(b'.')",
        )
    )
    fork, spawn = (
        _ms(got["fork: import + host_libc()"]),
        _ms(got["stock: loader spawn"]),
    )
    sec.ratios += [
        Ratio(
            "musl: fork's detection / stock's loader spawn",
            paired_ratio(fork, spawn),
            TARGETS["detect"],
        ),
        Ratio(
            "musl: fork's detection / stock's _get_musl_version()",
            paired_ratio(fork, _ms(got["stock: _get_musl_version()"])),
            note="stock's whole musl detection, spawn included",
        ),
    ]
    empty_ms = Stats.of(
        [float(x.extra["empty_ms"]) for x in got["fork: import + host_libc()"]]
    ).median
    spawn_ms = Stats.of(spawn).median
    reads_ms = Stats.of(reads).median
    sec.notes.append(
        f"The floor: importing one empty module costs {empty_ms:.2f} ms on the musl "
        f"CPython, {empty_ms / spawn_ms:.2f}x stock's spawn ({spawn_ms:.2f} ms); "
        "the fork's detection imports three modules of its own (host, elf_ident, "
        "musl_version) that stock does not import at this point, and three empty "
        f"modules alone would cost {3 * empty_ms / spawn_ms:.2f}x the spawn. "
        f"Reading the same bytes with nothing parsed costs {reads_ms:.2f} ms "
        f"({reads_ms / spawn_ms:.2f}x): even one module doing only that would "
        f"cost {(empty_ms + reads_ms) / spawn_ms:.2f}x. What is left is Python "
        "work: the ELF headers parsed, the version rule applied at each `.` of "
        "the loader's `.rodata` (about 200 KB)."
    )
    sec.notes.append(rounds_note(warmup, repeat))
    return sec


def glibc_wheelhouse(env: Any, reqs: Sequence[str]) -> Path:
    """The host's own (manylinux) cp311 wheels of ``reqs`` and dependencies."""
    final = cache_root() / f"wheelhouse-{key_of('host-glibc-cp311', sorted(reqs))}"
    if not final.exists():
        log(f"downloading the host's wheels for {len(reqs)} requirements (once)")
        with building(final) as tmp:
            pip_download(env.host_stock.python, tmp, ["--only-binary=:all:", *reqs])
    return final


def case_commands(cfg: Any, env: Any, reqs: Sequence[str], musl_house: Path) -> Section:
    sec = Section(
        "Whole commands",
        "Fork vs stock pip 26.3 in sibling venvs of the same interpreter, whole "
        "process wall time: `python -m pip --version`; `python -m pip list` in a "
        f"venv holding the {len(reqs)} requirements of case 2 and their "
        "dependencies (installed once, untimed); `python -m pip install --dry-run "
        "--no-cache-dir --index-url <local> <requirements>` (on the musl CPython "
        f"a third contender, the fork with `{SKIP_OPTION}`, shows what the fork "
        "adds besides its check); and on the glibc "
        "CPython `python -m pip install --no-cache-dir --index-url <local> "
        "<requirements>` into a fresh venv (the musl CPython's is case 2). The "
        "local index serves the musllinux wheels of case 2 to the musl CPython "
        "and the host's manylinux wheels of the same requirements to the glibc one.",
    )
    runs = cfg.work / "runs-commands"
    runs.mkdir(exist_ok=True)
    hosts = [("musl", env.musl_fork, env.musl_stock, musl_house)]
    if "glibc" in cfg.hosts():
        glibc_house = glibc_wheelhouse(env, reqs)
        hosts.insert(0, ("glibc", env.host_fork, env.host_stock, glibc_house))
    for host, fork, stock, house in hosts:
        with serve_directory(
            house, cfg.work / f"pypiserver-commands-{host}.log"
        ) as url:
            install = ["install", "--no-cache-dir", "--index-url", url, *reqs]
            full: dict[str, Venv] = {}
            for name, venv in (("fork", fork), ("stock", stock)):
                target = Venv(fresh_copy(venv.root, runs / f"{host}-{name}-full"))
                run_child([target.python, "-m", "pip", *install]).check(
                    f"pip install ({host}, {name}, set-up)"
                )
                full[name] = target

            def pip(venv: Venv, *args: str) -> Callable[[int], Sample]:
                def run(_rnd: int, args: tuple[str, ...] = args) -> Sample:
                    return run_child([venv.python, "-m", "pip", *args]).check(
                        f"pip {args[0]}"
                    )

                return run

            def fresh_install(
                venv: Venv,
                name: str,
                host: str = host,
                install: list[str] = install,
                house: Path = house,
            ) -> Callable[[int], Sample]:
                def run(rnd: int) -> Sample:
                    drop_page_cache(house)
                    target = fresh_copy(venv.root, runs / f"{host}-{name}-{rnd}")
                    s = run_child([target / "bin" / "python", "-m", "pip", *install])
                    shutil.rmtree(target)
                    return s.check(f"pip install ({host}, {name})")

                return run

            commands: list[
                tuple[str, int, int, Callable[[Venv, str], Callable[[int], Sample]]]
            ] = [
                ("pip --version", 40, 2, lambda v, n: pip(v, "--version")),
                ("pip list", 40, 2, lambda v, n, full=full: pip(full[n], "list")),
                (
                    "pip install --dry-run",
                    # 1.3 s runs: cheap, and 10 rounds gave intervals of ±10 %.
                    21,
                    1,
                    lambda v, n, install=install: pip(
                        v, "install", "--dry-run", *install[1:]
                    ),
                ),
            ]
            if host == "glibc":
                # 6 s installs: 9 rounds gave an interval of ±10 %.
                commands.append(("pip install", 15, 1, fresh_install))
            for title, reps, warm, make in commands:
                repeat, warmup = cfg.reps(reps), cfg.warm(warm)
                log(
                    f"case 7: {title} on the {host} CPython ({warmup}+{repeat} runs each)"
                )
                contenders = {"fork": make(fork, "fork"), "stock": make(stock, "stock")}
                musl_dry_run = host == "musl" and title == "pip install --dry-run"
                if musl_dry_run:
                    # The fork without its check: what the fork adds above
                    # this is the check's (its floor: _dry_run_floor).
                    contenders[SKIP] = pip(
                        fork, "install", "--dry-run", SKIP_OPTION, *install[1:]
                    )
                got = interleave(
                    contenders,
                    repeat=repeat,
                    warmup=warmup,
                    label=f"{host} {title}",
                )
                unit = "s" if title == "pip install" else "ms"
                scale = 1.0 if unit == "s" else 1e3
                for name in got:
                    sec.rows.append(
                        _row(
                            f"{host}: {title}",
                            name,
                            [s.wall * scale for s in got[name]],
                            unit,
                        )
                    )
                sec.ratios.append(
                    Ratio(
                        f"{host}: {title} fork/stock",
                        paired_ratio(
                            [s.wall for s in got["fork"]],
                            [s.wall for s in got["stock"]],
                        ),
                        TARGETS["commands"],
                        note=(
                            "compare the floor of a fork that checks, below"
                            if musl_dry_run
                            else ""
                        ),
                    )
                )
                sec.ratios.append(
                    Ratio(
                        f"{host}: {title} CPU time fork/stock",
                        paired_ratio(
                            [s.cpu for s in got["fork"]], [s.cpu for s in got["stock"]]
                        ),
                        note="CPU time (user + sys)",
                    )
                )
                if musl_dry_run:
                    sec.ratios.append(
                        Ratio(
                            f"{host}: {title} {SKIP} / stock",
                            paired_ratio(
                                [s.wall for s in got[SKIP]],
                                [s.wall for s in got["stock"]],
                            ),
                            note="the fork without its check: everything the fork "
                            "adds above this is the check's",
                        )
                    )
                    sec.ratios.extend(_dry_run_floor(fork, house, url, got["stock"]))
                    dry_run = ["install", "--dry-run", *install[1:]]
                    gc_rows, gc_share = _dry_run_gc(
                        {
                            "fork": (fork, dry_run),
                            SKIP: (fork, [*dry_run, SKIP_OPTION]),
                            "stock": (stock, dry_run),
                        },
                        got["stock"],
                    )
                    sec.rows.extend(gc_rows)
                    sec.ratios.append(gc_share)
            for target in full.values():
                shutil.rmtree(target.root)
    sec.notes.append(
        "Warm-up rounds discarded (2 for --version and list, 1 for the installs); "
        f"{ORDER_NOTE}."
    )
    return sec


def _dry_run_gc(
    contenders: dict[str, tuple[Venv, list[str]]], stock: Sequence[Sample]
) -> tuple[list[Row], Ratio]:
    """Time in the garbage collector during untimed dry runs (3 each): a row
    per contender, and the fork's excess over stock as a share of stock's
    timed dry run."""
    rows = []
    median_ms: dict[str, float] = {}
    full_runs: dict[str, int] = {}
    for name, (venv, args) in contenders.items():
        runs = [
            last_json_line(
                run_child([venv.python, "-c", GC_CHILD, *args])
                .check(f"gc of a dry run ({name})")
                .stdout
            )
            for _ in range(3)
        ]
        runs.sort(key=lambda r: float(r["ms"]))
        middle = runs[len(runs) // 2]
        median_ms[name] = float(middle["ms"])
        young, middle_gen, full = middle["collections"]
        full_runs[name] = int(full)
        rows.append(
            _row(
                "musl: pip install --dry-run, time in the garbage collector "
                "(untimed runs)",
                name,
                [float(r["ms"]) for r in runs],
                "ms",
                note=f"collections of generation 0 / 1 / 2: {young} / {middle_gen} / "
                f"{full} (the median run)",
            )
        )
    stock_ms = Stats.of([s.wall for s in stock]).median * 1e3
    share = Ratio(
        "musl: the fork's extra time in the garbage collector / stock's dry run",
        100 * (median_ms["fork"] - median_ms["stock"]) / stock_ms,
        note=(
            f"medians of 3 untimed runs; full collections: fork "
            f"{full_runs['fork']}, stock {full_runs['stock']} (a full collection "
            "walks pip's whole heap; what the check imports stays alive and "
            "counts towards the next one)"
        ),
        unit="%",
    )
    return rows, share


def _dry_run_floor(
    fork: Venv, house: Path, url: str, stock: Sequence[Sample]
) -> list[Ratio]:
    """What the check of a musl dry run cannot do without, as shares of
    stock's dry run: inflating the binaries, and the first range request of
    each (kept: it refuses a large wheel that cannot load for a few per cent
    of its bytes, where pip would download all of them)."""
    wheels = binary_wheels(house)

    zlib_ms = median_child_ms(
        [fork.python, "-c", ELF_INFLATE_CHILD, *(str(w) for w in wheels)],
        "inflating the ELF members",
    )
    tail_ms = first_range_requests_ms(fork.python, wheels, url)
    stock_ms = Stats.of([s.wall for s in stock]).median * 1e3
    n = len(wheels)
    return [
        Ratio(
            f"musl: zlib alone inflating the ELF members of the {n} binary "
            "wheels / stock's dry run",
            100 * zlib_ms / stock_ms,
            note=(
                "stock reads only their metadata; the fork must inflate their "
                "binaries (one thread here, median of 5; with the verdict cache, "
                "a second run reads nothing)"
            ),
            unit="%",
        ),
        Ratio(
            f"musl: the first range request of each of the {n} binary wheels / "
            "stock's dry run",
            100 * tail_ms / stock_ms,
            note=(
                "through pip's session, median of 5: its central directory, which "
                "refuses a large wheel that cannot load for a few per cent of its "
                "bytes on an index without PEP 658 metadata"
            ),
            unit="%",
        ),
        Ratio(
            "musl: pip install --dry-run, floor of a fork that checks / stock",
            1 + (zlib_ms + tail_ms) / stock_ms,
            note=(
                "1 + the two shares above: no dry run that judges each file "
                "before the resolver goes on can be faster"
            ),
        ),
    ]
