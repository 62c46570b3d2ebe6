"""An .npz read and written in pieces, so a test set of any size runs in bounded memory.

``np.savez`` stores each array as an uncompressed ``.npy`` member of a zip file (NumPy's format: NEP 1).
:class:`StoredArray` reads such a member by sample ranges straight from the file (no memory map, so the
pages read are not kept resident); :class:`CountArchive` writes per-sample rows straight to their place in
the output archive as they come, then the small arrays and the zip directory, so that ``np.load`` reads it
as if ``np.savez`` had made it.

Written once, in place: the rows were first spooled to scratch files and copied into the archive at the
end, which wrote every byte twice; with 335 MB of counts (1,024 samples of an 82k-neuron net) the second
write waited on the disk behind the first one's dirty pages and took 1.25 s after the run (wall, quiet
machine), 0.06 s of it the CRC. Each counts member is laid out for every sample (its local header, then a
``.npy`` header padded to the length the largest row count needs, then its rows); a run that stops early
(``--ci``) leaves the rest of its region unwritten (a hole in the file), which the zip directory does not
point at. Members carry ZIP64 sizes (PKWARE APPNOTE 4.3.9), as ``np.savez`` writes a large one.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip member's local file header (PKWARE APPNOTE 4.3.7)
CENTRAL_HEADER = struct.Struct("<4sHHHHHHIIIHHHHHII")  # its central directory header (4.3.12)
ZIP64_LOCAL_EXTRA = struct.Struct("<HHQQ")  # zip64 extended information: sizes (4.5.3)
ZIP64_CENTRAL_EXTRA = struct.Struct("<HHQQQ")  # ... sizes and the local header's offset
ZIP64_END = struct.Struct("<4sQHHIIQQQQ")  # zip64 end of central directory record (4.3.14)
ZIP64_LOCATOR = struct.Struct("<4sIQI")  # zip64 end of central directory locator (4.3.15)
END = struct.Struct("<4sHHHHIIH")  # end of central directory record (4.3.16)
ZIP64_VERSION = 45  # "version needed to extract" for ZIP64 (4.4.3)
NPY_ALIGN = 64  # np.lib.format pads a .npy header so the data starts on a multiple of 64 bytes


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


def _npy_header(dtype: np.dtype, shape: tuple[int, ...], length: int | None = None) -> bytes:
    """A ``.npy`` format 1.0 header (NEP 1) for a C-order array, padded with spaces to ``length`` bytes (by
    default the next multiple of 64, as NumPy pads it)."""
    text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                 "shape": tuple(int(n) for n in shape)}).encode("latin1")
    need = 10 + len(text) + 1  # magic, version, HEADER_LEN, the dict, the newline
    length = -(-need // NPY_ALIGN) * NPY_ALIGN if length is None else length
    if need > length or length - 10 > 0xFFFF:
        raise ValueError(f"a .npy header of {need} bytes does not fit in {length}")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", length - 10) + text + b" " * (length - need) + b"\n"


def _dos_time(seconds: float) -> tuple[int, int]:
    """(time, date) of a zip header in MS-DOS form, local time, as zipfile stamps what it writes."""
    t = time.localtime(seconds)
    clock = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    return clock, ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


class CountArchive:
    """An uncompressed .npz written in place at ``path``: per-sample rows of int32 members (one per name,
    ``widths[i]`` columns, at most ``max_rows`` rows) written at their final offsets as they come
    (:meth:`add`, in order), then other arrays and the zip directory (:meth:`finish`)."""

    def __init__(self, path: str | Path, names: list[str], widths: list[int], max_rows: int,
                 dtype=np.int32):
        self.path, self.names, self.widths = Path(path), list(names), [int(w) for w in widths]
        self.dtype, self.rows, self.max_rows = np.dtype(dtype), 0, int(max_rows)
        self.stamp = _dos_time(time.time())
        self.members: list[dict] = []  # name, header offset, data offset, npy header length, crc
        offset = 0
        for name, width in zip(self.names, self.widths, strict=True):
            file_name = f"{name}.npy".encode()
            npy_len = len(_npy_header(self.dtype, (self.max_rows, width)))
            data = offset + LOCAL_HEADER.size + len(file_name) + ZIP64_LOCAL_EXTRA.size + npy_len
            crc = zlib.crc32(_npy_header(self.dtype, (self.max_rows, width)))  # the header if every row comes
            self.members.append({"name": file_name, "offset": offset, "data": data, "npy": npy_len,
                                 "crc": crc})
            offset = data + self.max_rows * width * self.dtype.itemsize
        self.end = offset
        # An empty file (atomic_path's) is opened without O_TRUNC: ext4 starts writing out at close() a file
        # rewritten through truncation (its auto_da_alloc), which took 0.15 s for 335 MB here
        fresh = self.path.exists() and self.path.stat().st_size == 0
        self.file = open(self.path, "r+b" if fresh else "w+b")  # noqa: SIM115 -- closed by finish() or close()

    def add(self, parts: list[np.ndarray]) -> None:
        """One chunk: ``parts[i]`` is [rows, widths[i]], the next rows of member i."""
        n = parts[0].shape[0]
        if self.rows + n > self.max_rows:
            raise ValueError(f"{self.path}: {self.rows + n} rows, more than the {self.max_rows} laid out")
        for m, width, part in zip(self.members, self.widths, parts, strict=True):
            data = np.ascontiguousarray(part, self.dtype)
            if data.shape != (n, width):
                raise ValueError(f"{self.path}: rows of {m['name'].decode()} are {data.shape}, expected "
                                 f"({n}, {width})")
            view = memoryview(data).cast("B")
            m["crc"] = zlib.crc32(view, m["crc"])
            self.file.seek(m["data"] + self.rows * width * self.dtype.itemsize)
            self.file.write(view)
        self.rows += n

    def finish(self, arrays: dict[str, np.ndarray]) -> None:
        """Write ``arrays`` as members after the rows, every header and the zip directory; close the file."""
        entries = []
        for m, width in zip(self.members, self.widths, strict=True):
            header = _npy_header(self.dtype, (self.rows, width), m["npy"])
            size = m["npy"] + self.rows * width * self.dtype.itemsize
            crc = m["crc"] if self.rows == self.max_rows else self._crc_read_back(m, header, size)
            self.file.seek(m["offset"])
            self.file.write(self._local_header(m["name"], crc, size) + header)
            entries.append((m["name"], m["offset"], crc, size))
        offset = self.end
        self.file.seek(offset)
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
            data, file_name = buf.getvalue(), f"{name}.npy".encode()
            crc = zlib.crc32(data)
            self.file.write(self._local_header(file_name, crc, len(data)) + data)
            entries.append((file_name, offset, crc, len(data)))
            offset = self.file.tell()
        directory = b"".join(self._central_header(*e) for e in entries)
        self.file.write(directory)
        end64 = offset + len(directory)
        n = len(entries)
        self.file.write(ZIP64_END.pack(b"PK\x06\x06", ZIP64_END.size - 12, ZIP64_VERSION, ZIP64_VERSION, 0, 0,
                                       n, n, len(directory), offset))
        self.file.write(ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, end64, 1))
        count = min(n, 0xFFFF)
        self.file.write(END.pack(b"PK\x05\x06", 0, 0, count, count, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        self.file.close()

    def close(self) -> None:
        """Close the file (finished or not); whoever made ``path`` removes it if it was not finished."""
        self.file.close()

    def _crc_read_back(self, m: dict, header: bytes, size: int) -> int:
        """The CRC of a member whose rows stopped short of ``max_rows`` (its header changed): read back."""
        self.file.flush()
        crc, left = zlib.crc32(header), size - len(header)
        with open(self.path, "rb") as f:
            f.seek(m["data"])
            while left > 0:
                block = f.read(min(left, 16 * 2**20))
                if not block:
                    raise OSError(f"{self.path}: the archive ends inside {m['name'].decode()}")
                crc, left = zlib.crc32(block, crc), left - len(block)
        return crc

    def _local_header(self, name: bytes, crc: int, size: int) -> bytes:
        return (LOCAL_HEADER.pack(b"PK\x03\x04", ZIP64_VERSION, 0, zipfile.ZIP_STORED, *self.stamp, crc,
                                  0xFFFFFFFF, 0xFFFFFFFF, len(name), ZIP64_LOCAL_EXTRA.size)
                + name + ZIP64_LOCAL_EXTRA.pack(1, ZIP64_LOCAL_EXTRA.size - 4, size, size))

    def _central_header(self, name: bytes, offset: int, crc: int, size: int) -> bytes:
        return (CENTRAL_HEADER.pack(b"PK\x01\x02", ZIP64_VERSION, ZIP64_VERSION, 0, zipfile.ZIP_STORED,
                                    *self.stamp, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name),
                                    ZIP64_CENTRAL_EXTRA.size, 0, 0, 0, 0o644 << 16, 0xFFFFFFFF)
                + name + ZIP64_CENTRAL_EXTRA.pack(1, ZIP64_CENTRAL_EXTRA.size - 4, size, size, offset))
