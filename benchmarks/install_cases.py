"""Cases 2, 3 and 5: pip install from a local index on the musl CPython (and its
peak memory), and the Alpine image (`_linux_musl` wheels against sdists)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_setup import (
    ALPINE_SET,
    ALPINE_SET_QUICK,
    BUILD_DEPS,
    CPU_NOTE,
    INSTALL_SET,
    INSTALL_SET_QUICK,
    TARGETS,
    Config,
    Env,
    cpus,
    installed_wheels,
    row,
    walls,
)
from benchlib import (
    Ratio,
    Sample,
    Section,
    Stats,
    drop_page_cache,
    fresh_copy,
    interleave,
    log,
    paired_ratio,
    rounds_note,
    run_child,
    serve_directory,
)
from inputs import alpine_inputs, wheelhouse
from range_floor import first_range_requests_ms

from tests.lib.venvs import (
    Venv,
    clean_env,
)

# --------------------------------------------------------------------------
# Case 2 (+5): pip install from a local index on the musl CPython
# --------------------------------------------------------------------------


def _fresh_install(
    template: Venv,
    where: Path,
    url: str,
    reqs: Sequence[str],
    *,
    seen: dict[str, dict[str, str]],
    name: str,
    page_cache_of: Path | None = None,
) -> Callable[[int], Sample]:
    """One timed round: ``pip install`` of ``reqs`` from ``url`` into a fresh
    copy of ``template`` (at ``where``-<round>, removed after), recording what
    it installed in ``seen[name]``; ``page_cache_of``: drop the page cache and
    read those wheels back first."""

    def run(rnd: int) -> Sample:
        if page_cache_of is not None:
            drop_page_cache(page_cache_of)
        target = fresh_copy(template.root, where.with_name(f"{where.name}-{rnd}"))
        s = run_child(
            [target / "bin" / "python", "-m", "pip", "install", "--no-cache-dir",
             "--index-url", url, *reqs]
        ).check(f"pip install ({name})")  # fmt: skip
        seen[name] = installed_wheels(target)
        shutil.rmtree(target)
        return s

    return run


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
        "Peak RSS (`ru_maxrss` from `wait4` on each child, forked by a small "
        "spawner so the runner's own peak does not floor it: the child's peak or "
        "that of its largest descendant) of the installs of case 2.",
    )
    # 21 rounds: 7-round medians of these 5-8 s installs moved by 4 %, and
    # 11-round ones had 95 % intervals of ±15 %.
    repeat, warmup = cfg.reps(21), cfg.warm(1)
    runs = cfg.work / "runs"
    runs.mkdir(exist_ok=True)
    seen: dict[str, dict[str, str]] = {}

    with serve_directory(house, cfg.work / "pypiserver-case2.log") as url:

        def pip_runner(name: str, template: Venv) -> Callable[[int], Sample]:
            return _fresh_install(
                template, runs / name, url, reqs, seen=seen, name=name,
                page_cache_of=house,
            )  # fmt: skip

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
        # Untimed by the rounds, against the same server: the install's floor.
        tail_ms = first_range_requests_ms(env.musl_fork.python, binary, url)

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
    stock_ms = Stats.of(walls(got["stock"])).median * 1e3
    sec.ratios += [
        Ratio(
            f"the first range request of each of the {len(binary)} binary wheels "
            "/ stock's install",
            100 * tail_ms / stock_ms,
            note=(
                "through pip's session, median of 5, server time included: the "
                "central directory, fetched before pip downloads the wheel whole "
                "(this index has no PEP 658 metadata), which refuses a large "
                "wheel that cannot load for a few per cent of its bytes; the "
                "members the check inflates are written by the install, not "
                "inflated twice"
            ),
            unit="%",
        ),
        Ratio(
            "install, floor of a fork that checks / stock",
            1 + tail_ms / stock_ms,
            note="1 + the share above",
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
            return _fresh_install(
                template, runs / f"alpine-{name}", url, reqs, seen=seen, name=name
            )

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
