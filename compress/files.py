"""Atomic writes: a result is either all there or not there, even if the run is interrupted.

Every result file chipfit writes (checkpoints, NIR graphs, metrics, reports, plots) goes through
:func:`write_atomic`: the content is written to a temporary file in the same folder, then renamed onto the
target. Lives in compress (numpy only, no torch) because compress and harness both write results.
Files get the permissions of a plain ``open`` (0666 less the umask), not ``mkstemp``'s 0600. A folder or
file that cannot be written is a one-line :class:`WriteError` (exit 2), not a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hwprofiles.errors import UserError


class WriteError(UserError):
    """A result that could not be written (a read-only folder, a full disk): names the path and why."""


def _create_temporary(folder: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """A new file in ``folder`` opened as a plain ``open`` would make it (0666, the kernel applies the
    umask), unlike ``mkstemp``'s 0600. The umask is never read: reading it means setting it, process-wide,
    which races with other threads creating files."""
    for _ in range(100):
        name = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(name)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp"):
    """A new temporary file beside ``path`` for the ``with`` block to write (its path is yielded); renamed
    onto ``path`` when the block ends without an error, removed when it raises (the error goes on as it
    was). Not creating or renaming it is a :class:`WriteError`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path.parent, f".{path.name}.", suffix)
    except OSError as error:
        raise WriteError(f"cannot write {path}: {error.strerror or error}") from None
    os.close(fd)
    try:
        yield Path(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        os.replace(tmp, path)
    except OSError as error:  # a target that became a folder
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {error.strerror or error}") from None


def write_atomic(path: str | Path, write: Callable[[Path], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path`` (same folder, same disk)."""
    path = Path(path)
    with atomic_path(path, suffix) as tmp:
        try:
            write(tmp)
        except OSError as error:  # a full disk: the place, not the program
            raise WriteError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, tuples, dataclasses and paths; NaN/inf become None."""
    import dataclasses
    import math

    import numpy as np

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj
