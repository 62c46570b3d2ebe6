"""What the scripts that regenerate a doc's tables from committed results share: the marked region a table
fills, and the write-or ``--check`` command line.

A table lives between ``<!-- table:NAME begin -->`` and ``<!-- table:NAME end -->`` on lines of their own.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from collections.abc import Callable, Sequence


def has_table(doc: str, name: str) -> bool:
    return f"<!-- table:{name} begin -->\n" in doc


def fill(doc: str, name: str, table: str, source: pathlib.Path) -> str:
    """``doc`` with the text between NAME's markers replaced by ``table``; SystemExit naming ``source``
    when the markers are absent."""
    key = re.escape(name)
    pattern = re.compile(rf"(<!-- table:{key} begin -->\n).*?(<!-- table:{key} end -->)", re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{source}: no '<!-- table:{name} begin -->' .. 'end -->' markers")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), doc)


def main(doc_path: pathlib.Path, render: Callable[[str], str], usage: str, script: str,
         argv: Sequence[str] | None = None) -> int:
    """Rewrite ``doc_path`` as ``render`` makes it; with ``--check``, exit 1 (saying so) if it differs.
    ``usage``, ``script``: the calling module's ``__doc__`` (its first paragraph describes the command)
    and ``__file__``."""
    description = usage.split("\n\n")[0]
    path = pathlib.Path(script)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {doc_path.name} is out of date")
    args = parser.parse_args(argv)
    old = doc_path.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print(f"{doc_path} is out of date: run python benchmarks/{path.name}", file=sys.stderr)
            return 1
        return 0
    doc_path.write_text(new)
    return 0
