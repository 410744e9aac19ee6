"""The first range request the check makes of each binary wheel (cases 2 and 7).

On an index without PEP 658 metadata pip downloads every candidate wheel
whole; before it does, the fork's check fetches each binary wheel's central
directory with one range request, which lets a large wheel that cannot load
be refused for a few per cent of its bytes. For a wheel that can load that
request is the one thing the check adds to the network: this measures it
alone, so the reports can put a floor under what a checking fork can reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchlib import median_child_ms

#: Through pip's own session on a connection already open, as in pip's run.
#: argv: the index's /simple/ URL, then the wheels' file names.
TAIL_REQUESTS_CHILD = """\
import json, sys, time
from pip._internal.libc.range_wheel import RangeFile
from pip._internal.network.session import PipSession
session = PipSession()
index = sys.argv[1]
session.get(index).close()  # untimed: pip's run has its connection open
packages = index.rstrip("/").rsplit("/", 1)[0] + "/packages/"
t0 = time.perf_counter()
for name in sys.argv[2:]:
    RangeFile(session, packages + name, name).close()
print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3}))
"""


def binary_wheels(house: Path) -> list[Path]:
    return sorted(p for p in house.glob("*.whl") if not p.name.endswith("-any.whl"))


def first_range_requests_ms(
    python: str | Path, wheels: Sequence[Path], url: str
) -> float:
    """Median over 5 children of the time the range requests of ``wheels``
    take from the index at ``url`` (its /simple/ URL)."""
    return median_child_ms(
        [python, "-c", TAIL_REQUESTS_CHILD, url, *(w.name for w in wheels)],
        "the range requests",
    )
