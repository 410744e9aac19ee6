"""What ``pip debug`` says about the interpreter's libc."""

from __future__ import annotations

from pip._internal.libc.host import HostLibc, host_libc
from pip._internal.libc.tags import musl_host_platforms


def libc_report_lines(host: HostLibc | None = None) -> list[str]:
    host = host_libc() if host is None else host
    lines = [
        f"family: {host.family}",
        f"version: {host.version_text}",
        f"architecture: {host.arch or 'unknown'}",
        f"loader (PT_INTERP): {host.loader or 'none'}",
        f"interpreter read: {host.interpreter or 'none'}",
        f"detected by: {host.method}",
    ]
    platforms = musl_host_platforms(host)
    if platforms is not None:
        lines.append("platform ranking: " + " > ".join(platforms))
    elif host.is_static_musl:
        lines.append(
            "note: this interpreter is statically linked against musl and cannot load "
            "extension modules, so only pure-Python wheels are offered"
        )
    elif host.family == "unknown":
        lines.append("note: libc unknown, so tags are exactly upstream pip's")
    return lines
