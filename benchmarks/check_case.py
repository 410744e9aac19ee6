"""Case 4: the install-time ABI check on a large binary wheel."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import startup
from bench_setup import (
    CPU_NOTE,
    INSTALL_SET_QUICK,
    TARGETS,
    Config,
    Env,
    cpus,
    row,
    walls,
)
from benchlib import (
    ORDER_NOTE,
    BenchError,
    Ratio,
    Sample,
    Section,
    Stats,
    drop_page_cache,
    fresh_copy,
    interleave,
    last_json_line,
    log,
    paired_ratio,
    run_child,
)
from inputs import big_wheels, wheelhouse

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
