"""An .npz read and written in pieces, so a test set of any size runs in bounded memory.

``np.savez`` stores each array as an uncompressed ``.npy`` member of a zip file (NumPy's format: NEP 1).
:class:`StoredArray` reads such a member by sample ranges straight from the file (no memory map, so the
pages read are not kept resident); :class:`CountSpool` writes per-sample rows to scratch files as they come
and :func:`write_npz` copies them into an archive that ``np.load`` reads as if ``np.savez`` had made it.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip member's local file header (PKWARE APPNOTE 4.3.7)


class StoredArray:
    """A C-order [steps, batch, n] array of an uncompressed .npz member, read ``[:, lo:hi]`` at a time."""

    def __init__(self, path: str | Path, shape: tuple[int, int, int], dtype: np.dtype, offset: int,
                 stored_batch: int | None = None):
        self.path, self.shape, self.dtype, self.offset = Path(path), shape, dtype, offset
        self.ndim, self.stored_batch = 3, shape[1] if stored_batch is None else stored_batch

    @classmethod
    def open(cls, path: str | Path, key: str) -> StoredArray | None:
        """The member ``key`` of ``path`` read lazily, or None where it cannot be (compressed, Fortran order,
        not 3-D, object dtype): then load it whole."""
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(f"{key}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            head = LOCAL_HEADER.unpack(f.read(LOCAL_HEADER.size))
            f.seek(head[9] + head[10], 1)  # the file name and the extra field
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                return None
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
        if fortran or len(shape) != 3 or dtype.hasobject:
            return None
        return cls(path, tuple(int(n) for n in shape), dtype, offset)

    def samples(self, n: int) -> StoredArray:
        """The first ``n`` samples only."""
        steps, batch, width = self.shape
        return StoredArray(self.path, (steps, min(batch, n), width), self.dtype, self.offset,
                           self.stored_batch)

    def __getitem__(self, index) -> np.ndarray:
        steps_sel, batch_sel = index
        if steps_sel != slice(None) or not isinstance(batch_sel, slice) or batch_sel.step not in (None, 1):
            raise IndexError("StoredArray reads [:, lo:hi] only")
        steps, batch, width = self.shape
        lo, hi, _ = batch_sel.indices(batch)
        hi = max(lo, hi)
        row = width * self.dtype.itemsize
        out = np.empty((steps, hi - lo, width), self.dtype)
        if out.size == 0:
            return out
        with open(self.path, "rb") as f:
            for t in range(steps):
                f.seek(self.offset + (t * self.stored_batch + lo) * row)
                if f.readinto(memoryview(out[t]).cast("B")) != out[t].nbytes:
                    raise OSError(f"{self.path}: the archive ends inside its array")
        return out


class CountSpool:
    """Per-sample rows of several arrays (one per population), appended chunk by chunk to scratch files."""

    def __init__(self, folder: str | Path, widths: list[int], dtype=np.int32):
        self.dir = Path(tempfile.mkdtemp(prefix=".spool-", dir=folder))
        self.widths, self.dtype, self.rows = widths, np.dtype(dtype), 0
        self.files = [open(self.dir / f"{i}.bin", "wb") for i in range(len(widths))]  # noqa: SIM115

    def add(self, parts: list[np.ndarray]) -> None:
        """One chunk: ``parts[i]`` is [rows, widths[i]]."""
        for f, part in zip(self.files, parts, strict=True):
            f.write(np.ascontiguousarray(part, self.dtype).tobytes())
        self.rows += parts[0].shape[0]

    def members(self) -> dict[int, tuple[Path, tuple[int, int]]]:
        for f in self.files:
            f.close()
        return {i: (self.dir / f"{i}.bin", (self.rows, w)) for i, w in enumerate(self.widths)}

    def close(self) -> None:
        for f in self.files:
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_npz(path: str | Path, arrays: dict[str, np.ndarray],
              spooled: dict[str, tuple[Path, tuple[int, ...], np.dtype]]) -> None:
    """An uncompressed .npz (as ``np.savez`` writes it) of ``arrays`` and of raw C-order files ``spooled``
    (name -> (file, shape, dtype)), copied in blocks, never whole in memory."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(a), allow_pickle=False)
        for name, (file, shape, dtype) in spooled.items():
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                      "shape": tuple(shape)}
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out, open(file, "rb") as src:
                np.lib.format.write_array_header_1_0(out, header)
                shutil.copyfileobj(src, out, 16 * 2**20)
