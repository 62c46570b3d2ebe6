"""A software prefetch for Numba kernels: ``prefetch(array, index)`` asks the CPU to bring the cache line of
``array[index]`` in, without waiting for it and without changing any value (LLVM's ``llvm.prefetch``
intrinsic, read, high temporal locality, data cache; it never faults, so an index may point anywhere).

Why: at 10^6 neurons the engine's delivery stalls on the first cache line of each spiking neuron's CSR row
(its targets and weights lie in memory at a random place, 400 + 100 bytes at fan-out 100), which
out-of-order execution cannot overlap across the ~100 scatter adds of the row before it. Asking for the
next row while the current one is added overlaps the two (``chipsim.engine._deliver``).
"""

from __future__ import annotations

import os

from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch the cache line of ``array[index]`` (1-D array, integer index; no bounds check, no effect
    on results)."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [args[1]], wraparound=False,
                                       boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # rw = 0 (read), locality = 3 (keep in all cache levels), cache type = 1 (data)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# Kernels that call prefetch run as plain Python with Numba off, or (CHIPSIM_PLAIN_PREFETCH=1) when
# tests/mutation.py has dropped their decorators and left the other modules compiled: a prefetch is then
# nothing (plain Python cannot call an intrinsic).
if config.DISABLE_JIT or os.environ.get("CHIPSIM_PLAIN_PREFETCH") == "1":
    def prefetch(array, index):  # noqa: F811
        """No-op stand-in for the intrinsic, which plain Python cannot call."""
        return None
