"""How chipsim's kernels are compiled: by Numba when first needed, or ahead of time where that build exists.

Every kernel is written as a plain Python function under ``@kernel(...)`` (Numba's ``njit`` options:
``cache``, ``parallel``, ``inline``, ``nogil``). Importing a kernel module imports no Numba: ``@kernel``
only records the function. Numba's names a kernel's body uses (``prange``, ``chipsim.prefetch``'s
intrinsic) are :func:`lazy` placeholders.

The first call that needs Numba (:func:`materialize`) imports it, wraps every recorded function in
``numba.njit`` with its options and, in each kernel module, puts the real objects in place of the
placeholders and :class:`Kernel` records that its kernels' bodies name, so kernels calling kernels compile
as before and load from Numba's on-disk cache as before (same functions, same files). A name only Python
code uses stays the :class:`Kernel` (its ``compiled`` and ``jit`` stay callable).

Ahead of time (``chipsim.aot``, run by ``make install``): the signatures the shipped profiles need are
compiled once into one extension module. A call whose argument types match one of them exactly runs that
compiled function, and Numba is never imported. That saves Numba's import, its registries' set-up, and the
loading of each cached kernel: about 0.33 s of a 0.73 s one-sample ``harness simulate`` on the Zen 5
machine, and 0.85 s on a slower one (docs/benchmarks.md). The compiled code is Numba's own, from the same
source, so results are bit-identical (tests/test_chipsim_kernels.py). The build is used only while it
matches: the hash of chipsim's sources, the Python, NumPy and Numba versions, and this CPU
(``chipsim.aot.fingerprint``); anything else, or ``CHIPSIM_NO_AOT=1``, or ``NUMBA_DISABLE_JIT=1``, is
Numba's JIT as before.

A compiled function runs on one thread, with the GIL released (``chipsim.aot``). So a ``parallel`` kernel
takes the ahead-of-time path only where its caller asks (:meth:`Kernel.compiled`): ``chipsim.simulate``
does, and runs the engine's samples in blocks on as many Python threads as it has workers.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np

_KERNELS: list[Kernel] = []
_state = {"done": 0}  # kernels made Numba dispatchers so far (the first ones of _KERNELS)


class Lazy:
    """A placeholder for ``module.name`` (a Numba object a kernel's body uses), replaced by the real one when
    Numba is set up (:func:`materialize`). Called from plain Python (a kernel run undecorated, as the
    mutation tests do), it calls the real object."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def real(self):
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, *args):
        return self.real()(*args)

    def __repr__(self) -> str:
        return f"lazy({self.module}.{self.name})"


def lazy(module: str, name: str) -> Lazy:
    return Lazy(module, name)


prange = lazy("numba", "prange")
"""Numba's ``prange`` for kernel bodies (``from chipsim.kernels import prange``)."""


class Kernel:
    """A kernel: its Python function, its Numba options, and once materialized its Numba dispatcher."""

    def __init__(self, py_func, options: dict, serial_ahead_of_time: bool):
        self.py_func = py_func
        self.options = options
        self.name = f"{py_func.__module__}.{py_func.__qualname__}"
        self.parallel = bool(options.get("parallel"))
        self.ahead_of_time = serial_ahead_of_time or not self.parallel
        self.dispatcher = None
        self.__doc__, self.__name__, self.__module__ = py_func.__doc__, py_func.__name__, py_func.__module__

    def __call__(self, *args):
        if not self.parallel:
            compiled = self.compiled(*args)
            if compiled is not None:
                return compiled(*args)
        return self.jit(*args)

    def compiled(self, *args):
        """The ahead-of-time function for exactly these argument types (one thread, GIL released), or
        None."""
        if not self.ahead_of_time:
            return None
        from chipsim import aot

        keys = type_keys(args)
        return None if keys is None else aot.lookup(self.name, keys)

    @property
    def jit(self):
        """The Numba dispatcher (sets Numba up on first use)."""
        materialize()
        return self.dispatcher

    def __repr__(self) -> str:
        return f"kernel({self.name})"


def kernel(serial_ahead_of_time: bool = False, **options):
    """Decorator: record a kernel with Numba ``njit`` ``options``. ``serial_ahead_of_time``: a parallel kernel
    that also gets a one-thread ahead-of-time build (:meth:`Kernel.compiled`)."""

    def wrap(func):
        k = Kernel(func, options, serial_ahead_of_time)
        _KERNELS.append(k)
        return k

    return wrap


def materialize() -> None:
    """Import Numba and make every recorded kernel its ``numba.njit`` dispatcher, in place in its module
    (idempotent; kernels of a module imported later are done at the next call, before their first run)."""
    if _state["done"] == len(_KERNELS):
        return
    import numba

    fresh = _KERNELS[_state["done"]:]
    for k in fresh:
        k.dispatcher = numba.njit(**k.options)(k.py_func)
    _state["done"] = len(_KERNELS)
    for name in sorted({k.__module__ for k in fresh}):
        module = sys.modules[name]
        used = set().union(*(_global_names(k.py_func.__code__) for k in _KERNELS if k.__module__ == name))
        for attr in sorted(used & set(vars(module))):
            value = getattr(module, attr)
            if isinstance(value, Kernel):
                setattr(module, attr, value.dispatcher)
            elif isinstance(value, Lazy):
                setattr(module, attr, value.real())


def _global_names(code) -> set[str]:
    """The names a function's code (and the code it nests) may read from its globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _global_names(const)
    return names


def type_key(value) -> str | None:
    """The argument type as Numba types it (``numba.typeof``) for what an ahead-of-time signature can take:
    arrays (dtype, dims, layout C/F/A, writable; Numba types every array as aligned) and bool/int/float
    scalars; None for anything else (that call takes Numba's JIT)."""
    if isinstance(value, np.ndarray):
        flags = value.flags
        layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
        if not value.dtype.isnative or value.dtype.hasobject or value.dtype.fields is not None:
            return None
        return f"a{value.dtype.str}{value.ndim}{layout}{'w' if flags.writeable else 'r'}"
    kind = type(value)
    if kind is bool or kind is np.bool_:
        return "?"
    if kind is int:
        return "<i8" if -(1 << 63) <= value < (1 << 63) else None
    if kind is float:
        return "<f8"
    if isinstance(value, (np.integer, np.floating)):
        return value.dtype.str
    return None


def type_keys(args) -> tuple[str, ...] | None:
    keys = tuple(type_key(a) for a in args)
    return None if None in keys else keys


def numba_type_key(numba_type) -> str | None:
    """:func:`type_key` of a value Numba types as ``numba_type`` (a compiled signature's argument)."""
    from numba.core import types
    from numba.np.numpy_support import as_dtype

    if isinstance(numba_type, types.Array):
        if not isinstance(numba_type.dtype, (types.Boolean, types.Integer, types.Float)) or \
                not numba_type.aligned:
            return None
        return f"a{as_dtype(numba_type.dtype).str}{numba_type.ndim}{numba_type.layout}" \
               f"{'w' if numba_type.mutable else 'r'}"
    if isinstance(numba_type, types.Boolean):
        return "?"
    if isinstance(numba_type, (types.Integer, types.Float)):
        return as_dtype(numba_type).str
    return None


def max_threads() -> int:
    """Numba's thread pool size (``numba.config.NUMBA_NUM_THREADS``), read as Numba reads it where Numba is
    not imported: ``NUMBA_NUM_THREADS`` if set, else the CPUs this process may run on."""
    numba = sys.modules.get("numba")
    if numba is not None and hasattr(numba, "config"):
        return int(numba.config.NUMBA_NUM_THREADS)
    import os

    try:
        default = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        default = max(1, os.cpu_count() or 1)
    try:
        return int(os.environ["NUMBA_NUM_THREADS"])
    except (KeyError, ValueError):
        return default


def num_threads() -> int:
    """The threads a parallel kernel called now would use: Numba's setting for this thread, or (Numba not
    imported, so nothing has set it) :func:`max_threads`."""
    numba = sys.modules.get("numba")
    if numba is not None and hasattr(numba, "get_num_threads"):
        return int(numba.get_num_threads())
    return max_threads()
