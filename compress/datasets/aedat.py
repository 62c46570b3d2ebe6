"""Readers of the jAER / iniVation AEDAT event files the DVS datasets were published in.

- AEDAT 2.0 (jAER; CIFAR10-DVS's release): ASCII header lines starting with ``#`` (the first
  ``#!AER-DAT2.0``), then big-endian (uint32 address, uint32 timestamp in us) pairs. DVS128 addresses
  (jAER's ``DVS128`` extractor): polarity bit 0 (1 = ON), x bits 7..1, y bits 14..8; an address with
  bit 15 or above set is a special (non-DVS) event and is dropped.
- AEDAT 3.1 (cAER; DVS128 Gesture's release): header lines up to ``#!END-HEADER``, then packets of a
  28-byte little-endian header (int16 eventType, int16 eventSource, int32 eventSize, int32 eventTSOffset,
  int32 eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32 eventValid) and eventCapacity
  events of eventSize bytes. Polarity events (type 1, 8 bytes): uint32 data (bit 0 valid, bit 1
  polarity, bits 16..2 y, bits 31..17 x) and int32 timestamp (us), extended by ``eventTSOverflow << 31``.
  Other packet types are skipped; invalid events are dropped.

Both return x, y, p, t as int64 arrays. A file that breaks the format is a one-line ``DataError``.
"""

from __future__ import annotations

import pathlib

import numpy as np

from compress.datasets.common import malformed

POLARITY_EVENT = 1
PACKET_HEADER = np.dtype([("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
                          ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")])
POLARITY_DTYPE = np.dtype([("data", "<u4"), ("t", "<i4")])


def _header(raw: bytes, path: pathlib.Path, version: str, end: bytes | None) -> int:
    """Offset of the first data byte after the ``#`` header lines; checks the version line."""
    if not raw.startswith(b"#!AER-DAT" + version.encode()):
        found = raw[:14].split(b"\n")[0].decode("latin1", "replace").strip()
        raise malformed(path, f"not an AEDAT {version} file (first line '{found}', "
                              f"expected '#!AER-DAT{version}')")
    offset = 0
    while offset < len(raw) and raw[offset:offset + 1] == b"#":
        line_end = raw.find(b"\n", offset)
        if line_end < 0:
            raise malformed(path, "AEDAT header never ends")
        line = raw[offset:line_end + 1]
        offset = line_end + 1
        if end is not None and line.startswith(end):
            break
    return offset


def read_aedat2_dvs128(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, y, p, t (us) of an AEDAT 2.0 file of DVS128 events."""
    raw = path.read_bytes()
    offset = _header(raw, path, "2.0", None)
    body = len(raw) - offset
    if body % 8:
        raise malformed(path, f"AEDAT 2.0 data of {body} bytes is not a run of 8-byte events")
    data = np.frombuffer(raw, dtype=">u4", offset=offset).reshape(-1, 2).astype(np.int64)
    addr, t = data[:, 0], data[:, 1]
    dvs = (addr >> 15) == 0
    addr, t = addr[dvs], t[dvs]
    return (addr >> 1) & 0x7F, (addr >> 8) & 0x7F, addr & 1, t


def read_aedat31_polarity(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, y, p, t (us) of the polarity events of an AEDAT 3.1 file."""
    raw = path.read_bytes()
    offset = _header(raw, path, "3.1", b"#!END-HEADER")
    parts = []
    while offset < len(raw):
        if offset + PACKET_HEADER.itemsize > len(raw):
            raise malformed(path, f"truncated packet header at byte {offset}")
        head = np.frombuffer(raw, PACKET_HEADER, count=1, offset=offset)[0]
        offset += PACKET_HEADER.itemsize
        size, capacity = int(head["size"]), int(head["capacity"])
        if size <= 0 or capacity < 0 or offset + size * capacity > len(raw):
            at = offset - PACKET_HEADER.itemsize
            raise malformed(path, f"packet at byte {at} claims {capacity} events of {size} bytes, more than "
                                  "the file holds")
        if int(head["type"]) == POLARITY_EVENT:
            if size != POLARITY_DTYPE.itemsize:
                raise malformed(path, f"polarity events of {size} bytes (expected 8)")
            events = np.frombuffer(raw, POLARITY_DTYPE, count=int(head["number"]), offset=offset)
            parts.append((events["data"].astype(np.int64),
                          events["t"].astype(np.int64) + (int(head["ts_overflow"]) << 31)))
        offset += size * capacity
    if not parts:
        return tuple(np.zeros(0, np.int64) for _ in range(4))  # type: ignore[return-value]
    data = np.concatenate([d for d, _ in parts])
    t = np.concatenate([t for _, t in parts])
    valid = (data & 1) == 1
    data, t = data[valid], t[valid]
    return (data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF, (data >> 1) & 1, t
