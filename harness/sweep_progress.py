"""One progress bar for a sweep: cells done / running / failed, fed by polling futures.

Both backends hand their futures here (``concurrent.futures`` and ``distributed`` futures share ``done()``,
``result()`` and ``exception()``), so the loop that waits, records each result as it lands and redraws the
bar is one. Polling (every :data:`POLL_S`) keeps Ctrl-C and SIGTERM prompt while waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL_S = 0.2


def cell_bar(progress: bool):
    """A rich Progress with the columns of a sweep (the caller adds one task with running= and failed=)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("cells done · {task.fields[running]} running · {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        disable=not progress,
    )


def collect(pending: dict[Any, Any], handle: Callable[[Any, Any], None], tick: Callable[[], None]) -> None:
    """Wait for every future in ``pending`` (future -> tag): ``handle(tag, future)`` as each finishes,
    ``tick()`` after every poll."""
    while pending:
        done = [future for future in pending if future.done()]
        for future in done:
            handle(pending.pop(future), future)
        tick()
        if not done:
            time.sleep(POLL_S)
