"""Python's cyclic garbage collector paused while a command starts up.

A command's start-up (importing Numba and chipsim, Numba's registries, loading cached kernels, compiling
and placing) allocates a few hundred thousand objects that live as long as the process, and every so many
allocations CPython's collector walks all of them for cycles: about 0.1 s of a 2 s ``harness simulate``
measured here (CPU time with and without ``gc.disable()``), for garbage it does not find. :func:`paused`
turns the collector off for such a stretch and back on after it, so the rest of the command (a long test
set, whatever it allocates) is collected as usual.

Turned back on, the collector would still walk them: every one of them is in the youngest generation then,
so the first allocations after the block start a collection over all of them (0.04 s of a 0.75 s ``harness
simulate``, measured inside its "simulate" stage), and the next older generations' collections walk them
again. ``paused(keep=True)`` moves what the block left alive to the permanent generation (``gc.freeze``)
before turning the collector back on, so later collections skip it; a cycle of garbage left by the block
is then never freed (the start-up leaves little: the process holds what it built).
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused(keep: bool = False):
    """No cyclic collection inside the ``with`` block; the collector's previous state after it. ``keep``:
    the objects alive when the block ends without an error are frozen (``gc.freeze``), out of every later
    collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if keep:
            gc.freeze()
    finally:
        if enabled:
            gc.enable()
