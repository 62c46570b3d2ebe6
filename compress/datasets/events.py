"""Events -> frames: the binning every event dataset shares (what tonic's ``ToFrame`` and ``Downsample``
do, written here over plain arrays).

An event stream is four equal-length arrays: ``x`` and ``y`` (pixel; for audio ``x`` is the channel and
``y`` is 0), ``p`` (polarity 0/1) and ``t`` (time, any unit, non-decreasing is not required). A sample
becomes ``T`` frames [T, C, H, W] of uint8 spikes: a frame holds 1 at (c, y, x) when at least one event
fell there in that bin, 0 otherwise, because a chip's input is spikes, not counts (chipsim's fixed-point
engines take binary input only), and the torch model is trained on the same frames the chip sees.

Bins (``bin_by``): ``time`` splits the sample's span [t_first, t_last] into T equal intervals (tonic's
``ToFrame(n_time_bins=T)``); ``count`` splits its events into T runs of equal count in time order
(``ToFrame(n_event_bins=T)``). ``polarity``: 2 keeps ON and OFF as channels (OFF = 0 first, as tonic),
1 merges them into one. ``downsample`` k: pixel (x, y) -> (x // k, y // k), the sensor shrinks to
ceil(size / k) (tonic's ``Downsample(spatial_factor=1/k)`` rounds down the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIN_MODES = ("time", "count")


@dataclass(frozen=True)
class EventOptions:
    """How events become frames: ``steps`` T, ``bin_by`` 'time' | 'count', ``polarity`` 1 | 2 channels,
    ``downsample`` an integer factor on x and y (audio: on the channel)."""

    steps: int = 16
    bin_by: str = "time"
    polarity: int = 2
    downsample: int = 1

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.bin_by not in BIN_MODES:
            raise ValueError(f"unknown bin_by '{self.bin_by}'; known: {', '.join(BIN_MODES)}")
        if self.polarity not in (1, 2):
            raise ValueError(f"polarity must be 1 or 2 channels, got {self.polarity}")
        if self.downsample < 1:
            raise ValueError(f"downsample must be >= 1, got {self.downsample}")

    @property
    def variant(self) -> str:
        """A short tag naming the options (part of every cache key of a model trained on these frames)."""
        return f"T{self.steps}-{self.bin_by}-p{self.polarity}-d{self.downsample}"


def frame_shape(sensor: tuple[int, int], opts: EventOptions, polarities: int = 2) -> tuple[int, int, int]:
    """(C, H, W) of the frames of a ``sensor`` (width, height) after polarity merge and downsampling."""
    width, height = sensor
    k = opts.downsample
    channels = 1 if polarities == 1 else opts.polarity
    return channels, -(-height // k), -(-width // k)


def bin_index(t: np.ndarray, opts: EventOptions) -> np.ndarray:
    """Bin 0..T-1 of every event (see the module docstring for the two rules)."""
    n = len(t)
    if n == 0:
        return np.zeros(0, np.int64)
    steps = opts.steps
    if opts.bin_by == "count":
        order = np.argsort(t, kind="stable")
        bins = np.empty(n, np.int64)
        bins[order] = (np.arange(n) * steps) // n
        return bins
    t = np.asarray(t, dtype=np.float64)
    t0, t1 = float(t.min()), float(t.max())
    if t1 == t0:
        return np.zeros(n, np.int64)
    return np.minimum(((t - t0) * steps / (t1 - t0)).astype(np.int64), steps - 1)


def to_frames(x: np.ndarray, y: np.ndarray, p: np.ndarray, t: np.ndarray, sensor: tuple[int, int],
              opts: EventOptions, polarities: int = 2) -> np.ndarray:
    """uint8 spike frames [T, C, H, W] of one sample's events on a ``sensor`` (width, height).

    Events outside the sensor are dropped (a file may carry a few; tonic drops them too)."""
    channels, height, width = frame_shape(sensor, opts, polarities)
    frames = np.zeros((opts.steps, channels, height, width), np.uint8)
    x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
    keep = (x >= 0) & (x < sensor[0]) & (y >= 0) & (y < sensor[1])
    if not keep.all():
        x, y, p, t = x[keep], y[keep], np.asarray(p)[keep], np.asarray(t)[keep]
    c = np.asarray(p, np.int64) if channels == 2 else np.zeros(len(x), np.int64)
    frames[bin_index(np.asarray(t), opts), c, y // opts.downsample, x // opts.downsample] = 1
    return frames
