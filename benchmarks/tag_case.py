"""Case 1: cold tag computation, fork vs stock, on both CPythons."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench_setup import CPU_NOTE, TARGETS, Config, Env, cpus, row, walls
from benchlib import (
    Ratio,
    Sample,
    Section,
    Stats,
    interleave,
    last_json_line,
    log,
    md_table,
    paired_ratio,
    rounds_note,
    run_child,
)

from tests.lib.venvs import (
    STOCK_PIP_VERSION,
    Venv,
)

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
