# The __main__.py of pip-<version>.pyz (tools/dist.py writes it into the zip).
#
#   python pip-<version>.pyz install -r requirements.txt
#
# Nothing gets installed to run it: Python puts the archive on sys.path and runs
# this module. pip and the fork read their own data files (certifi's CA bundle, the
# musl symbol table) through importlib.resources, which reads them from the archive.
# Keep this file parseable by old Pythons (even 2.7) so that they can say what is
# wrong in one line.
import sys

if sys.version_info < (3, 10):  # noqa: UP036 - the point is to run on older ones
    # %-formatting, not an f-string: Python 2 must parse this file to say it.
    sys.exit(
        "this pip (the musl build) needs Python 3.10 or newer; this is %d.%d"  # noqa: UP031
        % sys.version_info[:2]
    )

# ``python pip.pyz`` already put the archive first on sys.path; make sure of it
# when the module is run some other way (runpy, a renamed copy).
_archive = getattr(__loader__, "archive", None)  # zipimport sets it
if _archive and _archive not in sys.path:
    sys.path.insert(0, _archive)

from pip._internal.cli.main import main  # noqa: E402

sys.exit(main())
