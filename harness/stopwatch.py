"""Wall seconds per named stage of a command (``harness simulate --json`` reports them as ``timings_s``).

``lap(name)`` charges the time since the previous lap (or the stopwatch's start) to ``name``; laps of the
same name add up. Timed with ``time.perf_counter``; the stages' sum is the command's time from the start of
its ``run`` to the last lap, which leaves out Python's start-up, the imports before it and the exit.
"""

from __future__ import annotations

import time


class Stopwatch:
    def __init__(self):
        self.stages: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stages[name] = self.stages.get(name, 0.0) + (now - self._last)
        self._last = now

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {name: round(seconds, digits) for name, seconds in self.stages.items()}
