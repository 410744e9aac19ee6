"""Pure pieces of the resolver-level check: extension names, verdict cache, the
range reader's bookkeeping (over a real local HTTP server with range support)."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pip._internal.libc import candidate_check
from pip._internal.libc.abi_problem import AbiProblem
from pip._internal.libc.host import HostLibc
from pip._internal.libc.member_names import extension_suffix_of, unimportable_extensions
from pip._internal.libc.verdict import (
    SystemNeed,
    Verdict,
    file_sha256,
    host_key,
    load_verdict,
    store_verdict,
)
from pip._internal.models.link import Link

MUSL = HostLibc("musl", (1, 2, 3), "x86_64", loader="/nonexistent/ld-musl.so.1")
MUSL_SUFFIXES = (".cpython-311-x86_64-linux-musl.so", ".abi3.so", ".so")


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("pkg/_x.cpython-311-x86_64-linux-gnu.so", ".cpython-311-x86_64-linux-gnu.so"),
        ("pkg/_x.abi3.so", ".abi3.so"),
        ("pkg/_x.so", None),
        ("pkg.libs/libgcc_s-1a2b.so.1", None),
        ("pkg.libs/_x.cpython-311-x86_64-linux-gnu.so", None),
        ("pkg/libfoo.1.so", None),
        ("pkg-1.0.data/scripts/_x.cpython-311-x86_64-linux-gnu.so", None),
        (
            "pkg-1.0.data/platlib/_x.cpython-311-x86_64-linux-gnu.so",
            ".cpython-311-x86_64-linux-gnu.so",
        ),
    ],
)
def test_extension_suffix_of(name: str, suffix: str | None) -> None:
    assert extension_suffix_of(name) == suffix


def test_unimportable_extensions_uses_the_given_suffixes() -> None:
    names = [
        "a/_g.cpython-311-x86_64-linux-gnu.so",
        "a/_m.cpython-311-x86_64-linux-musl.so",
    ]
    assert unimportable_extensions(names, MUSL_SUFFIXES) == [
        ("a/_g.cpython-311-x86_64-linux-gnu.so", ".cpython-311-x86_64-linux-gnu.so")
    ]
    # Alpine's CPython also takes -linux-gnu.so names: then nothing is refused.
    alpine = (*MUSL_SUFFIXES, ".cpython-311-x86_64-linux-gnu.so")
    assert unimportable_extensions(names, alpine) == []


def _verdict() -> Verdict:
    problem = AbiProblem(
        "p/_x.so",
        "missing-symbol",
        "`p/_x.so` needs `statx`",
        symbols=("statx",),
        required_version=(1, 2, 5),
    )
    return Verdict((problem,), None, (SystemNeed("p/_x.so", "libz.so.1", ()),), 1)


def test_verdict_cache_round_trip_and_keys(tmp_path: Path) -> None:
    key = host_key(MUSL, MUSL_SUFFIXES)
    assert key != host_key(MUSL._replace(version=(1, 2, 5)), MUSL_SUFFIXES)
    assert key != host_key(MUSL, MUSL_SUFFIXES[1:])
    store_verdict(str(tmp_path), "ab" * 32, key, _verdict())
    got = load_verdict(str(tmp_path), "ab" * 32, key)
    assert got is not None
    assert got.problems == _verdict().problems
    assert got.system_needs == _verdict().system_needs
    assert got.members_read == 0  # from the cache: nothing was read
    assert load_verdict(str(tmp_path), "cd" * 32, key) is None
    assert load_verdict(None, "ab" * 32, key) is None


def test_file_sha256_is_hashlibs_digest_across_buffer_boundaries(
    tmp_path: Path,
) -> None:
    for size in (0, 1, 1024 * 1024, 3 * 1024 * 1024 + 17):
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        path = tmp_path / f"{size}.bin"
        path.write_bytes(data)
        assert file_sha256(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("cached", [False, True])
def test_a_local_wheel_is_hashed_only_to_key_the_verdict_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    # A spy on the real digest (it still hashes): the call count is the
    # behaviour, since nothing else tells a skipped digest from a quick one.
    hashed: list[str] = []

    def spy(path: str) -> str:
        hashed.append(path)
        return file_sha256(path)

    monkeypatch.setattr(candidate_check, "file_sha256", spy)
    wheel = tmp_path / "pure-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pure/__init__.py", "")
    cache = tmp_path / "cache" if cached else None
    verdict = candidate_check._judge_file(
        object(),  # type: ignore[arg-type]  # the preparer: only asked for an attribute
        Link(wheel.as_uri()),
        str(wheel),
        MUSL,
        MUSL_SUFFIXES,
        cache_dir=None if cache is None else str(cache),
    )
    assert verdict.loads
    if cache is None:
        assert hashed == []
    else:
        assert hashed == [str(wheel)]
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        key = host_key(MUSL, MUSL_SUFFIXES)
        assert load_verdict(str(cache), sha, key) is not None


@pytest.mark.parametrize("damage", ["garbage", "edited", "truncated"])
def test_damaged_cache_entries_are_ignored(tmp_path: Path, damage: str) -> None:
    key = host_key(MUSL, MUSL_SUFFIXES)
    store_verdict(str(tmp_path), "ab" * 32, key, _verdict())
    (entry,) = tmp_path.rglob("*.json")
    if damage == "garbage":
        entry.write_bytes(b"\x00\xff not json")
    elif damage == "edited":
        data = json.loads(entry.read_text())
        data["payload"]["problems"] = []
        entry.write_text(json.dumps(data))
    else:
        entry.write_text(entry.read_text()[:40])
    assert load_verdict(str(tmp_path), "ab" * 32, key) is None


class _RangeHandler(SimpleHTTPRequestHandler):
    """Python's static server plus single-range support (what index servers do)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        spec = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        if not spec:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        first, _, last = spec.removeprefix("bytes=").partition("-")
        if first == "":
            start, end = max(0, len(data) - int(last)), len(data) - 1
        else:
            start, end = int(first), min(int(last), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(data[start : end + 1])


def test_range_file_reads_like_the_file(tmp_path: Path) -> None:
    from pip._internal.libc.range_wheel import RangeFile
    from pip._internal.network.session import PipSession

    blob = bytes(range(256)) * 1024  # 256 KiB
    (tmp_path / "f.bin").write_bytes(blob)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_RangeHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/f.bin"
        remote = RangeFile(PipSession(), url, "f.bin")
        assert remote.length == len(blob)
        assert remote.bytes_fetched == 64 * 1024  # the tail only
        remote.seek(-10, 2)
        assert remote.read(10) == blob[-10:]
        assert remote.requests == 1
        remote.seek(1000)
        assert remote.read(5000) == blob[1000:6000]
        remote.fetch(100_000, 150_000)
        before = remote.bytes_fetched
        remote.seek(120_000)
        assert remote.read(1000) == blob[120_000:121_000]
        assert remote.bytes_fetched == before  # held already
        assert remote.bytes_fetched < len(blob)
    finally:
        server.shutdown()
        server.server_close()
