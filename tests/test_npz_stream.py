"""harness.npz_stream: an .npz read by sample ranges and written from scratch files, as np.load sees it."""

import numpy as np
import pytest

from harness.npz_stream import CountSpool, StoredArray, write_npz


def test_stored_array_reads_the_same_sample_ranges_as_np_load(tmp_path):
    x = np.random.default_rng(0).integers(0, 2, size=(5, 7, 3)).astype(np.uint8)
    np.savez(tmp_path / "in.npz", labels=np.arange(7), spikes=x)
    lazy = StoredArray.open(tmp_path / "in.npz", "spikes")
    assert lazy.shape == (5, 7, 3) and lazy.dtype == np.uint8 and lazy.ndim == 3
    for lo, hi in [(0, 7), (2, 5), (6, 9), (7, 7)]:
        assert np.array_equal(lazy[:, lo:hi], x[:, lo:hi])
    first = lazy.samples(4)
    assert first.shape == (5, 4, 3) and np.array_equal(first[:, 1:4], x[:, 1:4])
    assert np.array_equal(first[:, 3:10], x[:, 3:4])  # stops at the first 4


def test_compressed_or_fortran_members_are_not_read_lazily(tmp_path):
    x = np.zeros((2, 3, 4), np.float32)
    np.savez_compressed(tmp_path / "c.npz", spikes=x)
    np.savez(tmp_path / "f.npz", spikes=np.asfortranarray(x))
    assert StoredArray.open(tmp_path / "c.npz", "spikes") is None
    assert StoredArray.open(tmp_path / "f.npz", "spikes") is None


def test_spooled_rows_and_arrays_read_back_with_np_load(tmp_path):
    spool = CountSpool(tmp_path, [2, 3])
    spool.add([np.array([[1, 2]]), np.array([[3, 4, 5]])])
    spool.add([np.array([[6, 7], [8, 9]]), np.array([[10, 11, 12], [13, 14, 15]])])
    members = {f"c{i}": (file, shape, np.int32) for i, (file, shape) in spool.members().items()}
    write_npz(tmp_path / "out.npz", {"names": np.array(["a", "b"])}, members)
    spool.close()
    with np.load(tmp_path / "out.npz") as out:
        assert out["c0"].tolist() == [[1, 2], [6, 7], [8, 9]] and out["c0"].dtype == np.int32
        assert out["c1"].tolist() == [[3, 4, 5], [10, 11, 12], [13, 14, 15]]
        assert out["names"].tolist() == ["a", "b"]
    assert not spool.dir.exists()


def test_a_truncated_archive_is_an_error_not_zeros(tmp_path):
    np.savez(tmp_path / "in.npz", spikes=np.ones((3, 4, 5), np.uint8))
    lazy = StoredArray.open(tmp_path / "in.npz", "spikes")
    data = (tmp_path / "in.npz").read_bytes()
    (tmp_path / "in.npz").write_bytes(data[: lazy.offset + 30])
    with pytest.raises(OSError, match="ends inside its array"):
        lazy[:, 0:4]
