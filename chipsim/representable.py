"""The guard on numbers a chip cannot hold: what compile refuses rather than simulate a wrong answer.

Three checks, each called with one line from :mod:`chipsim.compile`:

- :func:`check_graph`: every NIR parameter is a number the model can mean. NaN anywhere, an infinite
  weight, bias, gain or voltage, and a layer of 0 neurons are refused, naming the node and the field
  (NaN weights used to be simulated and reported as "fits"). ``+inf`` stays legal where NIR gives it a
  meaning: a time constant (no leak) and a threshold (never fires).
- :func:`check_threshold`: a fixed-point threshold must be held exactly and be reachable. One clipped to
  the chip's mantissa range changes when the neuron fires, and one at or above the top of the state range
  never fires (a 16-bit state saturates at 32767); both used to be a note.
- :func:`check_network`: the engine adds one step's synaptic input into int32 (:mod:`chipsim.engine`);
  the largest possible sum into a neuron (every incoming weight at once) must fit, or it would wrap. And a
  weight table's index is uint16: no group may hold more than 65536 distinct weights.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from chipsim.kernels import kernel
from hwprofiles.errors import UserError

INT32_MAX = 2**31 - 1
MAX_TABLE = 2**16  # compile.weight_table indexes a row with uint16
MAY_BE_INFINITE = ("tau", "tau_mem", "tau_syn", "v_threshold")  # +inf has a meaning here (no leak, no spike)
NEURON_KINDS = ("LIF", "CubaLIF", "IF", "LI")


class RepresentationError(UserError):
    """A value the chip (or the model) cannot represent: names the node or population and the value."""


def check_graph(nodes: dict) -> None:
    """Refuse NaN, unmeant infinities and empty neuron layers in ``nodes`` (name -> NIR node)."""
    for name, node in nodes.items():
        if not dataclasses.is_dataclass(node):
            continue
        for field in dataclasses.fields(node):
            value = getattr(node, field.name, None)
            if isinstance(value, bool | str) or value is None or isinstance(value, dict):
                continue
            try:
                a = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                continue
            if type(node).__name__ in NEURON_KINDS and a.size == 0:
                raise RepresentationError(f"node '{name}' ({type(node).__name__}): '{field.name}' is empty, "
                                          "a layer of 0 neurons; expected at least one neuron")
            if np.isnan(a).any():
                where = np.unravel_index(int(np.flatnonzero(np.isnan(a))[0]), a.shape) if a.ndim else ()
                raise RepresentationError(f"node '{name}': '{field.name}' holds NaN (first at index "
                                          f"{tuple(int(i) for i in where)}); expected finite numbers")
            allowed = np.isposinf(a) if field.name in MAY_BE_INFINITE else np.zeros(a.shape, bool)
            bad = np.isinf(a) & ~allowed
            if bad.any():
                first = a.ravel()[int(np.flatnonzero(bad)[0])]
                raise RepresentationError(f"node '{name}': '{field.name}' holds {first:g}; expected finite "
                                          "numbers")


def check_threshold(name: str, threshold: float, scale: float, mantissa: int, clipped: bool,
                    max_mantissa: int,
                    *, strict: bool, state_bits: int, weight_shift: int, chip: str) -> None:
    """Refuse a threshold ``threshold`` (NIR units; ``scale`` units per weight LSB) whose chip mantissa
    was clipped to ``0..max_mantissa``, or which the ``state_bits`` voltage can never pass."""
    if not math.isfinite(threshold):
        return  # +inf: a neuron that never fires, meant so (LI on a float chip is the only legal use)
    if clipped:
        raise RepresentationError(
            f"node '{name}': threshold {threshold:g} is {threshold / scale:.6g} weight LSBs; {chip} holds "
            f"threshold mantissas 0..{max_mantissa} (the weights would need a coarser scale)")
    top = 2 ** (state_bits - 1) - 1
    effective = mantissa << weight_shift
    if effective > top or (strict and effective == top):
        raise RepresentationError(
            f"node '{name}': threshold {threshold:g} is mantissa {mantissa} (x 2^{weight_shift}), beyond the "
            f"{state_bits}-bit state's top {top} on {chip}: the neuron could never fire")


def check_network(net):
    """``net``, unless it is a fixed-point ChipNetwork in which one step's input into a neuron can leave
    int32, or a weight table is wider than its uint16 index (then RepresentationError)."""
    if not net.fixed_point:
        return net
    for proj in net.projections:
        table = proj.weight_table
        if table is not None and table.ndim == 2 and table.shape[1] > MAX_TABLE:
            raise RepresentationError(f"projection '{proj.name}': {table.shape[1]} distinct weights in one "
                                      f"weight-table group; at most {MAX_TABLE} can be indexed")
    sums = [np.zeros(p.size, np.float64) for p in net.populations]
    for proj in net.projections:
        if proj.conv is not None:  # every output of a channel takes at most the whole kernel of it
            w = np.abs(np.asarray(proj.conv.weight, np.float64))
            per_channel = w.reshape(w.shape[0], -1).sum(axis=1)
            out = sums[proj.post].reshape(w.shape[0], -1)
            out += per_channel[:, None]
            continue
        _add_abs(sums[proj.post], proj.targets, proj.weights)
    for pop, total in zip(net.populations, sums, strict=True):
        if total.size and total.max() > INT32_MAX:
            i = int(np.argmax(total))
            raise RepresentationError(
                f"population '{pop.name}': neuron {i} can receive {total[i]:.6g} weight units in one step, "
                f"beyond the int32 input sum ({INT32_MAX}); use fewer weight bits")
    return net



@kernel(cache=True)
def _add_abs(total, targets, weights):
    """total[t] += |w| over the synapses (no temporary arrays: this runs over every synapse)."""
    for e in range(targets.size):
        total[targets[e]] += abs(float(weights[e]))
