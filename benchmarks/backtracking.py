"""Backtracking to a loadable release, against PyPI, on the musl 1.2.3 host.

``pip install --only-binary=:all: <project>`` on musl 1.2.3: the fork walks back
past every release whose ``musllinux_1_2`` wheel cannot load there, judging each
from HTTP range requests; stock pip 26.3 installs the newest wheel (which then
crashes on import). Measured, interleaved, in one run: the wall time of each, and
for the fork the bytes fetched per refused candidate against the wheel's size
(goal: at most 5 %). Writes ``benchmarks/RESULTS-backtracking.md``.

    python benchmarks/backtracking.py --fork-wheel W --musl-python P [--repeat N]

``P`` must run on musl 1.2.3 (Debian bookworm's loader). Needs PyPI.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECTS = ("numpy", "cryptography", "pillow")
CHECKED = re.compile(r"Checked (\S+) over HTTP range requests: (\d+) of (\d+) bytes")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _venv(root: Path, python: str, wheel: str) -> Path:
    subprocess.run([python, "-m", "venv", "--without-pip", str(root)], check=True)
    py = root / "bin" / "python"
    subprocess.run(
        [str(py), f"{wheel}/pip", "install", "--quiet", "--no-index", wheel],
        check=True,
        env=_env(),
    )
    return py


def _stock_wheel(work: Path) -> str:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "pip==26.3",
            "-d",
            str(work),
        ],
        check=True,
        env=_env(),
    )
    return str(next(work.glob("pip-26.3-*.whl")))


def _install(py: Path, project: str, work: Path) -> tuple[float, str, str]:
    target = Path(tempfile.mkdtemp(dir=work))
    cache = Path(tempfile.mkdtemp(dir=work))  # cold: nothing cached
    start = time.perf_counter()
    proc = subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-v",
            "--cache-dir",
            str(cache),
            "--only-binary=:all:",
            "--no-deps",
            "--target",
            str(target),
            project,
        ],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    took = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(
            f"{py} install {project} failed:\n{proc.stdout[-3000:]}"
            f"{proc.stderr[-3000:]}"
        )
    installed = re.search(r"Successfully installed (\S+)", proc.stdout)
    return took, installed[1] if installed else "?", proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fork-wheel", required=True)
    parser.add_argument("--musl-python", required=True)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "RESULTS-backtracking.md"))
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-backtrack-") as tmp:
        work = Path(tmp)
        fork = _venv(work / "fork", args.musl_python, args.fork_wheel)
        stock = _venv(work / "stock", args.musl_python, _stock_wheel(work))
        rows = []
        for project in PROJECTS:
            times: dict[str, list[float]] = {"fork": [], "stock": []}
            picked: dict[str, str] = {}
            fractions: list[float] = []
            refused = 0
            for _ in range(args.repeat):
                for name, py in (("fork", fork), ("stock", stock)):
                    took, what, out = _install(py, project, work)
                    times[name].append(took)
                    picked[name] = what
                    if name == "fork":
                        found = CHECKED.findall(out)
                        refused = len(found)
                        fractions = [int(f) / int(t) for _, f, t in found]
            fork_s = statistics.median(times["fork"])
            stock_s = statistics.median(times["stock"])
            rows.append(
                f"| {project} | {picked['fork']} | {picked['stock']} | {refused} | "
                f"{statistics.median(fractions) * 100 if fractions else 0:.2f} % "
                f"(max {max(fractions, default=0) * 100:.2f} %) | "
                f"{fork_s:.1f} s | {stock_s:.1f} s | {fork_s / stock_s:.2f} |"
            )
    load_end = os.getloadavg()[0]
    report = "\n".join(
        [
            "# Backtracking to a loadable release (PyPI, musl 1.2.3, CPython 3.11)",
            "",
            "Generated by `benchmarks/backtracking.py`; do not edit by hand.",
            f"`pip install --only-binary=:all: --no-deps <project>`, cold cache, medians "
            f"of {args.repeat} interleaved runs; load average {load_start:.1f} at start, "
            f"{load_end:.1f} at end. Stock pip installs a wheel that crashes on import "
            "there; the fork installs the newest release whose wheel loads.",
            "",
            "| project | fork installs | stock installs | refused candidates | bytes "
            "fetched per refused candidate (median of wheel size) [≤ 5 %] | fork | "
            "stock | fork / stock |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
