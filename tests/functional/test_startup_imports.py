"""What the fork adds to pip's start-up path, compared with stock pip 26.3.

In sibling venvs of the same interpreter (glibc host CPython and the musl
CPython), a fresh process imports ``compatibility_tags`` and calls
``get_supported()``; it records the modules that appear and every regular
expression compiled (``re``'s compiler, called only on a cache miss). The fork
may add its own small modules and nothing else: no ``sysconfig``,
``dataclasses``, ``subprocess`` or ``pip._vendor.rich`` that stock does not
import itself, and no regular expression stock does not compile.
"""

from __future__ import annotations

import json

import pytest

from tests.lib.venvs import Venv

PROBE = """
import json, sys
try:
    import re._compiler as compiler
except ImportError:  # Python 3.10
    import sre_compile as compiler
compiled = []
original = compiler.compile
def counting(pattern, flags=0):
    compiled.append(repr(pattern))
    return original(pattern, flags)
compiler.compile = counting
before = set(sys.modules)
from pip._internal.utils.compatibility_tags import get_supported
get_supported()
print(json.dumps({"modules": sorted(set(sys.modules) - before), "compiled": compiled}))
"""

FORK_MODULES = {
    "pip._internal.libc",
    "pip._internal.libc.tag_patches",
    "pip._internal.libc.host",
    "pip._internal.libc.elf_ident",
}
#: Only a musl host reads the loader image and ranks musl tags.
MUSL_ONLY = {"pip._internal.libc.musl_version", "pip._internal.libc.tags"}
#: Reading the interpreter's ELF header: not needed where glibc says it is there.
DETECTION = {"pip._internal.libc.host", "pip._internal.libc.elf_ident"}
NEVER = ("sysconfig", "dataclasses", "subprocess", "pip._vendor.rich")


def _probe(venv: Venv) -> dict[str, list[str]]:
    out = venv.run("-c", PROBE).stdout.strip().splitlines()[-1]
    result: dict[str, list[str]] = json.loads(out)
    return result


def _compare(fork: Venv, stock: Venv, allowed: set[str]) -> None:
    ours, theirs = _probe(fork), _probe(stock)
    extra = set(ours["modules"]) - set(theirs["modules"])
    assert extra <= allowed, sorted(extra - allowed)
    for name in NEVER:
        if name not in theirs["modules"]:
            assert name not in ours["modules"], name
    assert set(ours["compiled"]) <= set(theirs["compiled"]), sorted(
        set(ours["compiled"]) - set(theirs["compiled"])
    )


def test_glibc_start_up_adds_only_fork_modules(
    fork_venv: Venv, stock_venv: Venv
) -> None:
    _compare(fork_venv, stock_venv, FORK_MODULES)
    # glibc answers its own confstr name: no ELF read, no detection module.
    assert not (MUSL_ONLY | DETECTION) & set(_probe(fork_venv)["modules"])


@pytest.mark.musl
def test_musl_start_up_adds_only_fork_modules(
    musl_fork_venv: Venv, musl_stock_venv: Venv
) -> None:
    _compare(musl_fork_venv, musl_stock_venv, FORK_MODULES | MUSL_ONLY)


IMPORT_PIP = """
import json, sys
before = set(sys.modules)
import pip
print(json.dumps({"modules": sorted(set(sys.modules) - before), "version": pip.__version__}))
"""


def test_import_pip_loads_what_stock_loads(fork_venv: Venv, stock_venv: Venv) -> None:
    # Tools read pip.__version__ with a bare `import pip`: the fork's version is
    # written in at build time, so that import loads no more than upstream's
    # (a wrapper imported at run time would pull in all of pip._internal).
    ours, theirs = (
        json.loads(venv.run("-c", IMPORT_PIP).stdout.strip().splitlines()[-1])
        for venv in (fork_venv, stock_venv)
    )
    assert ours["modules"] == theirs["modules"]
    assert ours["version"].startswith(theirs["version"] + "+musl.")


CHECK_IMPORTS = """
import json, sys, typing
import pip._internal.commands.install
try:
    import re._compiler as compiler
except ImportError:  # Python 3.10
    import sre_compile as compiler
compiled, forward_refs = [], []
original_compile = compiler.compile
def counting_compile(pattern, flags=0):
    compiled.append(repr(pattern))
    return original_compile(pattern, flags)
compiler.compile = counting_compile
original_init = typing.ForwardRef.__init__
def counting_init(self, arg, *args, **kwargs):
    forward_refs.append(arg)
    original_init(self, arg, *args, **kwargs)
typing.ForwardRef.__init__ = counting_init
import pip._internal.libc.install_check
import pip._internal.libc.candidate_check
import pip._internal.libc.range_check
import pip._internal.libc.finder_notes
import pip._internal.libc.inflated_members
print(json.dumps({"compiled": compiled, "forward_refs": forward_refs}))
"""

def test_the_checks_imports_compile_nothing(fork_venv: Venv) -> None:
    # What every install on a musl host imports once it judges a wheel: the
    # name rules are string methods, and every named tuple is made from
    # evaluated annotations (a string annotation becomes a typing.ForwardRef,
    # one compile() per field: 136 of them two releases ago, 13 before this).
    # One is left: ElfFile.symbols names SymbolTable, whose module imports the
    # module of ElfFile (the layouts it reads with).
    out = fork_venv.run("-c", CHECK_IMPORTS).stdout.strip().splitlines()[-1]
    result = json.loads(out)
    assert result["compiled"] == []
    assert result["forward_refs"] == ["SymbolTable"]


COMMAND_MODULES = """
import contextlib, io, json, sys
from pip._internal.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("pip._internal.libc"))))
"""

#: What `pip --version` and `pip list` import of the fork: the patches of the
#: modules every command imports, and no more (the resolver's wrappers, the
#: check and the detection wait for a command that needs them).
COMMAND_FORK_MODULES = [
    "pip._internal.libc",
    "pip._internal.libc.build_failure_patches",
    "pip._internal.libc.patches",
    "pip._internal.libc.tag_patches",
]


@pytest.mark.parametrize("command", [["--version"], ["list"]])
def test_commands_that_resolve_nothing_import_only_the_patches(
    fork_venv: Venv, command: list[str]
) -> None:
    out = fork_venv.run("-c", COMMAND_MODULES, *command).stdout.strip()
    assert json.loads(out.splitlines()[-1]) == COMMAND_FORK_MODULES
