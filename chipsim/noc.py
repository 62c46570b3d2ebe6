"""The network-on-chip: how long one time step's packets take to cross the mesh (SimPy).

Model. Routers sit on a 2-D mesh (chips side by side along x); a packet goes from its source tile to its
destination tile by dimension-order XY routing (x first, then y), as in Loihi and SANA-FE. Every directed
link between neighbouring routers is a FIFO resource (``simpy.Resource``, capacity 1) that carries
``link_bandwidth_packets_per_s`` packets per second; crossing a router adds that direction's hop latency.

Affordability: packets between the same (source core, destination core) pair in one step travel together
as a train (cut-through): the train holds each link for ``n / bandwidth``, and its head moves on to the
next link ``1 / bandwidth + hop latency`` after taking the current one. With no contention a train of
``n`` packets over ``h`` hops arrives after ``sum(hop latencies) + (h - 1 + n) / bandwidth``; trains
that share a link queue in FIFO order. So the cost of SimPy grows with the pairs that talk in a step, not
with the packets. All trains start when the step's computation ends (the step time adds compute, network
and barrier; see ``chipsim.cost``). Router buffers are unbounded (no back-pressure).

Where the profile gives no bandwidth, the network time is the longest path's hop latency, without
contention (``contention_free_time_s``). Compare SANA-FE (Boyle et al., IEEE TCAD 2025), whose "detailed"
model estimates the same contention analytically from link densities; here it is simulated.
"""

from __future__ import annotations

import numpy as np


def xy_path(src_xy: tuple[int, int], dst_xy: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Directed links (x, y, dx, dy) of the XY route from ``src_xy`` to ``dst_xy``: x first, then y."""
    (x, y), (tx, ty) = src_xy, dst_xy
    path = []
    while x != tx:
        step = 1 if tx > x else -1
        path.append((x, y, step, 0))
        x += step
    while y != ty:
        step = 1 if ty > y else -1
        path.append((x, y, 0, step))
        y += step
    return path


def contention_free_time_s(hops_ew: np.ndarray, hops_ns: np.ndarray, hop_ew_s: float,
                           hop_ns_s: float) -> float:
    """Longest hop latency among flows, s (no bandwidth limit, no contention)."""
    if hops_ew.size == 0:
        return 0.0
    return float((hops_ew * hop_ew_s + hops_ns * hop_ns_s).max())


def network_time_s(src_xy: np.ndarray, dst_xy: np.ndarray, packets: np.ndarray,
                   bandwidth_packets_per_s: float, hop_ew_s: float, hop_ns_s: float) -> float:
    """Time until the last train of one step arrives, s (SimPy, FIFO contention at every link).

    ``src_xy``/``dst_xy`` int [n_flows, 2] tile coordinates, ``packets`` int [n_flows] (zeros skipped).
    Flows start in the given order at t = 0; FIFO ties resolve in that order, so the result is
    deterministic.
    """
    if bandwidth_packets_per_s is None or bandwidth_packets_per_s <= 0:
        raise ValueError(f"link bandwidth must be > 0 packets/s, got {bandwidth_packets_per_s}")
    import simpy  # here, not at start-up: most profiles publish no link bandwidth and never get here

    env = simpy.Environment()
    links: dict[tuple[int, int, int, int], simpy.Resource] = {}
    arrivals = [0.0]
    per_packet_s = 1.0 / bandwidth_packets_per_s

    def release(link, request, after_s):
        yield env.timeout(after_s)
        link.release(request)

    def train(path, n):
        for k, key in enumerate(path):
            link = links.setdefault(key, simpy.Resource(env, capacity=1))
            request = link.request()
            yield request
            env.process(release(link, request, n * per_packet_s))
            hop_s = hop_ew_s if key[2] != 0 else hop_ns_s
            yield env.timeout((n if k == len(path) - 1 else 1) * per_packet_s + hop_s)
        arrivals.append(env.now)

    for (sx, sy), (dx, dy), n in zip(src_xy.tolist(), dst_xy.tolist(), packets.tolist(), strict=True):
        path = xy_path((sx, sy), (dx, dy))
        if n > 0 and path:
            env.process(train(path, n))
    env.run()
    return max(arrivals)
