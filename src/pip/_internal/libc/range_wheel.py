"""A wheel on an index, read through HTTP range requests as a seekable file.

The resolver's check reads a wheel's central directory and a few members, not
the whole file: refusing numpy's newest musllinux wheel on musl 1.2.3 takes its
central directory and one bundled ``libgcc_s`` (about 1 % of the wheel).
Unlike pip's lazy wheel (small fixed chunks, meant for metadata), each member
is fetched whole in one request (:meth:`RangeFile.fetch`), because the ELF
reader needs a member's dynamic section, which linkers put near its end.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pip._internal.network.session import PipSession

_TAIL = 64 * 1024
_MIN_FETCH = 16 * 1024
_HEADERS = {"Accept-Encoding": "identity", "Cache-Control": "no-cache"}


class RangeUnsupported(Exception):
    """The server answered a range request with something else."""


class RangeFile:
    """A read-only, seekable view of a remote file, fetched piecewise."""

    def __init__(self, session: PipSession, url: str, name: str) -> None:
        self._session = session
        self._url = url
        self.name = name
        self.bytes_fetched = 0
        self.requests = 0
        self._starts: list[int] = []
        self._chunks: list[bytes] = []
        self._pos = 0
        self.length = self._fetch_tail()

    # -- fetching --

    def _get(self, spec: str) -> tuple[int, int, bytes]:
        headers = dict(_HEADERS, Range=f"bytes={spec}")
        resp = self._session.get(self._url, headers=headers, stream=True)
        try:
            if resp.status_code != 206:
                raise RangeUnsupported(f"HTTP {resp.status_code} to a range request")
            content_range = resp.headers.get("Content-Range", "")
            unit, _, rest = content_range.partition(" ")
            span, _, total = rest.partition("/")
            first, _, last = span.partition("-")
            if unit != "bytes" or not total.isdigit():
                raise RangeUnsupported(f"unusable Content-Range {content_range!r}")
            start, end = int(first), int(last)
            data = resp.raw.read(end - start + 1, decode_content=False)
        except ValueError:
            raise RangeUnsupported("unusable Content-Range") from None
        finally:
            resp.close()
        self.requests += 1
        self.bytes_fetched += len(data)
        if len(data) != end - start + 1:
            raise RangeUnsupported("short range response")
        return start, int(total), data

    def _fetch_tail(self) -> int:
        start, total, data = self._get(f"-{_TAIL}")
        self._store(start, data)
        return total

    def _store(self, start: int, data: bytes) -> None:
        index = bisect_right(self._starts, start)
        self._starts.insert(index, start)
        self._chunks.insert(index, data)

    def _have(self, start: int, end: int) -> bool:
        """Whether bytes [start, end) are held in one chunk."""
        index = bisect_right(self._starts, start) - 1
        if index < 0:
            return False
        return self._starts[index] + len(self._chunks[index]) >= end

    def holds(self, start: int, end: int) -> bool:
        """Whether bytes [start, end) are held already."""
        return self._have(max(0, start), min(self.length, end))

    def fetch(self, start: int, end: int) -> None:
        """Hold bytes [start, end) in one request (unless already held)."""
        start, end = max(0, start), min(self.length, end)
        if start >= end or self._have(start, end):
            return
        got, _total, data = self._get(f"{start}-{end - 1}")
        self._store(got, data)

    # -- the file protocol zipfile uses --

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = self.length + offset
        self._pos = max(0, self._pos)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self.length - self._pos
        end = min(self.length, self._pos + size)
        if self._pos >= end:
            return b""
        if not self._have(self._pos, end):
            self.fetch(self._pos, max(end, self._pos + _MIN_FETCH))
        index = bisect_right(self._starts, self._pos) - 1
        chunk, offset = self._chunks[index], self._pos - self._starts[index]
        data = chunk[offset : offset + (end - self._pos)]
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._chunks.clear()
        self._starts.clear()
