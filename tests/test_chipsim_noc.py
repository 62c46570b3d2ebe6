"""chipsim.noc: XY routes and SimPy link contention."""

import numpy as np
import pytest

from chipsim.noc import contention_free_time_s, network_time_s, xy_path

BW = 1e9  # packets/s: 1 ns per packet per link
EW, NS = 4e-9, 6e-9


def test_xy_path_goes_x_first_then_y():
    assert xy_path((0, 0), (2, 1)) == [(0, 0, 1, 0), (1, 0, 1, 0), (2, 0, 0, 1)]
    assert xy_path((1, 1), (0, 0)) == [(1, 1, -1, 0), (0, 1, 0, -1)]
    assert xy_path((3, 2), (3, 2)) == []


def test_single_train_time_without_contention():
    # n packets over h hops: sum(hop latencies) + (h - 1 + n) / bandwidth
    t = network_time_s(np.array([[0, 0]]), np.array([[2, 1]]), np.array([5]), BW, EW, NS)
    assert t == pytest.approx(2 * EW + NS + (3 - 1 + 5) / BW)


def test_packets_through_one_link_take_longer_than_spread_out():
    # 8 sources each send 10 packets one hop east. Shared: all leave (0, 0) on the same link (two cores of
    # one tile would look the same); spread: each from its own row, on its own link.
    n = np.full(8, 10)
    shared = network_time_s(np.zeros((8, 2), int), np.tile([1, 0], (8, 1)), n, BW, EW, NS)
    rows = np.arange(8)
    spread = network_time_s(np.stack([np.zeros(8, int), rows], 1), np.stack([np.ones(8, int), rows], 1), n,
                            BW, EW, NS)
    assert spread == pytest.approx(10 / BW + EW)
    assert shared == pytest.approx(80 / BW + EW)  # FIFO: the trains cross the link one after another
    assert shared > spread


def test_zero_packets_and_zero_hops_take_no_network_time():
    t = network_time_s(np.array([[0, 0], [1, 1]]), np.array([[3, 0], [1, 1]]), np.array([0, 7]), BW, EW, NS)
    assert t == 0.0


def test_contention_free_time_is_longest_path():
    assert contention_free_time_s(np.array([1, 3]), np.array([2, 0]), EW, NS) == pytest.approx(
        max(EW + 2 * NS, 3 * EW))
    assert contention_free_time_s(np.zeros(0), np.zeros(0), EW, NS) == 0.0


def test_bandwidth_must_be_positive():
    with pytest.raises(ValueError, match="bandwidth"):
        network_time_s(np.zeros((1, 2), int), np.ones((1, 2), int), np.ones(1, int), 0.0, EW, NS)
