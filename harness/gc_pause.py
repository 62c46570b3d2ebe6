"""Python's cyclic garbage collector paused while a command starts up.

A command's start-up (importing Numba and chipsim, Numba's registries, loading cached kernels, compiling
and placing) allocates a few hundred thousand objects that live as long as the process, and every so many
allocations CPython's collector walks all of them for cycles: about 0.1 s of a 2 s ``harness simulate``
measured here (CPU time with and without ``gc.disable()``), for garbage it does not find. :func:`paused`
turns the collector off for such a stretch and back on after it, so the rest of the command (a long test
set, whatever it allocates) is collected as usual.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """No cyclic collection inside the ``with`` block; the collector's previous state after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
