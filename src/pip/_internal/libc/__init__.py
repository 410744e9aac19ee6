"""libc awareness for pip: the musl build's own logic.

Everything in this package is written for the musl build of pip and is laid over
upstream pip at build time (see ``docs/building.md``). It imports only the standard
library and ``pip._vendor``, and nothing here does work at import time: pip's
start-up is a hot path, so detection runs on first use and is cached per process.
"""
