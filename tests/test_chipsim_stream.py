"""chipsim.simulate.simulate_stream: a test set in chunks gives what one call gives, in bounded memory."""

import numpy as np
import pytest
from test_chipsim_place_reference import conv_graph

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import SimulationInputError, prepare, simulate, simulate_stream

LOIHI = hwprofiles.load("loihi")


@pytest.fixture(scope="module")
def setup():
    net = compile_graph(conv_graph(2, (10, 10), [(6, 1), (8, 2)], readout=4), LOIHI, dt_s=1e-3)
    prep = prepare(net, place(net, LOIHI))
    rng = np.random.default_rng(0)
    x = (rng.random((12, 11, net.populations[0].size)) < 0.3).astype(np.uint8)  # [steps, batch, n_in]
    return prep, x, simulate(prep, None, x)


COUNTERS = ("synops", "neuron_updates_active", "neuron_updates_idle", "spikes_out", "packets_out",
            "packets_in", "hops_ew", "hops_ns")


@pytest.mark.parametrize(("workers", "chunk"), [(1, 1), (1, 4), (2, 3), (2, 11)])
def test_chunks_and_workers_change_nothing(setup, workers, chunk):
    prep, x, whole = setup
    s = simulate_stream(prep, None, x, workers=workers, chunk_size=chunk, traced_samples=3)
    assert s.batch == 11 and s.synops.shape[0] == 3
    for name in COUNTERS:
        assert s.total(name) == whole.total(name), name
        np.testing.assert_array_equal(getattr(s, name), getattr(whole, name)[:3])
    np.testing.assert_array_equal(s.output_spikes, whole.output_spikes)
    np.testing.assert_array_equal(s.pair_packets, whole.pair_packets[:3])
    for a, b in zip(s.spike_counts, whole.spike_counts, strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_per_sample_counts_one_row_holds_the_sum(setup):
    prep, x, whole = setup
    s = simulate_stream(prep, None, x, chunk_size=4, per_sample_counts=False)
    for a, b in zip(s.spike_counts, whole.spike_counts, strict=True):
        assert a.shape == (1, b.shape[1])
        np.testing.assert_array_equal(a[0], b.sum(axis=0))


def test_progress_is_reported_per_chunk_and_stop_ends_early(setup):
    prep, x, whole = setup
    seen = []
    s = simulate_stream(prep, None, x, chunk_size=4, progress=lambda d, t: seen.append((d, t)),
                        stop=lambda counts: counts.shape[0] >= 8)
    assert seen == [(4, 11), (8, 11)] and s.batch == 8
    np.testing.assert_array_equal(s.output_spikes, whole.output_spikes[:, :8])


def test_more_workers_than_cores_is_a_user_error(setup):
    import numba

    prep, x, _ = setup
    with pytest.raises(SimulationInputError, match="workers must be"):
        simulate_stream(prep, None, x, workers=numba.config.NUMBA_NUM_THREADS + 1)


class _Chunked:
    """An input read only as x[:, lo:hi] (a file read by sample ranges), recording the widest read."""

    def __init__(self, x):
        self.x, self.shape, self.dtype, self.ndim, self.widest = x, x.shape, x.dtype, x.ndim, 0

    def __getitem__(self, index):
        _, batch = index
        part = self.x[:, batch]
        self.widest = max(self.widest, part.shape[1])
        return part


def test_an_input_read_by_sample_ranges_gives_the_same_activity_and_streams_its_counts(setup, monkeypatch):
    monkeypatch.setattr("chipsim.simulate.SCAN_SAMPLES", 3)
    prep, x, whole = setup
    lazy, seen = _Chunked(x), []
    s = simulate_stream(prep, None, lazy, workers=1, chunk_size=4, steps=14, per_sample_counts=False,
                        on_counts=lambda lo, hi, c: seen.append((lo, hi, c.copy())))
    padded = simulate(prep, None, x, steps=14)
    np.testing.assert_array_equal(s.output_spikes, padded.output_spikes)
    assert [(lo, hi) for lo, hi, _ in seen] == [(0, 4), (4, 8), (8, 11)]
    np.testing.assert_array_equal(np.concatenate([c for _, _, c in seen]),
                                  np.concatenate(padded.spike_counts, axis=1))
    assert s.total("synops") == padded.total("synops") and whole.total("synops") > 0
    assert lazy.widest == 4  # the input scan (3) and the chunks (4): never the whole test set at once
