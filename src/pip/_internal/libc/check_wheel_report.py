"""``pip check-wheel``'s verdicts: one per file, as text lines or as JSON.

The JSON keys are documented in docs/wheel-check.md and are stable: new keys may be
added, existing ones keep their name and meaning.
"""

import dataclasses
import os
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

from pip._internal.libc.host import HostLibc
from pip._internal.libc.wheel_abi import (
    AbiProblem,
    WheelAbi,
    WheelAbiError,
    deserved_musllinux,
    inspect_wheel,
    running_extension_suffixes,
    wheel_abi_problems,
)

Verdict = Literal["loads", "cannot-load", "not-a-wheel", "unreadable"]

#: Exit statuses (documented in ``pip check-wheel --help`` and the docs).
LOADS = 0
CANNOT_LOAD = 1
BAD_INPUT = 2

_STATUS: dict[Verdict, int] = {
    "loads": LOADS,
    "cannot-load": CANNOT_LOAD,
    "not-a-wheel": BAD_INPUT,
    "unreadable": BAD_INPUT,
}


class WheelVerdict(NamedTuple):
    path: str
    verdict: Verdict
    abi: WheelAbi | None = None
    problems: tuple[AbiProblem, ...] = ()
    error: str | None = None
    oldest_musllinux: str | None = None

    @property
    def file(self) -> str:
        return os.path.basename(self.path)

    @property
    def status(self) -> int:
        return _STATUS[self.verdict]


def check_one(
    path: str, host: HostLibc, exports: frozenset[str] | None
) -> WheelVerdict:
    """The verdict for the file at ``path``; never raises for a bad file."""
    from pip._internal.exceptions import InvalidWheelFilename
    from pip._internal.models.wheel import Wheel

    try:
        Wheel(os.path.basename(path))
    except InvalidWheelFilename as exc:
        # The words pip install uses for the same file.
        return WheelVerdict(path, "not-a-wheel", error=str(exc))
    try:
        abi = inspect_wheel(path)
    except WheelAbiError as exc:
        return WheelVerdict(path, "unreadable", error=str(exc))
    problems = wheel_abi_problems(
        abi, host, exports, extension_suffixes=running_extension_suffixes()
    )
    oldest = None
    if host.arch is not None and abi.members:
        deserved = deserved_musllinux(abi, host.arch)
        if deserved is not None:
            oldest = "musllinux_{}_{}".format(*deserved)
    verdict: Verdict = "cannot-load" if problems else "loads"
    return WheelVerdict(path, verdict, abi, problems, None, oldest)


def exit_status(verdicts: list[WheelVerdict]) -> int:
    """Bad input beats 'cannot load', which beats 'loads'."""
    return max((v.status for v in verdicts), default=BAD_INPUT)


# -- text ------------------------------------------------------------------------------

_SAYS: dict[Verdict, str] = {
    "loads": "can load here",
    "cannot-load": "cannot load here",
    "not-a-wheel": "not a wheel",
    "unreadable": "cannot be read",
}


def _summary(problems: tuple[AbiProblem, ...], limit: int = 1) -> str:
    text = "; ".join(p.message for p in problems[:limit])
    if len(problems) > limit:
        text += f" (and {len(problems) - limit} more, see -v)"
    return text


def verdict_line(v: WheelVerdict, *, detailed: bool) -> str:
    """The one line for a wheel. With ``detailed``, problems follow on their own
    lines, so the line does not repeat them."""
    line = f"{v.file}: {_SAYS[v.verdict]}"
    if v.error is not None:
        return f"{line}: {v.error}"
    if v.problems and not detailed:
        return f"{line}: {_summary(v.problems)}"
    return line


def detail_lines(v: WheelVerdict) -> Iterator[str]:
    """-v: each problem, each ELF file with every DT_NEEDED entry, the notes."""
    yield from (problem.message for problem in v.problems)
    if v.abi is None:
        return
    for member in v.abi.members:
        libc = f"links {member.libc}" if member.libc else "links no libc"
        evidence = member.libc_evidence
        if evidence and evidence.strip("`") not in member.needed:
            libc += f" ({evidence})"  # an interpreter or symbol versions said so
        needed = ", ".join(member.needed) or "none"
        yield f"`{member.name}`: {member.arch}, {libc}; DT_NEEDED: {needed}"
    for note in v.abi.notes:
        yield f"`{note.member}`: {note.message}"
    if v.oldest_musllinux is not None:
        # For wheel authors: the tag its libc use really needs.
        yield f"oldest musllinux tag its libc symbols allow: {v.oldest_musllinux}"


# -- JSON ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(i, int) for i in value):
            return ".".join(map(str, value))  # a version: (1, 2, 5) -> "1.2.5"
        return [_plain(i) for i in value]
    return value


def _record(item: Any) -> dict[str, Any]:
    """Every field of a record (AbiProblem, WheelNote), in plain JSON types."""
    if dataclasses.is_dataclass(item):
        names = [f.name for f in dataclasses.fields(item)]
    else:  # a NamedTuple
        names = list(getattr(item, "_fields", ()))
    return {name: _plain(getattr(item, name)) for name in names}


def problem_record(problem: AbiProblem) -> dict[str, Any]:
    record = {
        "member": problem.member,
        "kind": problem.kind,
        "message": problem.message,
        "symbols": list(problem.symbols),
        "required_version": _plain(problem.required_version),
        "suffix": getattr(problem, "suffix", None),
    }
    record.update(_record(problem))  # fields added later show up too
    return record


def host_record(host: HostLibc) -> dict[str, Any]:
    return {
        "family": host.family,
        "version": host.version_text if host.version else None,
        "arch": host.arch,
        "description": host.describe(),
    }


def json_record(v: WheelVerdict, host: dict[str, Any]) -> dict[str, Any]:
    abi = v.abi
    return {
        "file": v.file,
        "path": v.path,
        "verdict": v.verdict,
        "host": host,
        "error": v.error,
        "problems": [problem_record(p) for p in v.problems],
        "notes": [_record(n) for n in abi.notes] if abi else [],
        "elf_files": [
            {
                "name": m.name,
                "arch": m.arch,
                "libc": m.libc,
                "needed": list(m.needed),
            }
            for m in abi.members
        ]
        if abi
        else [],
        "oldest_musllinux": v.oldest_musllinux,
    }
