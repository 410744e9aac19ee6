"""Wheels built on a musl host carry the libc-qualified tag ``<arch>_linux_musl``.

A build backend tags a wheel it compiles on any Linux as ``linux_<arch>``, so a wheel
cache or wheelhouse shared between a musl and a glibc machine hands one libc's build
to the other. The musl build of pip renames such wheels (filename and the ``Tag:``
lines of ``WHEEL``, with its ``RECORD`` entry updated) to ``<arch>_linux_musl``,
which no glibc host accepts.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import zipfile

from pip._internal.libc.host import HostLibc
from pip._internal.libc.tags import linux_musl_platform


class RetagError(Exception):
    """The built wheel is not laid out as a wheel should be."""


def musl_platform_for(platform: str, host: HostLibc) -> str | None:
    """The platform a wheel built here should carry instead of ``platform``.

    Only the generic ``linux_<host arch>`` is rewritten; pure wheels (``any``) and
    anything else a backend chose deliberately stay as they are.
    """
    if host.family != "musl" or host.arch is None:
        return None
    if platform == f"linux_{host.arch}":
        return linux_musl_platform(host.arch)
    return None


def retagged_filename(filename: str, host: HostLibc) -> str | None:
    """``pkg-1.0-cp311-cp311-linux_x86_64.whl`` → ``…-x86_64_linux_musl.whl``."""
    stem, ext = os.path.splitext(filename)
    if ext != ".whl":
        return None
    head, sep, platforms = stem.rpartition("-")
    if not sep:
        return None
    parts = platforms.split(".")
    new_parts = [musl_platform_for(p, host) or p for p in parts]
    if new_parts == parts:
        return None
    return f"{head}-{'.'.join(new_parts)}{ext}"


def _record_digest(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _retag_wheel_file(text: str, host: HostLibc) -> str:
    lines = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Tag":
            interpreter, abi, platform = value.strip().split("-")
            platform = musl_platform_for(platform, host) or platform
            lines.append(f"Tag: {interpreter}-{abi}-{platform}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _retag_record(text: str, wheel_path: str, wheel_bytes: bytes) -> str:
    lines = []
    for line in text.splitlines():
        if line.split(",", 1)[0] == wheel_path:
            digest = _record_digest(wheel_bytes)
            lines.append(f"{wheel_path},{digest},{len(wheel_bytes)}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def retag_built_wheel(path: str, host: HostLibc) -> str:
    """Retag the wheel at ``path`` for a musl host; return its (new) path.

    The rewritten wheel replaces the original in the same directory. Returns
    ``path`` unchanged when there is nothing to retag.
    """
    new_name = retagged_filename(os.path.basename(path), host)
    if new_name is None:
        return path
    new_path = os.path.join(os.path.dirname(path), new_name)
    with zipfile.ZipFile(path) as source:
        names = source.namelist()
        wheel_files = [
            n for n in names if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")
        ]
        if len(wheel_files) != 1:
            raise RetagError(f"{os.path.basename(path)} has no single .dist-info/WHEEL")
        wheel_name = wheel_files[0]
        record_name = wheel_name[: -len("WHEEL")] + "RECORD"
        new_wheel = _retag_wheel_file(source.read(wheel_name).decode("utf-8"), host)
        new_wheel_bytes = new_wheel.encode("utf-8")
        new_record = _retag_record(
            source.read(record_name).decode("utf-8"), wheel_name, new_wheel_bytes
        )
        partial = new_path + ".part"
        with zipfile.ZipFile(partial, "w") as target:
            for info in source.infolist():
                if info.filename == wheel_name:
                    target.writestr(info, new_wheel_bytes, info.compress_type)
                elif info.filename == record_name:
                    target.writestr(info, new_record.encode(), info.compress_type)
                else:
                    with source.open(info) as src, target.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1024 * 1024)
    os.replace(partial, new_path)
    os.unlink(path)
    return new_path
