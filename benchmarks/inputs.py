"""The cached inputs of the cases: wheelhouses, the large wheels of case 4 and
the sdists and `_linux_musl` builds of the Alpine case (under cache_root())."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from bench_setup import BIG_WHEELS, BUILD_DEPS, MUSL_PLATFORMS, Config, Env
from benchlib import (
    BenchError,
    building,
    cache_root,
    key_of,
    log,
    pip_download,
    run_child,
    serve_directory,
)

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
