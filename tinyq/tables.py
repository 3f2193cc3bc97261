"""The tables commands print (boards, inspect, eval, the benchmarks, quantize --report): one function
renders a header and rows two ways.

On a terminal: a rich table (box, bold header, cells wrapped to the terminal's width). Anywhere else
(a CI log, a pipe, a file, the tests): plain columns padded with spaces, a dashed rule under the header,
never an escape code or a box character, so the text is stable to read, diff and grep.
TINYQ_TABLES=rich or TINYQ_TABLES=plain chooses for the user (e.g. boxes in a `less -R` pipe).

A row shorter than the header is a note row: its last cell is a note that follows the row's first cells
(plain: without widening the columns it spans; rich: as a numbered note under the table).

    print(table(("model", "arena B"), [("kws", "9,792"), ("vww", "-")], align="lr"))
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Sequence

from tinyq.errors import TinyqError
from tinyq.progress import is_terminal

STYLES = ("rich", "plain")
PLAIN_FORMS = ("columns", "markdown")


def table_style(stream=None) -> str:
    """'rich' when the report goes to a terminal (or TINYQ_TABLES=rich), else 'plain'."""
    chosen = os.environ.get("TINYQ_TABLES", "")
    if chosen:
        if chosen not in STYLES:
            raise TinyqError(f"TINYQ_TABLES={chosen} is not a table style", hint=f"use {' or '.join(STYLES)}")
        return chosen
    return "rich" if is_terminal(stream or sys.stdout) else "plain"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "", indent: str = "",
          title: str = "", plain: str = "columns", rule: bool = True, style: str | None = None) -> str:
    """`rows` under `header` as text; `align` is a letter per column, l(eft) or r(ight) (missing letters:
    the last one given, or l); `indent` prefixes each plain line; `title` is a line above the table;
    `plain` is the form off a terminal: aligned columns (with a dashed `rule` under the header) or a
    Markdown table (to paste into docs); `style` overrides table_style()."""
    aligns = _aligns(align, len(header))
    rows = [tuple(str(c) for c in row) for row in rows]
    if any(not 0 < len(row) <= len(header) for row in rows):
        raise ValueError("a row has no cell or more cells than the header")
    if (style or table_style()) == "rich":
        return _rich(tuple(header), rows, aligns, title)
    lines = [title] if title else []
    if plain == "markdown":
        return "\n".join(lines + _markdown(tuple(header), rows))
    if plain != "columns":
        raise ValueError(f"plain form {plain!r} is not one of {PLAIN_FORMS}")
    return "\n".join(lines + [indent + line for line in _columns(tuple(header), rows, aligns, rule)])


def _aligns(align: str, n: int) -> str:
    if any(a not in "lr" for a in align):
        raise ValueError(f"align {align!r}: one letter l or r per column")
    return (align + (align[-1:] or "l") * n)[:n]


def _columns(header: tuple[str, ...], rows: list[tuple[str, ...]], aligns: str, rule: bool) -> list[str]:
    full = [header] + rows
    # a note row's note (its last cell) widens nothing; its first cells are measured as any row's
    cells = [row if len(row) == len(header) else row[:-1] for row in full]
    widths = [max([len(row[i]) for row in cells if i < len(row)] or [0]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        measured = row if len(row) == len(header) else row[:-1]
        text = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(measured, widths, aligns)]
        if len(row) < len(header):
            text.append(row[-1])
        return "  ".join(text).rstrip()

    lines = [line(row) for row in full]
    if rule:  # a left-aligned last column is never padded: its rule is as wide as its header (a long name)
        last = widths[-1] if aligns[-1] == "r" else len(header[-1])
        lines.insert(1, "  ".join("-" * w for w in widths[:-1] + [last]).rstrip())
    return lines


def _markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |" + " |" * (len(header) - len(row)))
    return lines


def _rich(header: tuple[str, ...], rows: list[tuple[str, ...]], aligns: str, title: str) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    notes = []
    utf = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "").startswith("utf")
    grid = Table(box=box.ROUNDED if utf else box.ASCII, header_style="bold", title=Text(title) if title else None,
                 title_justify="left", caption_justify="left")
    for name, a in zip(header, aligns):
        grid.add_column(Text(name), justify="right" if a == "r" else "left", overflow="fold")  # a long path folds
    for row in rows:
        if len(row) < len(header):
            notes.append(row[-1])
            row = row[:-1] + (f"note {len(notes)}",)
        grid.add_row(*(Text(c) for c in row))  # Text: a cell's brackets are not rich markup
    if notes:
        grid.caption = Text("\n".join(f"note {k}: {note}" for k, note in enumerate(notes, 1)))
    out = io.StringIO()
    width = shutil.get_terminal_size((100, 24)).columns
    Console(file=out, force_terminal=True, width=width).print(grid)
    return out.getvalue().rstrip("\n")
