"""Self-tests of the test harness: tests/lib/wheels.py and tests/lib/index.py.

These run the real tools (gcc, musl-gcc, readelf, pypiserver, pip, setuptools)
and fail — never skip — when one is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.lib import index as index_lib
from tests.lib.hosts import MuslHost
from tests.lib.index import (
    LocalIndex,
    LocalIndexError,
    build_tools_wheels,
    pip_env,
    port_is_open,
)
from tests.lib.venvs import Venv
from tests.lib.wheels import (
    EXTRA_C_GLIBC_ONLY,
    EXTRA_C_STATX,
    build_ext_wheel,
    build_pure_wheel,
    build_sdist,
    build_variant_set,
    check_wheel,
    python_include_of,
)

# The fixture under test (also available everywhere once tests/conftest.py
# registers ``pytest_plugins = ["tests.lib.index"]``).
local_index = index_lib.local_index

PY_TAG = f"cp{sys.version_info[0]}{sys.version_info[1]}"
HOST_INCLUDE = sysconfig.get_paths()["include"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, (
        f"required tool {name!r} is not on PATH (Debian: see tests/lib/README.md)"
    )
    return path


def _needed(so: Path) -> list[str]:
    out = subprocess.run(
        [_tool("readelf"), "-d", "-W", str(so)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _undefined_dynsyms(so: Path) -> set[str]:
    out = subprocess.run(
        [_tool("readelf"), "--dyn-syms", "-W", str(so)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    syms = set()
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 8 and cols[6] == "UND":
            syms.add(cols[7].split("@")[0])
    return syms


def _extract(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    return dest


def _import_variant(
    path_entry: Path, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            python,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(path_entry)!r}); "
            "import muslprobe, os; assert muslprobe.libc_pid() == os.getpid(); "
            "print(muslprobe.variant(), muslprobe.__file__)",
        ],
        capture_output=True,
        check=False,
        text=True,
    )


def _pip(venv: Venv, *args: str) -> subprocess.CompletedProcess[str]:
    """Run *stock* pip 26.3 (not the fork under test) with only the command line."""
    return venv.run("-m", "pip", *args, check=False, env=pip_env())


# --------------------------------------------------------------------------
# wheels.py
# --------------------------------------------------------------------------


def test_variant_set_wheels_are_valid(tmp_path: Path) -> None:
    _tool("musl-gcc")
    _tool("gcc")
    names = [
        "musllinux_1_2",
        "musllinux_1_1",
        "linux_musl",
        "manylinux",
        "glibc-generic",
        "sdist",
    ]
    paths = build_variant_set(
        tmp_path, names, HOST_INCLUDE, python_tag=PY_TAG, abi_tag=PY_TAG
    )
    assert [p.name for p in paths] == [
        f"muslprobe-1.0-{PY_TAG}-{PY_TAG}-musllinux_1_2_x86_64.whl",
        f"muslprobe-1.0-{PY_TAG}-{PY_TAG}-musllinux_1_1_x86_64.whl",
        f"muslprobe-1.0-{PY_TAG}-{PY_TAG}-x86_64_linux_musl.whl",
        f"muslprobe-1.0-{PY_TAG}-{PY_TAG}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        f"muslprobe-1.0-{PY_TAG}-{PY_TAG}-linux_x86_64.whl",
        "muslprobe-1.0.tar.gz",
    ]
    for p in paths[:-1]:
        fields = check_wheel(p)
        assert fields["Root-Is-Purelib"] == "false"
        with zipfile.ZipFile(p) as zf:
            assert "muslprobe/_ext.so" in zf.namelist()
            assert zf.testzip() is None
    assert check_wheel(paths[3])["Tag"] == (
        f"{PY_TAG}-{PY_TAG}-manylinux_2_17_x86_64,{PY_TAG}-{PY_TAG}-manylinux2014_x86_64"
    )
    # The `wheel` tool's own RECORD verification agrees.
    for p in paths[:-1]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "wheel",
                "unpack",
                "-d",
                str(tmp_path / "unpacked"),
                str(p),
            ],
            capture_output=True,
            check=False,
            text=True,
        )
        assert proc.returncode == 0, (
            f"`wheel unpack` rejected {p.name} (is `wheel` installed?):\n{proc.stderr}"
        )


def test_conflicting_variants_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="separate directories"):
        build_variant_set(tmp_path, ["musl-generic", "glibc-generic"], HOST_INCLUDE)
    assert list(tmp_path.iterdir()) == []


def test_check_wheel_detects_tampering(tmp_path: Path) -> None:
    whl = build_pure_wheel(tmp_path / "a")
    check_wheel(whl)
    bad = tmp_path / whl.name
    with zipfile.ZipFile(whl) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "muslprobe/__init__.py":
                data += b"# changed\n"
            dst.writestr(info, data)
    with pytest.raises(AssertionError, match="hash mismatch"):
        check_wheel(bad)


def test_gcc_extension_imports_on_host_and_links_glibc(tmp_path: Path) -> None:
    _tool("gcc")
    whl = build_ext_wheel(
        tmp_path / "dist",
        tag_platform="linux_x86_64",
        compiler="gcc",
        python_include=HOST_INCLUDE,
        variant="glibc-generic",
        python_tag=PY_TAG,
        abi_tag=PY_TAG,
    )
    root = _extract(whl, tmp_path / "x")
    so = root / "muslprobe" / "_ext.so"
    assert _needed(so) == ["libc.so.6"]
    proc = _import_variant(root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "glibc-generic"


def test_stock_pip_installs_gcc_wheel_with_target(
    tmp_path: Path, stock_venv: Venv
) -> None:
    _tool("gcc")
    whl = build_ext_wheel(
        tmp_path / "dist",
        tag_platform="manylinux_2_17_x86_64.manylinux2014_x86_64",
        compiler="gcc",
        python_include=HOST_INCLUDE,
        variant="manylinux",
        python_tag=PY_TAG,
        abi_tag=PY_TAG,
    )
    target = tmp_path / "target"
    proc = _pip(
        stock_venv,
        "install",
        "--no-index",
        "--no-deps",
        "--target",
        str(target),
        str(whl),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "muslprobe-1.0.dist-info" / "RECORD").is_file()
    imp = _import_variant(target)
    assert imp.returncode == 0, imp.stderr
    assert imp.stdout.split()[0] == "manylinux"


def test_musl_extension_links_musl_libc(tmp_path: Path) -> None:
    _tool("musl-gcc")
    whl = build_ext_wheel(
        tmp_path,
        tag_platform="x86_64_linux_musl",
        compiler="musl-gcc",
        python_include=HOST_INCLUDE,
        variant="linux_musl",
    )
    so = _extract(whl, tmp_path / "x") / "muslprobe" / "_ext.so"
    assert _needed(so) == ["libc.so"]
    out = subprocess.run(
        [_tool("readelf"), "-V", "-W", str(so)],
        capture_output=True,
        check=False,
        text=True,
    ).stdout
    assert "GLIBC_" not in out
    # A glibc CPython cannot load it: the loader, not the name, decides.
    proc = _import_variant(so.parent.parent)
    assert proc.returncode != 0


@pytest.mark.parametrize("compiler", ["gcc", "musl-gcc"])
def test_extra_c_statx_leaves_undefined_symbol(tmp_path: Path, compiler: str) -> None:
    _tool(compiler)
    whl = build_ext_wheel(
        tmp_path,
        tag_platform="linux_x86_64",
        compiler=compiler,
        python_include=HOST_INCLUDE,
        variant="statx",
        extra_c=EXTRA_C_STATX,
        python_tag=PY_TAG,
        abi_tag=PY_TAG,
    )
    root = _extract(whl, tmp_path / "x")
    assert "statx" in _undefined_dynsyms(root / "muslprobe" / "_ext.so")
    if compiler == "gcc":  # this host's glibc (>= 2.28) has statx: import works
        proc = _import_variant(root)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split()[0] == "statx"


def test_bundled_libs_and_compile_error(tmp_path: Path) -> None:
    from tests.lib.wheels import HarnessError, compile_shared_lib

    lib = compile_shared_lib(
        "int muslprobe_helper(void) { return 42; }\n",
        compiler="gcc",
        soname="libhelper.so.1",
    )
    whl = build_ext_wheel(
        tmp_path,
        tag_platform="linux_x86_64",
        compiler="gcc",
        python_include=HOST_INCLUDE,
        variant="bundled",
        bundled_libs={"muslprobe.libs/libhelper.so.1": lib},
    )
    check_wheel(whl)
    with zipfile.ZipFile(whl) as zf:
        assert zf.read("muslprobe.libs/libhelper.so.1") == lib
    with pytest.raises(HarnessError, match="compiling"):
        build_ext_wheel(
            tmp_path / "bad",
            tag_platform="linux_x86_64",
            compiler="gcc",
            python_include=HOST_INCLUDE,
            variant="bad",
            extra_c="this is not C;",
        )
    with pytest.raises(HarnessError, match="not found on PATH"):
        build_ext_wheel(
            tmp_path / "bad",
            tag_platform="linux_x86_64",
            compiler="no-such-musl-gcc",
            python_include=HOST_INCLUDE,
            variant="x",
        )


def test_sdist_is_valid(tmp_path: Path) -> None:
    import tarfile

    sdist = build_sdist(tmp_path)
    assert sdist.name == "muslprobe-1.0.tar.gz"
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
        pkg_info = tf.extractfile("muslprobe-1.0/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert {
        "muslprobe-1.0/PKG-INFO",
        "muslprobe-1.0/pyproject.toml",
        "muslprobe-1.0/setup.py",
        "muslprobe-1.0/muslprobe/_ext.c",
        "muslprobe-1.0/muslprobe/__init__.py",
    } <= set(names)
    assert pkg_info.startswith("Metadata-Version: 2.1\n")
    assert "\nName: muslprobe\n" in pkg_info
    assert "\nVersion: 1.0\n" in pkg_info


# --------------------------------------------------------------------------
# index.py
# --------------------------------------------------------------------------


def test_index_serves_odd_musl_tag_and_pip_finds_it(
    local_index: LocalIndex, tmp_path: Path, stock_venv: Venv
) -> None:
    _tool("musl-gcc")
    whl = build_ext_wheel(
        tmp_path / "dist",
        tag_platform="x86_64_linux_musl",
        compiler="musl-gcc",
        python_include=HOST_INCLUDE,
        variant="linux_musl",
    )
    assert whl.name == "muslprobe-1.0-cp311-cp311-x86_64_linux_musl.whl"
    local_index.upload(whl)
    assert local_index.files() == [whl.name]
    page = local_index.project_page("muslprobe")
    assert f">{whl.name}</a>" in page
    assert "#sha256=" in page
    # Stock pip, told it is a musl target, downloads exactly that file over HTTP.
    proc = _pip(
        stock_venv,
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        "x86_64_linux_musl",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        "--index-url",
        local_index.url,
        "--no-cache-dir",
        "-d",
        str(tmp_path / "dl"),
        "muslprobe==1.0",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = tmp_path / "dl" / whl.name
    assert got.read_bytes() == whl.read_bytes()


def test_index_upload_with_twine_and_refuses_duplicates(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    _tool("musl-gcc")
    paths = build_variant_set(
        tmp_path, ["linux_musl", "musllinux_1_2", "sdist"], HOST_INCLUDE
    )
    local_index.upload_all(paths, method="twine")
    assert local_index.files() == sorted(p.name for p in paths)
    page = local_index.project_page("MuslProbe")  # PEP 503 normalisation
    for p in paths:
        assert f">{p.name}</a>" in page
    with pytest.raises(LocalIndexError, match=r"409|already exists"):
        local_index.upload(paths[0])


def test_sdist_builds_offline_from_local_index(
    local_index: LocalIndex, tmp_path: Path, stock_venv: Venv
) -> None:
    _tool("gcc")
    tools = build_tools_wheels()
    assert tools
    assert all(t.name.endswith("-py3-none-any.whl") for t in tools)
    local_index.upload_all([*tools, build_sdist(tmp_path / "dist")])
    wheelhouse = tmp_path / "wheelhouse"
    proc = _pip(
        stock_venv,
        "wheel",
        "--no-deps",
        "--no-cache-dir",
        "--index-url",
        local_index.url,
        "-w",
        str(wheelhouse),
        "muslprobe==1.0",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = wheelhouse.glob("muslprobe-1.0-*.whl")
    check_wheel(built)
    target = tmp_path / "target"
    proc = _pip(
        stock_venv,
        "install",
        "--no-index",
        "--no-deps",
        "--target",
        str(target),
        str(built),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    imp = _import_variant(target)
    assert imp.returncode == 0, imp.stderr
    assert imp.stdout.split()[0] == "sdist"


def test_index_stops_and_frees_port(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "pkgs", tmp_path / "log.txt")
    with index:
        port = index.port
        assert port is not None
        assert port_is_open("127.0.0.1", port)
        assert index.is_running
        proc = index._proc
    assert proc is not None
    assert proc.returncode is not None
    assert not index.is_running
    assert not port_is_open("127.0.0.1", port)
    assert "--disable-fallback" in index.log_path.read_text()


def test_index_without_fallback_does_not_redirect(local_index: LocalIndex) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(local_index.url + "setuptools/", timeout=10)
    assert ei.value.code == 404


@pytest.mark.musl
def test_musl_cpython_loads_only_musl_builds(
    tmp_path: Path,
    musl_host: MuslHost,
    musl_python: Path,
    local_index: LocalIndex,
    musl_stock_venv: Venv,
) -> None:
    """On the real musl CPython the loader, not the file name, decides."""
    _tool("musl-gcc")
    _tool("gcc")
    inc = python_include_of(musl_python)
    musl = build_ext_wheel(
        tmp_path / "m",
        tag_platform="musllinux_1_2_x86_64",
        compiler="musl-gcc",
        python_include=inc,
        variant="musllinux_1_2",
        python_tag=musl_host.cp_tag,
        abi_tag=musl_host.cp_tag,
    )
    # Imported by the musl CPython: compiled (with gcc) against its headers.
    glibc = build_ext_wheel(
        tmp_path / "g",
        tag_platform="linux_x86_64",
        compiler="gcc",
        python_include=inc,
        variant="glibc-generic",
    )
    glibc_only = build_ext_wheel(
        tmp_path / "go",
        tag_platform="linux_x86_64",
        compiler="gcc",
        python_include=HOST_INCLUDE,
        variant="glibc-only",
        extra_c=EXTRA_C_GLIBC_ONLY,
    )
    statx = build_ext_wheel(
        tmp_path / "s",
        tag_platform="linux_x86_64",
        compiler="musl-gcc",
        python_include=inc,
        variant="statx",
        extra_c=EXTRA_C_STATX,
    )
    ok = _import_variant(_extract(musl, tmp_path / "xm"), str(musl_python))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split()[0] == "musllinux_1_2"
    # Quirk: musl's loader maps DT_NEEDED libc.so.6 onto itself and ignores
    # glibc symbol versions, so a gcc build that uses only common symbols loads.
    plain = _import_variant(_extract(glibc, tmp_path / "xg"), str(musl_python))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split()[0] == "glibc-generic"
    # A glibc-only symbol makes musl's loader refuse it.
    bad = _import_variant(_extract(glibc_only, tmp_path / "xgo"), str(musl_python))
    assert bad.returncode != 0
    assert "gnu_get_libc_version" in bad.stderr
    on_host = _import_variant(tmp_path / "xgo")
    assert on_host.returncode == 0, on_host.stderr
    # statx arrived in musl 1.2.5: whether it loads is the host's musl's call.
    new = _import_variant(_extract(statx, tmp_path / "xs"), str(musl_python))
    if musl_host.loads_statx:
        assert new.returncode == 0, new.stderr
    else:
        assert new.returncode != 0
        assert "statx" in new.stderr
    # The local index serves the musl interpreter too: stock pip installs from it.
    local_index.upload(musl)
    target = tmp_path / "target"
    proc = _pip(
        musl_stock_venv,
        "install",
        "--no-deps",
        "--no-cache-dir",
        "--index-url",
        local_index.url,
        "--target",
        str(target),
        "muslprobe==1.0",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    imp = _import_variant(target, str(musl_python))
    assert imp.returncode == 0, imp.stderr
    assert imp.stdout.split()[0] == "musllinux_1_2"
    # The sdist builds on the musl CPython too, offline against the local index.
    local_index.upload_all([*build_tools_wheels(), build_sdist(tmp_path / "sd")])
    proc = _pip(
        musl_stock_venv,
        "wheel",
        "--no-deps",
        "--no-cache-dir",
        "--no-binary",
        "muslprobe",
        "--index-url",
        local_index.url,
        "-w",
        str(tmp_path / "wh"),
        "muslprobe==1.0",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = (tmp_path / "wh").glob("muslprobe-1.0-*.whl")
    root = _extract(built, tmp_path / "xb")
    (so,) = (root / "muslprobe").glob("_ext*.so")
    assert _needed(so) == ["libc.so"]
    imp = _import_variant(root, str(musl_python))
    assert imp.returncode == 0, imp.stderr
    assert imp.stdout.split()[0] == "sdist"


def test_one_host_per_python_keeps_the_primary_and_the_old_musl() -> None:
    """``every_python_minor``: the primary host for its minor, the old-musl
    host for each other minor, whichever order the hosts come in."""
    from tests.lib.hosts import OLD_MUSL, PRIMARY, HostSpec, one_host_per_python

    hosts = [
        HostSpec(py, musl)
        for py in ("3.14", "3.11", PRIMARY.python_version)
        for musl in ((1, 2, 6), PRIMARY.musl, OLD_MUSL)
    ]
    chosen = one_host_per_python(hosts)
    assert [h.python_version for h in chosen] == ["3.14", "3.11", PRIMARY.python_version]
    assert chosen[:2] == [HostSpec("3.14", OLD_MUSL), HostSpec("3.11", OLD_MUSL)]
    assert chosen[2] == PRIMARY
    # A minor without the old-musl host keeps the first of its own.
    assert one_host_per_python([HostSpec("3.12", (1, 2, 6))]) == [HostSpec("3.12", (1, 2, 6))]
