"""An independent Brian2 twin of a ChipNetwork, for cross-validating chipsim neuron by neuron.

Each population is a ``NeuronGroup`` whose update is written here from the equations in the
:mod:`chipsim.network` docstring (not by calling chipsim); each projection is a ``Synapses`` object with
the network's integer (or float) weights; the input is a ``SpikeGeneratorGroup``. The brian2-loihi
emulator (Michaelis et al., Front. Neuroinform. 16:1015624, 2022) is the model for this: integer state in
Brian2 variables and a schedule chosen so Brian2's step matches the chip's.

Fixed point. States are float64 variables that hold integers (exact below 2^53; a 24-bit state times a
12-bit decay stays below 2^37). ``x >>0 D`` (toward zero) is ``sign(x)*floor(abs(x)/2**D)``; ``>>`` (floor)
is ``floor(x/2**D)``; saturation is ``clip``. All parameters are shared constants, so one compiled code
object serves every population of a model (Brian2's cython cache then makes repeated runs quick).

Float. Brian2 integrates the NIR equations itself with its ``euler`` or ``exact`` state updater; the
synaptic input of a step is held constant over the step (zero-order hold), which is what chipsim's
discretisations assume.

Schedule. Everything runs in Brian2's ``groups`` slot, ordered per population ``k`` (topological order):
``10k+0`` clear input / refractory bookkeeping, ``10k+1`` every pathway into ``k``, ``10k+3`` the state
update, ``10k+5`` threshold, ``10k+6`` reset. A pathway whose source comes earlier delivers the spikes of
this step (source's threshold already ran); a pathway whose source is ``k`` itself or later reads the
source's spike space before the source's threshold runs, so it delivers the previous step's spikes:
exactly chipsim's next-step recurrent delivery. A projection's ``delay_steps`` (the chip's synaptic delay,
e.g. Loihi's one step) becomes a Brian2 synaptic ``delay`` of whole steps on top of that (one step less for
a pathway that already reads last step's spikes), so a spike of step t is added in step t + d.

Deviations: conv projections are expanded to explicit synapses (Brian2 has no kernel form); a batch is
run one sample after another.
"""

from __future__ import annotations

import os
import pathlib
import time
from dataclasses import dataclass

import numpy as np

from chipsim.network import ChipNetwork, ConvKernel, NeuronParams, Projection

FLOAT_METHODS = ("euler", "exact")
TARGETS = ("cython", "numpy")


@dataclass(frozen=True)
class Brian2Run:
    """What Brian2 produced for one sample: spikes and (optionally) states after each step, per population.

    ``spikes[p]`` is bool [steps, size]; ``v[p]``/``u[p]`` are float64 [steps, size] or None (population 0,
    the input, has no state; ``u`` is None for models without a current).
    """

    spikes: tuple[np.ndarray, ...]
    v: tuple[np.ndarray | None, ...]
    u: tuple[np.ndarray | None, ...]
    run_s: float  # wall time of Brian2's run() (compilation excluded where the cache was warm)


def cache_dir() -> pathlib.Path:
    """Brian2's cython cache: $BRIAN2_CACHE_DIR, else ~/.cache/chipfit/brian2."""
    env = os.environ.get("BRIAN2_CACHE_DIR")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "chipfit" / "brian2"


def configure(target: str = "cython") -> None:
    """Select Brian2's code-generation target and the compiled-code cache; keep Brian2 quiet."""
    if target not in TARGETS:
        raise ValueError(f"unknown Brian2 target '{target}'; known: {', '.join(TARGETS)}")
    import brian2
    from brian2.utils.logger import BrianLogger

    brian2.prefs.codegen.target = target
    if target == "cython":
        path = cache_dir()
        path.mkdir(parents=True, exist_ok=True)
        brian2.prefs.codegen.runtime.cython.cache_dir = str(path)
    brian2.prefs.logging.file_log = False
    BrianLogger.log_level_error()


def conv_to_csr(conv: ConvKernel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand a kernel into (pre, post, weight) synapse lists over C-order flattened (C, H, W) neurons.

    out[co, y, x] = sum_{ci, ky, kx} w[co, ci, ky, kx] * in[ci, y*sy - py + ky, x*sx - px + kx].
    """
    c_out, c_in, kh, kw = conv.weight.shape
    _, h_in, w_in = conv.in_shape
    _, h_out, w_out = conv.out_shape
    (sy, sx), (py, px) = conv.stride, conv.padding
    co, ci, ky, kx, y, x = np.meshgrid(np.arange(c_out), np.arange(c_in), np.arange(kh), np.arange(kw),
                                       np.arange(h_out), np.arange(w_out), indexing="ij")
    iy, ix = y * sy - py + ky, x * sx - px + kx
    w = conv.weight[co, ci, ky, kx]
    keep = (iy >= 0) & (iy < h_in) & (ix >= 0) & (ix < w_in) & (w != 0)
    pre = (ci * h_in + iy) * w_in + ix
    post = (co * h_out + y) * w_out + x
    return pre[keep].ravel(), post[keep].ravel(), w[keep].ravel()


def synapse_lists(proj: Projection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pre, post, weight) of every synapse of a projection, CSR or kept conv kernel."""
    if proj.conv is not None and proj.targets.size == 0:
        return conv_to_csr(proj.conv)
    counts = np.diff(proj.indptr)
    pre = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    return pre, proj.targets.astype(np.int64), np.asarray(proj.weights)


def _signed_range(bits: int | None) -> tuple[float, float]:
    if bits is None:
        return -np.inf, np.inf
    return float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)


# Fixed-point updates, one per model, from chipsim.network's docstring. ``refr`` is 1 during a
# refractory step (v held, input ignored for v, no spike); rc counts refractory steps left.
_BOOKKEEPING = "refr = int(rc > 0)\nrc = rc - refr\n"
_FIXED_UPDATE = {
    "loihi_cuba": (  # Lava PyLifModelBitAcc: the current decays by du + 1 and wraps once into [u_min, u_max]
        "u_dec = u * (scale_d - decay_u - 1)\n"
        "u_raw = sign(u_dec) * floor(abs(u_dec) / scale_d) + inp * scale_w\n"
        "u = u_raw - (u_max - u_min + 1) * int(u_raw > u_max) + (u_max - u_min + 1) * int(u_raw < u_min)\n"
        "v_dec = v * (scale_d - decay_v)\n"
        "v_new = clip(sign(v_dec) * floor(abs(v_dec) / scale_d) + u + bias, v_min, v_max)\n"
    ),
    "truenorth_lif": "v_new = clip(v + inp + bias - decay_v, v_min, v_max)\n",
    "xylo_shift": (
        "u = clip(u - floor(u / 2.0**decay_u) + inp, u_min, u_max)\n"
        "v_new = clip(v - floor(v / 2.0**decay_v) + u + bias, v_min, v_max)\n"
    ),
    "speck_iaf": "v_new = clip(v + inp + bias, v_min, v_max)\n",
}
_HOLD = "v = refr * v + (1 - refr) * v_new\ninp = 0\n"
_STRICT = {"loihi_cuba": True, "truenorth_lif": False, "xylo_shift": False, "speck_iaf": False,
           "float_lif": True}  # spike if v > threshold (True) or v >= threshold (False)

_VARIABLES = """
v : 1
u : 1
inp : 1
bias : 1
rc : 1
refr : 1
scale_d : 1 (shared, constant)
scale_w : 1 (shared, constant)
decay_u : 1 (shared, constant)
decay_v : 1 (shared, constant)
u_min : 1 (shared, constant)
u_max : 1 (shared, constant)
v_min : 1 (shared, constant)
v_max : 1 (shared, constant)
th : 1 (shared, constant)
v_reset_value : 1 (shared, constant)
refractory_steps : 1 (shared, constant)
"""

# Float: the current and the membrane are two groups, integrated by Brian2 one after the other (the current
# first, the membrane then sees the new current as a constant over the step), as chipsim's discretisation
# does. The bias is a constant input current, added to the synaptic input before w_in.
_FLOAT_CURRENT = """
inp : 1
bias : 1
w_in : 1 (shared, constant)
tau_syn : second (shared, constant)
"""
_FLOAT_MEMBRANE = """
u : 1 (linked)
rc : 1
refr : 1
th : 1 (shared, constant)
v_reset_value : 1 (shared, constant)
refractory_steps : 1 (shared, constant)
r : 1 (shared, constant)
v_leak : 1 (shared, constant)
tau_mem : second (shared, constant)
"""


def _spike_rules(p: NeuronParams) -> tuple[str, str]:
    """(threshold, reset code): no spike while refractory; reset, then start the refractory count."""
    threshold = ("v > th" if _STRICT[p.model] else "v >= th") + " and refr == 0"
    reset = ("v = v - th" if p.reset == "subtract" else "v = v_reset_value") + "\nrc = refractory_steps"
    return threshold, reset


def _schedule(group, k: int, update_order: int = 3) -> None:
    """State update at 10k+3, threshold at 10k+5, reset at 10k+6, all in the 'groups' slot."""
    parts = [(group.state_updater, update_order)]
    if "spike" in group.thresholder:
        parts += [(group.thresholder["spike"], 5), (group.resetter["spike"], 6)]
    for obj, offset in parts:
        obj.when, obj.order = "groups", 10 * k + offset


def _fixed_group(p: NeuronParams, size: int, bias: np.ndarray, k: int, shifted: dict[int, int] | None = None):
    """Population k in fixed point: one group, one run_regularly update with the model's integer equations.

    ``shifted`` {projection j: k}: projections whose own sum is floored by 2^k (Loihi's negative weight
    exponents); each adds into its own variable ``inp_j``, floored into ``inp`` before the update."""
    import brian2

    threshold, reset = _spike_rules(p)
    shift = 2**p.weight_shift if p.model == "loihi_cuba" else 1
    shifted = shifted or {}
    variables = _VARIABLES + "".join(f"inp_{j} : 1\n" for j in shifted)
    floors = "".join(f"inp = inp + floor(inp_{j} / {2**s})\ninp_{j} = 0\n" for j, s in shifted.items())
    group = brian2.NeuronGroup(size, variables, threshold=threshold, reset=reset, name=f"pop{k}")
    _schedule(group, k)
    group.bias = np.asarray(bias, dtype=np.float64)
    group.th = float(p.threshold) * shift
    group.v_reset_value = float(p.v_reset)
    group.refractory_steps = float(p.refractory_steps)
    group.scale_d = float(2 ** (p.decay_bits or 0))
    group.scale_w = float(shift)
    group.decay_u, group.decay_v = float(p.decay_u), float(p.decay_v)
    u_min, u_max = _signed_range(p.current_bits if p.current_bits is not None else p.state_bits)
    v_min, v_max = _signed_range(p.state_bits)
    if p.model == "loihi_cuba":  # Lava: u in (-2^(b-1), 2^(b-1)], v >= -2^(b-1) + 1
        u_min, u_max, v_min = u_min + 1, u_max + 1, v_min + 1
    group.u_min, group.u_max, group.v_min, group.v_max = u_min, u_max, v_min, v_max
    group.run_regularly(floors + _BOOKKEEPING + _FIXED_UPDATE[p.model] + _HOLD, when="groups",
                        order=10 * k + 3, name=f"pop{k}_update")
    return group, group, []


def _float_groups(p: NeuronParams, size: int, bias: np.ndarray, k: int, method: str):
    """Population k in float: (membrane group that spikes, current group that takes input, extra objects)."""
    import brian2

    if method not in FLOAT_METHODS:
        raise ValueError(f"unknown float integrator '{method}'; known: {', '.join(FLOAT_METHODS)}")
    cuba = 0 < p.tau_syn_s < np.inf
    current_eq = "du/dt = (w_in * (inp + bias) - u) / tau_syn : 1\n" if cuba else "u : 1\n"
    current_eqs = current_eq + _FLOAT_CURRENT
    current = brian2.NeuronGroup(size, current_eqs, method=method if cuba else None, name=f"pop{k}_current")
    _schedule(current, k, update_order=2)
    current.bias = np.asarray(bias, dtype=np.float64)
    current.w_in = p.w_in
    current.tau_syn = (p.tau_syn_s if cuba else 1.0) * brian2.second
    current.run_regularly("inp = 0", when="groups", order=10 * k, name=f"pop{k}_clear")
    if not cuba:  # a plain LIF / IF: the current is the input itself
        current.run_regularly("u = w_in * (inp + bias)", when="groups", order=10 * k + 2,
                              name=f"pop{k}_input")
    if np.isfinite(p.tau_mem_s):
        membrane_eq = "dv/dt = (1 - refr) * (v_leak - v + r * u) / tau_mem : 1\n"
    else:  # IF: dv/dt = r*I is constant over the step: Euler is its exact solution (Brian2's 'exact' refuses)
        membrane_eq = "dv/dt = (1 - refr) * r * u / second : 1\n"
        method = "euler"
    threshold, reset = _spike_rules(p)
    membrane = brian2.NeuronGroup(size, membrane_eq + _FLOAT_MEMBRANE, threshold=threshold, reset=reset,
                                  method=method, name=f"pop{k}")
    _schedule(membrane, k)
    membrane.u = brian2.linked_var(current, "u")
    membrane.th, membrane.v_reset_value = float(p.threshold), float(p.v_reset)
    membrane.refractory_steps = float(p.refractory_steps)
    membrane.r, membrane.v_leak = p.r, p.v_leak
    membrane.tau_mem = (p.tau_mem_s if np.isfinite(p.tau_mem_s) else 1.0) * brian2.second
    membrane.v = 0.0
    membrane.run_regularly(_BOOKKEEPING, when="groups", order=10 * k, name=f"pop{k}_refractory")
    return membrane, current, [current]


def brian2_delay_steps(proj: Projection) -> int:
    """Brian2's synaptic delay for ``proj``, in steps, so a spike of step t is added in step t + d.

    A pathway from an earlier population reads this step's spikes, so its delay is d itself; one from the
    population itself or a later one reads last step's spikes, which already is one step (d - 1)."""
    d = int(proj.delay_steps)
    if proj.pre >= proj.post:
        return max(d, 1) - 1
    return d


def build(net: ChipNetwork, float_method: str | None = None):
    """Brian2 objects for ``net``: (input, [spiking group per population], [every other object]). Not run."""
    import brian2

    n_in = net.populations[0].size
    source = brian2.SpikeGeneratorGroup(n_in, np.zeros(0, dtype=int), np.zeros(0) * brian2.second,
                                        when="groups", order=0, name="pop0")
    groups, targets, others = [source], [source], []
    for k, pop in enumerate(net.populations[1:], start=1):
        if pop.params.model == "float_lif":
            made = _float_groups(pop.params, pop.size, pop.bias, k, float_method or pop.params.integrator)
        else:
            shifted = {j: int(pr.input_shift) for j, pr in enumerate(net.projections)
                       if pr.post == k and pr.input_shift}
            made = _fixed_group(pop.params, pop.size, pop.bias, k, shifted)
        groups.append(made[0])
        targets.append(made[1])
        others.extend(made[2])
    synapses = []
    for j, proj in enumerate(net.projections):
        pre, post, w = synapse_lists(proj)
        if pre.size == 0:  # Brian2 cannot connect an empty list (small random nets draw some)
            continue
        into = f"inp_{j}" if proj.input_shift else "inp"
        syn = brian2.Synapses(groups[proj.pre], targets[proj.post], "w : 1", on_pre=f"{into}_post += w",
                              name=f"proj{j}")
        syn.connect(i=pre.astype(np.int32), j=post.astype(np.int32))
        syn.w = np.asarray(w, dtype=np.float64)
        syn.pre.when = "groups"
        syn.pre.order = 10 * proj.post + 1
        delay = brian2_delay_steps(proj)
        if delay:
            syn.delay = delay * net.dt_s * brian2.second
        synapses.append(syn)
    return source, groups, others + synapses


def run(net: ChipNetwork, input_spikes: np.ndarray, *, target: str = "cython", record_state: bool = False,
        float_method: str | None = None) -> list[Brian2Run]:
    """Run ``net`` in Brian2 on ``input_spikes`` (bool [steps, batch, n_in] or [steps, n_in]), one sample
    after another."""
    import brian2

    configure(target)
    x = np.asarray(input_spikes).astype(bool)
    if x.ndim == 2:
        x = x[:, None, :]
    steps, batch, n_in = x.shape
    if n_in != net.populations[0].size:
        raise ValueError(f"input has {n_in} channels; the network's input population has "
                         f"{net.populations[0].size}")
    dt = net.dt_s * brian2.second
    brian2.defaultclock.dt = dt
    source, groups, synapses = build(net, float_method)
    spike_mons = [brian2.SpikeMonitor(g, name=f"spikes{k}") for k, g in enumerate(groups)]
    state_mons = []
    if record_state:
        for k, g in enumerate(groups[1:], start=1):
            state_mons.append(brian2.StateMonitor(g, ["v", "u"], record=True, when="end",
                                                  name=f"state{k}"))
    network = brian2.Network(*groups, *synapses, *spike_mons, *state_mons)
    network.store("initial")
    runs = []
    for b in range(batch):
        network.restore("initial")
        t_idx, n_idx = np.nonzero(x[:, b, :])
        source.set_spikes(n_idx.astype(int), (t_idx * net.dt_s) * brian2.second)
        start = time.perf_counter()
        network.run(steps * dt)
        run_s = time.perf_counter() - start
        runs.append(_collect(net, steps, spike_mons, state_mons, run_s))
    return runs


def _collect(net, steps, spike_mons, state_mons, run_s) -> Brian2Run:
    spikes, vs, us = [], [None], [None]
    for pop, mon in zip(net.populations, spike_mons, strict=True):
        raster = np.zeros((steps, pop.size), dtype=bool)
        t_steps = np.rint(np.asarray(mon.t_) / mon.clock.dt_).astype(np.int64)
        raster[t_steps, np.asarray(mon.i, dtype=np.int64)] = True
        spikes.append(raster)
    for mon in state_mons:
        vs.append(np.asarray(mon.v).T[:steps].copy())
        us.append(np.asarray(mon.u).T[:steps].copy())
    if not state_mons:
        vs = us = [None] * len(net.populations)
    return Brian2Run(tuple(spikes), tuple(vs), tuple(us), run_s)
