"""Host libc detection on real binaries and real interpreters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pip._internal.libc.host import HostLibc, detect_host_libc, host_libc
from tests.lib.hosts import MuslHost
from tests.lib.venvs import Venv

HELLO = "int main(void) { return 0; }\n"


def _compile(tmp_path: Path, compiler: str, *flags: str) -> Path:
    if shutil.which(compiler) is None:
        pytest.fail(
            f"{compiler} not found: apt-get install musl-tools gcc", pytrace=False
        )
    src = tmp_path / "hello.c"
    src.write_text(HELLO)
    out = tmp_path / f"hello-{compiler}-{len(flags)}"
    subprocess.run([compiler, *flags, "-o", str(out), str(src)], check=True)
    return out


def test_musl_gcc_executable_is_musl(tmp_path: Path) -> None:
    host = detect_host_libc(str(_compile(tmp_path, "musl-gcc")))
    assert host.family == "musl"
    assert host.loader == "/lib/ld-musl-x86_64.so.1"
    # Debian bookworm ships musl 1.2.3.
    assert host.version == (1, 2, 3)
    assert host.arch == "x86_64"
    assert "PT_INTERP" in host.method


def test_gcc_executable_is_glibc(tmp_path: Path) -> None:
    host = detect_host_libc(str(_compile(tmp_path, "gcc")))
    assert host.family == "glibc"
    assert host.loader == "/lib64/ld-linux-x86-64.so.2"
    assert host.version is not None and host.version >= (2, 17)


@pytest.mark.parametrize("built_for_musl", [True, False])
def test_static_musl_executable_is_static(tmp_path: Path, built_for_musl: bool) -> None:
    binary = _compile(tmp_path, "musl-gcc", "-static")
    host = detect_host_libc(str(binary), musl_sysconfig=built_for_musl)
    assert host.family == "static"
    assert host.loader is None
    assert host.is_static_musl is built_for_musl


def test_i686_executable_arch(tmp_path: Path) -> None:
    """A 32-bit userland on a 64-bit kernel gets the interpreter's own arch."""
    probe = subprocess.run(
        ["gcc", "-m32", "-x", "c", "-", "-o", str(tmp_path / "a")],
        input=HELLO,
        text=True,
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.fail("gcc -m32 cannot link: apt-get install gcc-multilib", pytrace=False)
    host = detect_host_libc(str(tmp_path / "a"))
    assert (host.family, host.arch, host.loader) == (
        "glibc",
        "i686",
        "/lib/ld-linux.so.2",
    )


@pytest.mark.parametrize("kind", ["script", "empty", "missing", "directory", "fifo"])
def test_bad_sys_executable_falls_back_to_proc_self_exe(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "python"
    if kind == "script":
        path.write_text('#!/bin/sh\nexec python3 "$@"\n')
        path.chmod(0o755)
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    executable = "" if kind == "empty" else str(path)
    started = time.monotonic()
    host = detect_host_libc(executable)
    assert time.monotonic() - started < 5
    # This test process is the glibc host CPython.
    assert host.family == "glibc"
    assert host.interpreter == "/proc/self/exe"


def test_unreadable_everything_gives_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mocked: /proc/self/exe always exists on Linux; point the fallback elsewhere.
    monkeypatch.setattr("pip._internal.libc.host.PROC_SELF_EXE", str(tmp_path / "none"))
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\n")
    host = detect_host_libc(str(script))
    assert host.family == "unknown"
    assert "no readable ELF interpreter" in host.method


def test_foreign_loader_gives_unknown(tmp_path: Path) -> None:
    binary = _compile(tmp_path, "gcc", "-Wl,--dynamic-linker=/lib/ld-weird.so.7")
    host = detect_host_libc(str(binary))
    assert host.family == "unknown"
    assert host.loader == "/lib/ld-weird.so.7"


def test_running_host_cpython_is_glibc() -> None:
    host = host_libc()
    assert host.family == "glibc"
    assert host_libc() is host  # cached per process


def _debug_libc(venv: Venv) -> dict[str, str]:
    out = venv.pip("debug", "--verbose").stdout
    section = out.split("libc:\n", 1)[1].split("Compatible tags", 1)[0]
    pairs = [
        line.strip().split(": ", 1) for line in section.splitlines() if ": " in line
    ]
    return {key: value for key, value in pairs}


def test_pip_debug_reports_glibc_on_host(fork_venv: Venv) -> None:
    libc = _debug_libc(fork_venv)
    assert libc["family"] == "glibc"
    assert libc["loader (PT_INTERP)"] == "/lib64/ld-linux-x86-64.so.2"
    assert libc["architecture"] == "x86_64"


@pytest.mark.musl
@pytest.mark.every_musl_host
def test_pip_debug_reports_musl_on_musl_cpython(
    musl_host: MuslHost, musl_fork_venv: Venv
) -> None:
    """On every host, patchelf'd ones included (PT_INTERP past the first 64 KiB)."""
    libc = _debug_libc(musl_fork_venv)
    assert libc["family"] == "musl"
    assert libc["version"] == musl_host.musl_text.split()[1]
    assert libc["loader (PT_INTERP)"] == musl_host.loader
    assert "version from image" in libc["detected by"]
    assert libc["platform ranking"] == (
        "x86_64_linux_musl > linux_x86_64 > musllinux_1_2_x86_64 > "
        "musllinux_1_1_x86_64 > musllinux_1_0_x86_64"
    )


def test_detection_never_raises_on_odd_hosts() -> None:
    for value in ["/", "/dev/null", "/proc/self/status", "\udcff", "/nonexistent"]:
        assert isinstance(detect_host_libc(value), HostLibc)
    assert sys.executable  # the real interpreter stays detectable
