"""harness.npz_stream: an .npz read by sample ranges and written in place by rows, as np.load sees it."""

import zipfile

import numpy as np
import pytest

from harness.npz_stream import CountArchive, StoredArray


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


def _written(path, max_rows, chunks, arrays):
    archive = CountArchive(path, ["c0", "c1"], [2, 3], max_rows)
    for chunk in chunks:
        archive.add(chunk)
    archive.finish(arrays)
    return path


CHUNKS = [[np.array([[1, 2]]), np.array([[3, 4, 5]])],
          [np.array([[6, 7], [8, 9]]), np.array([[10, 11, 12], [13, 14, 15]])]]


@pytest.mark.parametrize("max_rows", [3, 5])  # every row laid out came, or the run stopped early
def test_rows_written_in_place_and_arrays_read_back_with_np_load_and_zipfile(tmp_path, max_rows):
    path = _written(tmp_path / "out.npz", max_rows, CHUNKS, {"names": np.array(["a", "b"])})
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every member's CRC holds
        assert sorted(zf.namelist()) == ["c0.npy", "c1.npy", "names.npy"]
    with np.load(path) as out:
        assert out["c0"].tolist() == [[1, 2], [6, 7], [8, 9]] and out["c0"].dtype == np.int32
        assert out["c1"].tolist() == [[3, 4, 5], [10, 11, 12], [13, 14, 15]]
        assert out["names"].tolist() == ["a", "b"]


def test_members_past_4_gib_carry_zip64_offsets(tmp_path):
    """A region laid out for 2^31 rows (8 GiB, never written: a hole) puts the next member past 4 GiB."""
    path = _written(tmp_path / "big.npz", 2**31, CHUNKS, {"spikes": np.ones((2, 3, 1), np.uint8)})
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.getinfo("c1.npy").header_offset > 2**32
    with np.load(path) as out:
        assert out["c1"].tolist() == [[3, 4, 5], [10, 11, 12], [13, 14, 15]]
        assert out["spikes"].sum() == 6


def test_rows_beyond_the_layout_or_of_the_wrong_width_are_refused(tmp_path):
    archive = CountArchive(tmp_path / "x.npz", ["c0"], [2], 1)
    with pytest.raises(ValueError, match="more than the 1 laid out"):
        archive.add([np.zeros((2, 2))])
    with pytest.raises(ValueError, match=r"c0.npy are \(1, 3\), expected \(1, 2\)"):
        archive.add([np.zeros((1, 3))])
    archive.close()


def test_a_truncated_archive_is_an_error_not_zeros(tmp_path):
    np.savez(tmp_path / "in.npz", spikes=np.ones((3, 4, 5), np.uint8))
    lazy = StoredArray.open(tmp_path / "in.npz", "spikes")
    data = (tmp_path / "in.npz").read_bytes()
    (tmp_path / "in.npz").write_bytes(data[: lazy.offset + 30])
    with pytest.raises(OSError, match="ends inside its array"):
        lazy[:, 0:4]
