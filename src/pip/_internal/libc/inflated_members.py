"""The members the check inflated, kept for the install: no byte inflated twice.

Deciding whether a wheel loads means inflating nearly all of each ELF member
(linkers put the dynamic section near the end). ``pip install`` then inflates
the same members again to write them out, so on a wheel of large binaries the
check used to cost as much as that part of the install. Instead, while it reads
a local wheel for an install, the check writes each ELF member it inflates in
full to pip's temporary directory, and the install moves those files into
place (or, from another filesystem, copies them) instead of inflating the
members again (patch point ``ZipBackedFile.save``).

A copy is used only for the very file it was made from (same path, device,
inode, size and modification time) and only when read to its end, where
:mod:`zipfile` has checked its CRC. Copies live in a directory pip removes on
exit; those of a refused wheel are removed at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import zipfile
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple

from pip._internal.utils._log import getLogger

if TYPE_CHECKING:
    import mmap

logger = getLogger(__name__)

# Inflated bytes kept per wheel at most (the inspection budget's size): past
# it the install inflates as usual.
_WHEEL_ALLOWANCE: Final = 256 * 1024 * 1024
# Smaller members inflate again faster than a copy is made and moved (or, from
# another filesystem, read): the file creations cost more than the inflating.
_MIN_MEMBER: Final = 64 * 1024

FileIdentity = tuple[int, int, int, int]


def file_identity(path: str) -> FileIdentity | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# The functional form: the class form would make a ForwardRef (one compile())
# of each field's annotation, strings under ``from __future__ import annotations``.
_Kept = NamedTuple("_Kept", [("wheel", str), ("identity", FileIdentity), ("path", str)])  # noqa: UP014


class _Registry:
    __slots__ = ("by_member", "directory", "install_note", "lock", "serial")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.directory: str | None = None
        #: Member name -> its kept copies (of any wheel).
        self.by_member: dict[str, list[_Kept]] = {}
        self.serial = 0
        #: How copies reach their destination, once said.
        self.install_note: str | None = None


_REGISTRY = _Registry()


def _spool_directory() -> str | None:
    """pip's globally managed temporary directory for copies, made on first
    use; None outside a pip command (nothing would remove it)."""
    from pip._internal.utils import temp_dir

    if _REGISTRY.directory is None:
        if temp_dir._tempdir_manager is None:
            return None
        tmp = temp_dir.TempDirectory(kind="wheel-abi-inflated", globally_managed=True)
        _REGISTRY.directory = tmp.path
    return _REGISTRY.directory


class MemberSpool:
    """The copies being made of one wheel's members (thread-safe)."""

    def __init__(self, wheel_path: str, identity: FileIdentity, directory: str) -> None:
        self._wheel = wheel_path
        self._identity = identity
        self._directory = directory
        self._left = _WHEEL_ALLOWANCE
        self._kept: list[tuple[str, _Kept]] = []

    @classmethod
    def for_wheel(cls, wheel_path: str) -> MemberSpool | None:
        identity = file_identity(wheel_path)
        directory = _spool_directory()
        if identity is None or directory is None:
            return None
        return cls(wheel_path, identity, directory)

    def sink(self, info: zipfile.ZipInfo) -> MemberSink | None:
        """Where to write ``info``'s inflated bytes, or None (small, over the
        allowance, or already kept)."""
        if info.file_size < _MIN_MEMBER:
            return None
        with _REGISTRY.lock:
            if info.file_size > self._left or any(
                name == info.filename for name, _kept in self._kept
            ):
                return None
            self._left -= info.file_size
            _REGISTRY.serial += 1
            path = os.path.join(self._directory, f"{_REGISTRY.serial}.member")
        return MemberSink(self, info, path)

    def _keep(self, name: str, path: str) -> None:
        kept = _Kept(self._wheel, self._identity, path)
        with _REGISTRY.lock:
            self._kept.append((name, kept))
            _REGISTRY.by_member.setdefault(name, []).append(kept)

    def discard(self) -> None:
        """Forget and remove this wheel's copies (it will not be installed)."""
        with _REGISTRY.lock:
            for name, kept in self._kept:
                copies = _REGISTRY.by_member.get(name, [])
                if kept in copies:
                    copies.remove(kept)
            kept_paths = [kept.path for _name, kept in self._kept]
            self._kept.clear()
        for path in kept_paths:
            _remove(path)

    @property
    def count(self) -> int:
        return len(self._kept)


class MemberSink:
    """One member's copy while it is written; kept only when complete."""

    def __init__(self, spool: MemberSpool, info: zipfile.ZipInfo, path: str) -> None:
        self._spool = spool
        self._info = info
        self._path = path
        # Open across calls, closed by complete() or abandon(); readable too,
        # for mapped().
        self._file: IO[bytes] | None = open(path, "w+b")  # noqa: SIM115
        self._written = 0

    def write(self, data: bytes | memoryview) -> None:
        if self._file is not None:
            self._file.write(data)
            self._written += len(data)

    def mapped(self, length: int) -> mmap.mmap:
        """The first ``length`` bytes written, mapped read-only: the page
        cache's own pages, nothing copied."""
        import mmap

        if self._file is None:
            raise ValueError("the copy is closed")
        self._file.flush()
        return mmap.mmap(self._file.fileno(), length, access=mmap.ACCESS_READ)

    def complete(self) -> None:
        """The member was read to its end (zipfile checked its CRC there)."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if self._written == self._info.file_size:
            self._spool._keep(self._info.filename, self._path)
        else:  # pragma: no cover - zipfile raises before this
            _remove(self._path)

    def abandon(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            _remove(self._path)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def take_inflated(zip_file: zipfile.ZipFile, member: str) -> str | None:
    """The path of a kept copy of ``member`` of the open wheel ``zip_file``
    (no longer kept after this), or None."""
    copies = _REGISTRY.by_member.get(member)
    if not copies or zip_file.filename is None:
        return None
    identity = file_identity(zip_file.filename)
    with _REGISTRY.lock:
        for kept in copies:
            if kept.identity == identity:
                copies.remove(kept)
                return kept.path
    return None


class SpooledMember:
    """Stands in for the wheel's :class:`zipfile.ZipFile` while upstream saves
    one member: the same entries, and that member's bytes from its copy."""

    def __init__(self, archive: zipfile.ZipFile, member: str, path: str) -> None:
        self._archive = archive
        self._member = member
        self._path = path

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        return self._archive.getinfo(name)

    def open(self, name: str | zipfile.ZipInfo, mode: str = "r") -> IO[bytes]:
        member = name.filename if isinstance(name, zipfile.ZipInfo) else name
        if member != self._member or mode != "r":
            return self._archive.open(name, mode)  # type: ignore[arg-type]
        return open(self._path, "rb")

    def __getattr__(self, name: str) -> object:
        return getattr(self._archive, name)


def save_from_copy(save: Callable[[Any], None], zip_backed_file: Any) -> None:
    """Upstream's ``ZipBackedFile.save``, from the kept copy of its member
    when there is one: moved into place when on the same filesystem, else
    written by upstream (which does everything else: unlinking, modes)."""
    copy = None
    if _REGISTRY.by_member:
        copy = take_inflated(zip_backed_file._zip_file, zip_backed_file.src_record_path)
    if copy is None:
        save(zip_backed_file)
        return
    if _move_into_place(zip_backed_file, copy):
        return
    archive = zip_backed_file._zip_file
    zip_backed_file._zip_file = SpooledMember(
        archive, zip_backed_file.src_record_path, copy
    )
    try:
        save(zip_backed_file)
    finally:
        zip_backed_file._zip_file = archive
        _remove(copy)


def _move_into_place(zip_backed_file: Any, copy: str) -> bool:
    """Rename ``copy`` to the file's destination, leaving what upstream's save
    would: the member's bytes, the mode ``open()`` gives a new file (the copy
    was made the same way, by the same process), the archive's executable
    bit, and a new inode (a process that maps the old file keeps it, as after
    upstream's unlink). False, with nothing changed, when it cannot be done:
    another filesystem, or a symbolic link at the destination (upstream
    writes through a dangling one)."""
    from pip._internal.utils.unpacking import (
        set_extracted_file_to_default_mode_plus_executable,
        zip_item_is_executable,
    )

    dest = zip_backed_file.dest_path
    if os.path.islink(dest):
        return False
    try:
        os.replace(copy, dest)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _note_how_copies_are_installed("copied from another filesystem")
        return False
    _note_how_copies_are_installed("moved into place")
    zip_backed_file.written = True
    if zip_item_is_executable(zip_backed_file._getinfo()):
        set_extracted_file_to_default_mode_plus_executable(dest)
    return True


def _note_how_copies_are_installed(how: str) -> None:
    # Once per process: the same filesystems answer the same for every member.
    if _REGISTRY.install_note is None:
        _REGISTRY.install_note = how
        logger.debug("Wheel ABI check: the inflated members are %s", how)
