"""Plain-text tables for a command's terminal output: columns aligned with spaces, a rule under the header.

``harness simulate`` prints its counters and energy with this rather than rich: rich's import and its
first render took 0.05-0.08 s of a 0.9 s command (docs/validation.md, the SANA-FE speed table), for two
small tables. Numbers are right-aligned, text left-aligned; nothing is wrapped or cut.
"""

from __future__ import annotations


def _is_number(cell: str) -> bool:
    try:
        float(cell.split(" ", 1)[0])
    except ValueError:
        return cell == "unknown"
    return True


def text_table(headers: list[str], rows: list[list[str]], title: str | None = None) -> str:
    """The table as lines: an optional title, the header, a rule of dashes, one line per row. A column is
    right-aligned when every one of its cells (after the first column) starts with a number."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    right = [i > 0 and bool(rows) and all(_is_number(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells):
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(padded)

    out = [title] if title else []
    out += [line(headers).rstrip(), "  ".join("-" * w for w in widths)]
    out += [line(r).rstrip() for r in rows]
    return "\n".join(out)
