"""Errors caused by what a user gave us. They print as one line and exit with code 2."""

from __future__ import annotations


class UserError(ValueError):
    """Base of every error that is the input's fault, not the program's.

    Every package raises a subclass of this for bad input; ``harness.cli`` prints ``str(error)`` on
    one line and exits with ``exit_code``. (It lives in hwprofiles because every package may import
    hwprofiles, and nothing else is shared.)
    """

    exit_code = 2


class ProfileError(UserError):
    """A chip profile that is malformed: names the file, the key, what was expected and what was found."""

    def __init__(self, file: str, key: str, expected: str, got: object):
        self.file, self.key, self.expected, self.got = file, key, expected, got
        super().__init__(f"{file}: key '{key}': expected {expected}, got {got!r}")
