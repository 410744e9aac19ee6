"""Release artifacts of the musl build of pip, reproducibly, from a commit.

    python tools/dist.py [--ref HEAD] [--out dist]   # what `nox -s dist` runs
    python tools/dist.py --zipapp-from WHEEL --out DIR

From the commit (``git archive``, i.e. a clean checkout: uncommitted changes are
not in the artifacts) it builds, with ``SOURCE_DATE_EPOCH`` set to the commit's
time and the build backend pinned by ``tools/dist-constraints.txt``:

1. the sdist, ``pip-<version>.tar.gz``;
2. the wheel from the sdist, ``pip-<version>-py3-none-any.whl``, and the wheel from
   the checkout, which must be the same bytes (else the build fails, naming the
   members that differ);
3. the zipapp ``pip-<version>.pyz`` from that wheel: ``__main__.py``, the ``pip``
   package and the license files, sorted, with the wheel's fixed timestamps and
   fixed permissions, behind a ``#!/usr/bin/env python3`` line;
4. ``SHA256SUMS`` for the three (``sha256sum -c SHA256SUMS`` checks them).

Needs ``git`` and the ``build`` package in the running interpreter; the isolated
build environments come from the configured package index.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
CONSTRAINTS = TOOLS / "dist-constraints.txt"
ZIPAPP_MAIN = TOOLS / "zipapp_main.py"
SHEBANG = b"#!/usr/bin/env python3\n"
# Regular file, rw-r--r--, in the upper half of external_attr (Unix mode bits).
FILE_ATTR = (0o100644) << 16
UNIX = 3


class DistError(Exception):
    """One line saying what went wrong."""


def git(*args: str, cwd: Path = ROOT) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise DistError(f"git {' '.join(args)}: {proc.stderr.decode().strip()}")
    return proc.stdout


def export_commit(ref: str, dest: Path) -> tuple[str, int]:
    """Unpack the tree of ``ref`` into ``dest``; return (commit, commit time)."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    epoch = int(git("log", "-1", "--format=%ct", commit).decode().strip())
    archive = git("archive", "--format=tar", commit)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        _extract(tar, dest)
    return commit, epoch


def _extract(tar: tarfile.TarFile, dest: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
    else:  # Python < 3.11.4: the archives here are our own
        tar.extractall(dest)


def build_env(epoch: int, constraints: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    env["PIP_CONSTRAINT"] = str(constraints)
    return env


def run_build(what: str, source: Path, out: Path, env: dict[str, str]) -> Path:
    """``python -m build --<what>`` of ``source`` into the empty dir ``out``."""
    out.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", "build", f"--{what}", "--outdir", str(out), str(source)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    built = sorted(out.iterdir())
    if proc.returncode != 0 or len(built) != 1:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise DistError(f"building the {what} of {source} failed:\n" + "\n".join(tail))
    return built[0]


def differing_members(a: Path, b: Path) -> list[str]:
    """Members whose data, time or mode differ (or ``[]`` if the bytes are equal)."""
    if a.read_bytes() == b.read_bytes():
        return []
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        infos_a = {i.filename: i for i in za.infolist()}
        infos_b = {i.filename: i for i in zb.infolist()}
        differ = [
            name
            for name in sorted(infos_a.keys() | infos_b.keys())
            if name not in infos_a
            or name not in infos_b
            or za.read(name) != zb.read(name)
            or infos_a[name].date_time != infos_b[name].date_time
            or infos_a[name].external_attr != infos_b[name].external_attr
        ]
    return differ or ["(member order or zip headers)"]


def zipapp_members(
    wheel: Path, main_py: bytes
) -> list[tuple[str, bytes, tuple[int, ...]]]:
    """(name in the zipapp, data, timestamp), sorted by name."""
    members = []
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        stamp = min(info.date_time for info in infos)
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            if name.startswith("pip/"):
                members.append((name, zf.read(info), info.date_time))
            elif ".dist-info/licenses/" in name:
                # Not as .dist-info: a zip on sys.path with one would make
                # `pip list` report pip as installed from the zipapp.
                target = "licenses/" + name.split(".dist-info/licenses/", 1)[1]
                members.append((target, zf.read(info), info.date_time))
    members.append(("__main__.py", main_py, stamp))
    return sorted(members)


def wheel_version(wheel: Path) -> str:
    """The version in the wheel's ``pip-<version>.dist-info`` directory."""
    with zipfile.ZipFile(wheel) as zf:
        found = {n.split("/", 1)[0] for n in zf.namelist() if ".dist-info/" in n}
    if len(found) != 1 or not next(iter(found)).startswith("pip-"):
        raise DistError(f"{wheel.name} is not a wheel of pip (its .dist-info: {found})")
    return next(iter(found))[len("pip-") : -len(".dist-info")]


def make_zipapp(wheel: Path, out_dir: Path, main_py: Path = ZIPAPP_MAIN) -> Path:
    """``pip-<version>.pyz`` from the wheel and ``main_py`` (its ``__main__.py``):
    the same bytes for the same inputs."""
    version = wheel_version(wheel)
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data, stamp in zipapp_members(wheel, main_py.read_bytes()):
            info = zipfile.ZipInfo(name, date_time=stamp[:6])  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = UNIX
            info.external_attr = FILE_ATTR
            zf.writestr(info, data, compresslevel=9)
    target = out_dir / f"pip-{version}.pyz"
    target.write_bytes(buffer.getvalue())
    target.chmod(0o755)
    return target


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sums(out: Path, artifacts: list[Path]) -> Path:
    sums = out / "SHA256SUMS"
    lines = [f"{sha256_of(p)}  {p.name}\n" for p in sorted(artifacts)]
    sums.write_text("".join(lines), encoding="ascii")
    return sums


def build_all(ref: str, out: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="pip-musl-dist-") as tmp_name:
        tmp = Path(tmp_name)
        checkout = tmp / "checkout"
        commit, epoch = export_commit(ref, checkout)
        # The commit's own build inputs, not the working tree's.
        tools = checkout / TOOLS.relative_to(ROOT)
        env = build_env(epoch, tools / CONSTRAINTS.name)
        print(f"dist: commit {commit}, SOURCE_DATE_EPOCH={epoch}")
        sdist = run_build("sdist", checkout, tmp / "sdist", env)
        from_checkout = run_build("wheel", checkout, tmp / "wheel-checkout", env)
        unpacked = tmp / "unpacked"
        with tarfile.open(sdist) as tar:
            _extract(tar, unpacked)
        (sdist_root,) = unpacked.iterdir()
        wheel = run_build("wheel", sdist_root, tmp / "wheel-sdist", env)
        differ = differing_members(wheel, from_checkout)
        if differ:
            raise DistError(
                "the wheel built from the sdist differs from the wheel built from "
                f"the checkout: {', '.join(differ[:5])}"
            )
        out.mkdir(parents=True, exist_ok=True)
        artifacts = []
        for built in (sdist, wheel):
            target = out / built.name
            shutil.copyfile(built, target)
            artifacts.append(target)
        artifacts.append(make_zipapp(wheel, out, tools / ZIPAPP_MAIN.name))
    dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    if dirty and ref == "HEAD":
        print(
            "dist: note: uncommitted changes are not in the artifacts", file=sys.stderr
        )
    return artifacts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="commit to build (HEAD)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--zipapp-from", type=Path, metavar="WHEEL", help="only make the zipapp"
    )
    args = parser.parse_args(argv)
    try:
        if args.zipapp_from is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            print(make_zipapp(args.zipapp_from, args.out))
            return 0
        artifacts = build_all(args.ref, args.out)
    except DistError as exc:
        print(f"dist: error: {exc}", file=sys.stderr)
        return 1
    sums = write_sums(args.out, artifacts)
    print(sums.read_text(encoding="ascii"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
