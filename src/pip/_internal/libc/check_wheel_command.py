"""``pip check-wheel``: will this wheel load here?"""

from __future__ import annotations

import os
from optparse import Values

from pip._internal.cli.base_command import Command
from pip._internal.cli.status_codes import ERROR, SUCCESS
from pip._internal.libc.host import host_libc
from pip._internal.libc.wheel_abi import (
    WheelAbiError,
    deserved_musllinux,
    host_libc_exports,
    inspect_wheel,
    running_extension_suffixes,
    wheel_abi_problems,
)
from pip._internal.utils._log import getLogger
from pip._internal.utils.logging import indent_log
from pip._internal.utils.misc import write_output

logger = getLogger(__name__)


class CheckWheelCommand(Command):
    """
    Check whether wheel files can load on this host.

    Reads the ELF files inside each wheel (bounded reads) and compares what they
    need -- machine, C library, libc symbols, glibc symbol versions -- with this
    interpreter's C library, the same check pip runs before installing a wheel.
    Exits with status 1 if any wheel cannot load here.
    """

    usage = "%prog [options] <wheel file> ..."
    ignore_require_venv = True

    def run(self, options: Values, args: list[str]) -> int:
        if not args:
            self.parser.print_usage()
            return ERROR
        host = host_libc()
        if host.family not in ("musl", "glibc"):
            logger.warning(
                "This interpreter's C library is %s: only the machine is checked.",
                host.describe(),
            )
        exports = host_libc_exports(host)
        status = SUCCESS
        for path in args:
            name = os.path.basename(path)
            try:
                abi = inspect_wheel(path)
            except (WheelAbiError, OSError) as exc:
                write_output("%s: cannot be read: %s", name, exc)
                status = ERROR
                continue
            problems = wheel_abi_problems(
                abi, host, exports, extension_suffixes=running_extension_suffixes()
            )
            if problems:
                status = ERROR
                write_output("%s: cannot load on this host (%s)", name, host.describe())
            else:
                write_output("%s: can load on this host (%s)", name, host.describe())
            with indent_log():
                for problem in problems:
                    write_output("%s", problem.message)
                if host.arch is not None and abi.members:
                    deserved = deserved_musllinux(abi, host.arch)
                    if deserved is not None:
                        # For wheel authors: the tag its libc use really needs.
                        write_output(
                            "the oldest musllinux tag its libc symbols allow: "
                            "musllinux_%d_%d",
                            *deserved,
                        )
                for member in abi.members:
                    logger.verbose(
                        "%s: %s, links %s",
                        member.name,
                        member.arch,
                        member.libc_evidence or "no libc",
                    )
                for note in abi.notes:
                    logger.verbose("%s: %s", note.member, note.message)
        return status
