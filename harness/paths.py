"""The one check of every path a command will write to, made before any work starts.

``harness run --out afile`` used to train for minutes and then fail on ``mkdir``. Every output option
(``--out``, ``--json``, ``--plot``, ``--cache-dir``) goes through :func:`output_file` or
:func:`output_folder` when it is parsed (see :mod:`harness.options`), so a path that cannot be written is
one line and exit 2 before anything is computed. Checking writes nothing but a probe file that is removed
at once; folders that do not exist yet are created later by the writer (``compress.files``).

Also here: :func:`describe_file`, what a file given as input actually is (from its first bytes), so an
error can say "a .npy array" or "a text file" instead of the reader's own complaint.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hwprofiles.errors import UserError


class OutputPathError(UserError):
    """An output path that cannot be written: names the option, the path and why."""


def output_file(path: str | os.PathLike, option: str) -> Path:
    """``path`` if a file can be written there (an existing file is replaced), else OutputPathError."""
    path = Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise OutputPathError(f"{option} '{path}': expected a file name, got a folder")
    if path.is_dir():
        raise OutputPathError(f"{option} '{path}' is a folder; expected a file path")
    if path.exists() and not path.is_file():
        raise OutputPathError(f"{option} '{path}' exists and is not a regular file")
    _writable_parent(path.parent, path, option)
    return path


def output_folder(path: str | os.PathLike, option: str) -> Path:
    """``path`` if it is, or can become, a writable folder, else OutputPathError."""
    path = Path(path)
    if str(path) == "":
        raise OutputPathError(f"{option}: expected a folder, got an empty path")
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{option} '{path}' exists and is a file; expected a folder")
    _writable_parent(path, path, option)
    return path


def _writable_parent(folder: Path, target: Path, option: str) -> None:
    """The nearest existing folder at or above ``folder`` must be a folder we can create files in."""
    here = folder if str(folder) else Path(".")
    while not here.exists():
        if here.is_symlink():
            raise OutputPathError(f"{option} '{target}': '{here}' is a broken link")
        here = here.parent
    if not here.is_dir():
        raise OutputPathError(f"{option} '{target}': '{here}' is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".chipfit-probe-", dir=here)
    except OSError as error:
        raise OutputPathError(
            f"{option} '{target}': cannot write in '{here}' ({error.strerror or error})") from None
    os.close(fd)
    os.unlink(probe)


_MAGIC = (
    (b"\x93NUMPY", "a .npy array file"),
    (b"PK\x03\x04", "a zip archive (.npz)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x89PNG", "a PNG image"),
    (b"\x80", "a pickle"),
    (b"%YAML", "a YAML file"),
)


def describe_file(path: str | os.PathLike) -> str:
    """What ``path`` holds, judged from its first bytes: 'a .npy array file', 'a text file', 'an empty
    file'... (for error messages that say what was found)."""
    path = Path(path)
    if path.is_dir():
        return "a folder"
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as error:
        return f"an unreadable file ({error.strerror or error})"
    if not head:
        return "an empty file"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if b"\x00" in head or error.start < len(head) - 3:  # not just a character cut at byte 512
            return "a binary file of unknown format"
        text = head[: error.start].decode("utf-8")
    first = text.strip().splitlines()[0][:40] if text.strip() else ""
    return f"a text file (starting {first!r})"
