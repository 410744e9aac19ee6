"""One reason a wheel cannot load on a host, and the words shared by all reasons."""

from collections.abc import Iterable
from typing import Final, Literal, NamedTuple

from pip._internal.libc.host import HostLibc

ProblemKind = Literal[
    "machine",
    "libc-family",
    "glibc-version",
    "missing-symbol",
    "loader-feature",
    "malformed",
    "extension-suffix",
]

# Listed missing symbols per problem message; the rest are counted.
LISTED_SYMBOLS: Final = 5


class AbiProblem(NamedTuple):
    """A reason the wheel cannot load on the host, in one line."""

    member: str
    kind: ProblemKind
    message: str
    #: The missing symbols (kind ``missing-symbol``), most telling first.
    symbols: tuple[str, ...] = ()
    #: The libc release that would do, when one would (``(1, 2, 5)``).
    required_version: tuple[int, ...] | None = None
    #: The extension-module suffix this interpreter cannot import (kind
    #: ``extension-suffix``): ``.cpython-311-x86_64-linux-gnu.so``.
    suffix: str | None = None

    def __str__(self) -> str:
        return self.message


def version_text(version: Iterable[int]) -> str:
    return ".".join(map(str, version))


def host_text(host: HostLibc) -> str:
    return f"{host.family} {host.version_text}"
