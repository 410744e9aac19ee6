"""``pip check-wheel``: will this wheel load here?"""

from __future__ import annotations

import json
from optparse import SUPPRESS_HELP, Values

from pip._internal.cli.base_command import Command
from pip._internal.libc.check_wheel_report import (
    BAD_INPUT,
    check_one,
    detail_lines,
    exit_status,
    host_record,
    json_record,
    verdict_line,
)
from pip._internal.libc.host import host_libc
from pip._internal.libc.wheel_abi import host_libc_exports
from pip._internal.utils._log import VERBOSE, getLogger
from pip._internal.utils.logging import indent_log
from pip._internal.utils.misc import write_output

logger = getLogger(__name__)

SKIP_OPTION = "--skip-wheel-abi-check"


class CheckWheelCommand(Command):
    """
    Check whether wheel files can load on this host.

    Reads the ELF files inside each wheel (bounded reads) and compares what they
    need -- machine, C library, libc symbols, glibc symbol versions -- with this
    interpreter's C library, the same check pip runs before installing a wheel.
    Prints one line per wheel (-v: every problem, every ELF file with its
    DT_NEEDED entries). Exit status: 0 if every wheel can load here; 1 if some
    wheel cannot load here; 2 if some file is not a wheel or cannot be read
    (or no file was given).
    """

    usage = "%prog [options] <wheel file> ..."
    ignore_require_venv = True

    def add_options(self) -> None:
        self.cmd_opts.add_option(
            "--format",
            action="store",
            dest="format",
            default="human",
            choices=("human", "json"),
            help=(
                "Output format: human (default; one line per wheel) or json (a "
                "list with one object per file; keys in the musl build's docs)."
            ),
        )
        self.parser.insert_option_group(0, self.cmd_opts)
        # The off switch of the check makes no sense on the check itself.
        skip = self.parser.get_option(SKIP_OPTION)
        if skip is not None:
            skip.help = SUPPRESS_HELP

    def _skip_given_on_command_line(self, options: Values) -> bool:
        # PIP_SKIP_WHEEL_ABI_CHECK / pip.conf are meant for installs and set the
        # default: ignore those; refuse only the option typed for this command.
        default = getattr(
            self.parser.get_default_values(), "skip_wheel_abi_check", False
        )
        return bool(getattr(options, "skip_wheel_abi_check", False)) and not default

    def run(self, options: Values, args: list[str]) -> int:
        if self._skip_given_on_command_line(options):
            logger.error(
                "%s does not apply to check-wheel: check-wheel is the check it "
                "turns off",
                SKIP_OPTION,
            )
            return BAD_INPUT
        if not args:
            logger.error(
                'You must give at least one wheel file to check (see "pip help '
                'check-wheel")'
            )
            return BAD_INPUT
        host = host_libc()
        if host.family not in ("musl", "glibc"):
            logger.warning(
                "This interpreter's C library is %s: only the machine is checked.",
                host.describe(),
            )
        exports = host_libc_exports(host)
        verdicts = [check_one(path, host, exports) for path in args]
        if options.format == "json":
            record = host_record(host)
            write_output(json.dumps([json_record(v, record) for v in verdicts]))
            return exit_status(verdicts)
        detailed = logger.isEnabledFor(VERBOSE)
        host_said = False
        for verdict in verdicts:
            if verdict.error is not None:
                # Not a verdict about loading: pip's own words, as an error.
                logger.error("%s", verdict.error)
                continue
            if not host_said:
                write_output("Host: %s", host.describe())
                host_said = True
            write_output("%s", verdict_line(verdict, detailed=detailed))
            if detailed:
                with indent_log():
                    for line in detail_lines(verdict):
                        write_output("%s", line)
        return exit_status(verdicts)
