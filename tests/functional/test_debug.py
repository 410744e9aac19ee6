"""`pip debug` on interpreters without ssl (common for minimal musl builds)."""

from __future__ import annotations

from tests.lib.venvs import Venv

# Mocked: every interpreter here has ssl, so the child blocks the import the way
# an interpreter built without _ssl fails it.
WITHOUT_SSL = (
    "import sys\n"
    "sys.modules['ssl'] = None\n"
    "sys.modules['_ssl'] = None\n"
    "from pip._internal.cli.main import main\n"
    "sys.exit(main(['debug', '--verbose']))\n"
)


def test_debug_works_without_ssl(fork_venv: Venv) -> None:
    proc = fork_venv.run("-c", WITHOUT_SSL, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "truststore cannot be imported here" in proc.stdout
    assert "libc:\n  family: glibc" in proc.stdout
    assert "Compatible tags:" in proc.stdout


def test_stock_debug_crashes_without_ssl(stock_venv: Venv) -> None:
    """Recorded beside it: stock pip 26.3 dies importing truststore."""
    proc = stock_venv.run("-c", WITHOUT_SSL, check=False)
    assert proc.returncode != 0
    assert "truststore" in proc.stderr
