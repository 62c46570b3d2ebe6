"""Writers of tiny event datasets in their published formats, written from the format descriptions
(N-MNIST's 40-bit records, AEDAT 2.0/3.1, SHD's HDF5), independently of compress.datasets' readers.

Every sample's events sit in a class-dependent place (pixel column or channel band), so the classes are
separable; ``events_of(label, rng)`` draws them.
"""

from __future__ import annotations

import struct

import numpy as np


def events_of(label: int, rng: np.random.Generator, width: int, height: int, n: int = 300,
              span_us: int = 30_000):
    """x, y, p, t of ``n`` events in the column band of ``label`` (10 bands across the width)."""
    band = max(1, width // 10)
    x = rng.integers(label % 10 * band, label % 10 * band + band, n)
    y = rng.integers(0, height, n)
    p = rng.integers(0, 2, n)
    t = np.sort(rng.integers(0, span_us, n))
    return x, y, p, t


def nmnist_bytes(x, y, p, t) -> bytes:
    """40-bit N-MNIST records: x, y, polarity bit 7 + timestamp bits 22..16, then bits 15..0 big-endian."""
    out = bytearray()
    for xi, yi, pi, ti in zip(x, y, p, t, strict=True):
        out += bytes([int(xi), int(yi), (int(pi) << 7) | ((int(ti) >> 16) & 0x7F), (int(ti) >> 8) & 0xFF,
                      int(ti) & 0xFF])
    return bytes(out)


def write_nmnist(root, per_class=(2, 1), seed=0):
    """Train/<d>/*.bin and Test/<d>/*.bin, ``per_class`` files per digit and split."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("Train", "Test"), per_class, strict=True):
        for digit in range(10):
            folder = root / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                (folder / f"{i:05d}.bin").write_bytes(nmnist_bytes(*events_of(digit, rng, 34, 34)))
    return root


def aedat31_bytes(x, y, p, t, per_packet=25) -> bytes:
    """AEDAT 3.1: header lines, then packets (28-byte header + 8-byte polarity events), with one special
    (type 0) packet first, which a reader must skip."""
    out = [b"#!AER-DAT3.1\r\n", b"#Format: RAW\r\n", b"#Source 1: DVS128\r\n",
           b"#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n", b"#!END-HEADER\r\n"]
    out.append(struct.pack("<hhiiiiii", 0, 1, 8, 4, 0, 1, 1, 1) + struct.pack("<Ii", 0x1, 0))
    for start in range(0, len(x), per_packet):
        chunk = range(start, min(start + per_packet, len(x)))
        n = len(chunk)
        out.append(struct.pack("<hhiiiiii", 1, 1, 8, 4, 0, n, n, n))
        for i in chunk:
            data = (int(x[i]) << 17) | (int(y[i]) << 2) | (int(p[i]) << 1) | 1
            out.append(struct.pack("<Ii", data, int(t[i])))
    return b"".join(out)


def write_dvs_gesture(root, seed=0):
    """DvsGesture/: user01_fluorescent (train) and user02_led (test), each with gestures 1..11 in a row."""
    rng = np.random.default_rng(seed)
    folder = root / "DvsGesture"
    folder.mkdir(parents=True)
    for name in ("user01_fluorescent", "user02_led"):
        xs, ys, ps, ts, rows = [], [], [], [], ["class,startTime_usec,endTime_usec"]
        for label in range(1, 12):
            start = 1_000_000 + label * 100_000
            x, y, p, t = events_of(label - 1, rng, 128, 128, n=80, span_us=50_000)
            xs.append(x), ys.append(y), ps.append(p), ts.append(t + start)
            rows.append(f"{label},{start},{start + 50_000}")
        (folder / f"{name}.aedat").write_bytes(aedat31_bytes(*(np.concatenate(a) for a in (xs, ys, ps, ts))))
        (folder / f"{name}_labels.csv").write_text("\n".join(rows) + "\n")
    (folder / "trials_to_train.txt").write_text("user01_fluorescent.aedat\n")
    (folder / "trials_to_test.txt").write_text("user02_led.aedat\n")
    return root


def write_shd(root, per_class=(2, 1), seed=0, n=50):
    """shd_train.h5 / shd_test.h5 with vlen spikes/times (s), spikes/units and labels, 20 classes."""
    import h5py

    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "test"), per_class, strict=True):
        times, units, labels = [], [], []
        for label in range(20):
            for _ in range(count):
                band = 35 * label
                units.append(rng.integers(band, band + 35, n).astype(np.uint16))
                times.append(np.sort(rng.uniform(0.0, 0.8, n)).astype(np.float16))
                labels.append(label)
        with h5py.File(root / f"shd_{split}.h5", "w") as f:
            f.create_dataset("spikes/times", data=_ragged(times), dtype=h5py.vlen_dtype(np.float16))
            f.create_dataset("spikes/units", data=_ragged(units), dtype=h5py.vlen_dtype(np.uint16))
            f.create_dataset("labels", data=np.array(labels, dtype=np.uint8))
    return root


def _ragged(arrays):
    out = np.empty(len(arrays), dtype=object)
    out[:] = arrays
    return out


def aedat2_bytes(x, y, p, t) -> bytes:
    """AEDAT 2.0 of DVS128 events: '#' header lines, then big-endian (address, timestamp) pairs with
    address = y << 8 | x << 1 | p; one special event (bit 15 set) a reader must drop."""
    body = struct.pack(">II", 1 << 15, 0)
    for xi, yi, pi, ti in zip(x, y, p, t, strict=True):
        body += struct.pack(">II", (int(yi) << 8) | (int(xi) << 1) | int(pi), int(ti))
    return b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n" + body


def write_cifar10_dvs(root, per_class=3, seed=0):
    rng = np.random.default_rng(seed)
    names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    for label, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            events = events_of(label, rng, 128, 128)
            (root / name / f"cifar10_{name}_{i}.aedat").write_bytes(aedat2_bytes(*events))
    return root
