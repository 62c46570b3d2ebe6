"""compress.datasets: each published format read back to the frames its events make, and every broken
file a one-line DataError naming it."""

import h5py
import numpy as np
import pytest
from event_files import (
    aedat2_bytes,
    aedat31_bytes,
    nmnist_bytes,
    write_cifar10_dvs,
    write_dvs_gesture,
    write_nmnist,
    write_shd,
)

from compress.data import DataError, load_dataset
from compress.datasets import EventOptions
from compress.datasets.aedat import read_aedat2_dvs128, read_aedat31_polarity
from compress.datasets.events import bin_index, to_frames
from compress.datasets.nmnist import read_events


def test_nmnist_record_decodes_x_y_polarity_and_23_bit_timestamp(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(nmnist_bytes([3, 33], [7, 0], [1, 0], [0x7FFFFF, 258]))
    x, y, p, t = read_events(path)
    assert x.tolist() == [3, 33] and y.tolist() == [7, 0] and p.tolist() == [1, 0]
    assert t.tolist() == [2**23 - 1, 258]


def test_time_bins_split_the_span_and_count_bins_split_the_events():
    t = np.array([0, 10, 20, 30, 100])
    assert bin_index(t, EventOptions(steps=4)).tolist() == [0, 0, 0, 1, 3]  # span 100: bins of 25
    assert bin_index(t, EventOptions(steps=5, bin_by="count")).tolist() == [0, 1, 2, 3, 4]


def test_frames_are_binary_with_polarity_channels_and_downsampling():
    frames = to_frames(np.array([0, 1, 3]), np.array([0, 0, 3]), np.array([1, 1, 0]), np.array([0, 1, 2]),
                       (4, 4), EventOptions(steps=1, downsample=2))
    assert frames.shape == (1, 2, 2, 2) and frames.dtype == np.uint8
    assert frames[0, 1, 0, 0] == 1  # two ON events in one downsampled pixel: one spike, not two
    assert frames[0, 0, 1, 1] == 1 and frames.sum() == 2
    merged = to_frames(np.array([0, 3]), np.array([0, 3]), np.array([1, 0]), np.array([0, 0]), (4, 4),
                       EventOptions(steps=1, polarity=1))
    assert merged.shape == (1, 1, 4, 4) and merged.sum() == 2


def test_nmnist_folder_loads_both_splits_as_frames(tmp_path):
    data = load_dataset("nmnist", write_nmnist(tmp_path), events=EventOptions(steps=4))
    assert data.x_train.shape == (20, 4, 2, 34, 34) and data.x_test.shape == (10, 4, 2, 34, 34)
    assert data.y_train.tolist() == sorted(list(range(10)) * 2) and data.steps == 4
    assert data.input_shape == (2, 34, 34) and data.n_classes == 10 and data.variant == "T4-time-p2-d1"
    assert set(np.unique(data.x_train)) <= {0, 1}


def test_aedat31_reader_skips_special_packets_and_keeps_polarity_events(tmp_path):
    path = tmp_path / "t.aedat"
    path.write_bytes(aedat31_bytes([127, 5], [3, 126], [1, 0], [10, 2**31 - 1]))
    x, y, p, t = read_aedat31_polarity(path)
    assert x.tolist() == [127, 5] and y.tolist() == [3, 126] and p.tolist() == [1, 0]
    assert t.tolist() == [10, 2**31 - 1]


def test_dvs_gesture_cuts_each_labelled_interval_into_one_sample(tmp_path):
    options = EventOptions(steps=3, downsample=4)
    data = load_dataset("dvs-gesture", write_dvs_gesture(tmp_path), events=options)
    assert data.x_train.shape == (11, 3, 2, 32, 32) and data.y_train.tolist() == list(range(11))
    assert data.n_classes == 11 and len(data.x_test) == 11


def test_shd_files_load_as_channel_frames(tmp_path):
    data = load_dataset("shd", write_shd(tmp_path), events=EventOptions(steps=5, downsample=7))
    assert data.x_train.shape == (40, 5, 100) and data.x_test.shape == (20, 5, 100)
    assert data.input_shape == (100,) and data.n_classes == 20
    band = data.x_train[data.y_train == 3].sum(axis=(0, 1))  # units 105..139 -> channels 15..19
    assert band[15:20].sum() > 0 and band.sum() == band[15:20].sum()


def test_aedat2_dvs128_addresses_and_special_events(tmp_path):
    path = tmp_path / "c.aedat"
    path.write_bytes(aedat2_bytes([127, 0], [1, 127], [0, 1], [5, 6]))
    x, y, p, t = read_aedat2_dvs128(path)
    assert x.tolist() == [127, 0] and y.tolist() == [1, 127] and p.tolist() == [0, 1] and t.tolist() == [5, 6]


def test_cifar10_dvs_splits_each_class_nine_to_one(tmp_path):
    data = load_dataset("cifar10-dvs", write_cifar10_dvs(tmp_path, per_class=3), events=EventOptions(steps=2))
    assert len(data.x_train) == 20 and len(data.x_test) == 10 and data.input_shape == (2, 128, 128)


def _one_line(error):
    message = str(error.value)
    assert "\n" not in message and error.value.exit_code == 2
    return message


def test_nmnist_file_of_wrong_length_names_it(tmp_path):
    write_nmnist(tmp_path)
    bad = tmp_path / "Train" / "3" / "00000.bin"
    bad.write_bytes(bad.read_bytes()[:-2])
    with pytest.raises(DataError) as error:
        load_dataset("nmnist", tmp_path)
    assert str(bad) in _one_line(error) and "multiple of 5" in str(error.value)


def test_nmnist_without_test_folder_names_folder_and_layout(tmp_path):
    (tmp_path / "Train").mkdir()
    with pytest.raises(DataError) as error:
        load_dataset("nmnist", tmp_path)
    assert str(tmp_path) in _one_line(error) and "Test/" in str(error.value)


def test_dvs_gesture_truncated_packet_and_missing_labels(tmp_path):
    write_dvs_gesture(tmp_path)
    aedat = tmp_path / "DvsGesture" / "user01_fluorescent.aedat"
    aedat.write_bytes(aedat.read_bytes()[:-20])
    with pytest.raises(DataError) as error:
        load_dataset("dvs-gesture", tmp_path)
    assert str(aedat) in _one_line(error) and "more than the file holds" in str(error.value)
    (tmp_path / "DvsGesture" / "user02_led_labels.csv").unlink()
    aedat.write_bytes(aedat31_bytes([1], [1], [1], [1]))
    with pytest.raises(DataError) as error:
        load_dataset("dvs-gesture", tmp_path)
    assert "user02_led_labels.csv" in _one_line(error)


def test_aedat_of_another_version_is_refused(tmp_path):
    path = tmp_path / "x.aedat"
    path.write_bytes(b"#!AER-DAT4.0\r\n" + b"\0" * 16)
    with pytest.raises(DataError) as error:
        read_aedat31_polarity(path)
    assert "not an AEDAT 3.1 file" in _one_line(error)


def test_shd_without_labels_or_not_hdf5(tmp_path):
    write_shd(tmp_path)
    with h5py.File(tmp_path / "shd_test.h5", "a") as f:
        del f["labels"]
    with pytest.raises(DataError) as error:
        load_dataset("shd", tmp_path)
    assert "shd_test.h5" in _one_line(error) and "'labels'" in str(error.value)
    (tmp_path / "shd_train.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataError) as error:
        load_dataset("shd", tmp_path)
    assert "shd_train.h5: not an HDF5 file" in _one_line(error)


def test_missing_event_folder_says_what_it_expects(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("shd", tmp_path / "nowhere")
    assert "does not exist" in _one_line(error) and "shd_train.h5" in str(error.value)
