"""Pin the RECORD of the official upstream pip wheel the build is made from.

The build hook (hatch_build.py) checks every upstream file it copies against the
sha256 digests in ``tools/upstream-pip-<version>.RECORD``: the RECORD of the
official ``pip-<version>-py3-none-any.whl``, byte for byte. Run this when the pin
moves (after bumping ``UPSTREAM_VERSION`` and the ``pip==`` build requirement):

    python tools/pin-upstream-record.py 26.3             # download from the index
    python tools/pin-upstream-record.py 26.3 --wheel pip-26.3-py3-none-any.whl

It downloads the wheel with ``python -m pip download`` (the configured index),
checks that every file in the wheel matches its RECORD line (so the pinned RECORD
describes the wheel it came from), writes the RECORD and removes the pin files of
other versions. It prints the wheel's sha256: compare it with the one PyPI lists
under "Download files" for that release before committing the new pin.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


def record_digest(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def download(version: str, dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(dest),
            f"pip=={version}",
        ],
        check=True,
    )
    return dest / f"pip-{version}-py3-none-any.whl"


def checked_record(wheel: Path, version: str) -> bytes:
    """The wheel's RECORD, after checking each member against it."""
    name = f"pip-{version}.dist-info/RECORD"
    with zipfile.ZipFile(wheel) as zf:
        record = zf.read(name)
        rows = list(csv.reader(record.decode("utf-8").splitlines()))
        listed = {row[0] for row in rows}
        members = {n for n in zf.namelist() if not n.endswith("/")}
        if members != listed:
            odd = sorted(members ^ listed)
            raise SystemExit(f"{wheel.name}: RECORD and members differ: {odd[:5]}")
        for path, digest, _size in rows:
            if path == name:
                continue
            if record_digest(zf.read(path)) != digest:
                raise SystemExit(f"{wheel.name}: {path} does not match its RECORD")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="upstream pip version, e.g. 26.3")
    parser.add_argument("--wheel", type=Path, help="use this wheel, do not download")
    parser.add_argument("--output-dir", type=Path, default=TOOLS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download(args.version, Path(tmp))
        record = checked_record(wheel, args.version)
        wheel_digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    target = args.output_dir / f"upstream-pip-{args.version}.RECORD"
    target.write_bytes(record)
    for old in args.output_dir.glob("upstream-pip-*.RECORD"):
        if old != target:
            old.unlink()
    print(f"wrote {target} ({len(record.splitlines())} entries)")
    print(f"sha256 of {wheel.name}: {wheel_digest}")
    print("compare it with the sha256 PyPI shows for this file before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
