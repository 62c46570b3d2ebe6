"""Entry point of the `harness` console script.

Subcommands are discovered from :mod:`harness.commands`. Errors caused by the user's input (a bad
profile, an unknown dataset, a missing folder, a NIR graph the chip cannot take) are exceptions that
carry ``exit_code = 2`` (see :class:`hwprofiles.errors.UserError`): they print one line and exit 2.
Anything else is a bug and keeps its traceback. A malformed command line (an unknown flag, a value out of
its range: see :mod:`harness.options`) is the same one line and exit 2, from :class:`Parser`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import pkgutil
import sys

import harness.commands
from hwprofiles.errors import UserError

USAGE_ERROR = 2
RESUMABLE = frozenset({"compress", "run", "sweep", "train"})
"""Commands whose finished work a rerun picks up (cached models, sweep cells, training checkpoints)."""


class CommandLineError(UserError):
    """A command line argparse refused: carries the program ('harness run') it was refused by."""

    def __init__(self, prog: str, message: str):
        self.prog = prog
        super().__init__(" ".join(message.split()))


class Parser(argparse.ArgumentParser):
    """argparse, but a refused command line is one line (no usage block) and exit 2 via :func:`main`."""

    def error(self, message: str):
        raise CommandLineError(self.prog, message)


def command_names() -> list[str]:
    """The subcommands, one per module of :mod:`harness.commands` (found without importing them)."""
    return sorted(info.name for info in pkgutil.iter_modules(harness.commands.__path__))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or (``only``) of that one alone: a command line that names its
    command imports only that command's module (``harness simulate`` does not import ``train``'s)."""
    parser = Parser(
        prog="harness",
        description="chipfit: does this compressed SNN fit this chip, and what does it cost there?",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_names():
        if only is None or name == only:
            importlib.import_module(f"harness.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: the process's, as the ``harness`` script does); its exit
    status. Called for the process (``argv`` None), the objects left when the command ends are frozen
    (``gc.freeze``) so the interpreter's exit does not search them for cycles: that search took 0.6 s after
    a ``harness simulate`` on a loaded machine (0.05 s frozen), for a process about to end."""
    if argv is not None:
        return _run(list(argv))
    try:
        return _run(sys.argv[1:])
    finally:
        gc.freeze()


def _run(argv: list[str]) -> int:
    parser = build_parser(argv[0] if argv and argv[0] in command_names() else None)
    try:
        args = parser.parse_args(argv)
    except CommandLineError as error:
        print(f"{error.prog}: error: {error} (see {error.prog} --help)", file=sys.stderr)
        return USAGE_ERROR
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # results are written atomically: nothing half-written is left
        if args.command in RESUMABLE:
            message = "interrupted; finished results are kept, rerun to resume"
        else:
            message = "interrupted; nothing was written"
        print(f"harness {args.command}: {message}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as error:  # user errors carry exit_code; anything else is a bug
        if getattr(error, "exit_code", None) == USAGE_ERROR:
            print(f"harness {args.command}: error: {' '.join(str(error).splitlines())}", file=sys.stderr)
            return USAGE_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
