"""The musl branch of the tag computation, with injected hosts."""

from __future__ import annotations

import pytest

from pip._internal.libc.host import HostLibc
from pip._internal.libc.tags import (
    InvalidMuslPlatform,
    expand_musl_platform,
    explain_platform_mismatch,
    musl_host_platforms,
)

ARCHES = ["x86_64", "aarch64", "i686", "armv7l", "ppc64le", "s390x", "riscv64"]


def musl(version: tuple[int, ...] | None, arch: str = "x86_64") -> HostLibc:
    return HostLibc("musl", version=version, arch=arch, loader="/lib/ld-musl.so.1")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("minor", [0, 1, 2])
def test_musl_ranking(arch: str, minor: int) -> None:
    platforms = musl_host_platforms(musl((1, minor, 3), arch))
    expected = [f"{arch}_linux_musl", f"linux_{arch}"] + [
        f"musllinux_1_{m}_{arch}" for m in range(minor, -1, -1)
    ]
    assert platforms == expected


def test_musl_with_unknown_version_claims_no_musllinux() -> None:
    assert musl_host_platforms(musl(None)) == ["x86_64_linux_musl", "linux_x86_64"]


@pytest.mark.parametrize(
    "host",
    [
        HostLibc("glibc", version=(2, 36), arch="x86_64"),
        HostLibc("static", arch="x86_64", built_for_musl=True),
        HostLibc("unknown"),
        HostLibc("musl", version=(1, 2), arch=None),
    ],
)
def test_other_hosts_get_no_musl_platforms(host: HostLibc) -> None:
    assert musl_host_platforms(host) is None


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (
            "musllinux_1_2_x86_64",
            ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"],
        ),
        ("musllinux_1_0_aarch64", ["musllinux_1_0_aarch64"]),
        ("musllinux_1_1_ppc64le", ["musllinux_1_1_ppc64le", "musllinux_1_0_ppc64le"]),
        ("x86_64_linux_musl", ["x86_64_linux_musl"]),
        ("armv7l_linux_musl", ["armv7l_linux_musl"]),
        ("manylinux2014_x86_64", None),
        ("linux_x86_64", None),
        ("any", None),
    ],
)
def test_platform_expansion(platform: str, expected: list[str] | None) -> None:
    assert expand_musl_platform(platform) == expected


@pytest.mark.parametrize(
    "platform",
    [
        "musllinux_1_x86_64",
        "musllinux_x_2_x86_64",
        "musllinux_1_2_",
        "musllinux",
        "_linux_musl",
        "x86-64_linux_musl",
        "x86_64_linux_musl_extra",
        "linux_musl",
    ],
)
def test_malformed_musl_platforms_are_refused(platform: str) -> None:
    with pytest.raises(InvalidMuslPlatform, match="invalid platform"):
        expand_musl_platform(platform)


@pytest.mark.parametrize(
    ("platforms", "host", "expected"),
    [
        (
            ["musllinux_1_2_x86_64"],
            musl((1, 1, 24)),
            "musllinux_1_2 wheel needs musl >= 1.2; this host has musl 1.1.24",
        ),
        (
            ["musllinux_1_2_x86_64"],
            HostLibc("glibc", (2, 36), "x86_64"),
            "musllinux_1_2 wheel is for musl; this host uses glibc 2.36 (x86_64)",
        ),
        (
            ["x86_64_linux_musl"],
            HostLibc("glibc", (2, 36), "x86_64"),
            "x86_64_linux_musl wheel is for musl; this host uses glibc 2.36 (x86_64)",
        ),
        (
            ["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
            musl((1, 2, 3)),
            "manylinux_2_17 wheel is for glibc; this host uses musl 1.2.3 (x86_64); "
            "manylinux2014 wheel is for glibc; this host uses musl 1.2.3 (x86_64)",
        ),
        (
            ["manylinux_2_39_x86_64"],
            HostLibc("glibc", (2, 36), "x86_64"),
            "manylinux_2_39 wheel needs glibc >= 2.39; this host has glibc 2.36",
        ),
        (
            ["musllinux_1_2_aarch64"],
            musl((1, 2, 3)),
            "musllinux_1_2_aarch64 is for aarch64; this host is x86_64",
        ),
        (["macosx_11_0_arm64"], musl((1, 2, 3)), None),
        (["musllinux_1_2_x86_64"], HostLibc("unknown"), None),
    ],
)
def test_mismatch_explanations(
    platforms: list[str], host: HostLibc, expected: str | None
) -> None:
    assert explain_platform_mismatch(platforms, host) == expected


def test_static_musl_explanation() -> None:
    host = HostLibc("static", arch="x86_64", built_for_musl=True)
    why = explain_platform_mismatch(["musllinux_1_2_x86_64"], host)
    assert why is not None and "statically linked against musl" in why
