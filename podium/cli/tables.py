"""Tables that never cut a word: columns as wide as their longest value (prose columns: their longest word), or
one line per row when they do not fit."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    right: bool = False  # numbers align right
    key: bool = False  # what a row is about (period, model, request id): leads each line in the narrow layout
    wrap: bool = False  # prose (a note, parameters): may wrap between words, never inside one


def print_table(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    styles: Sequence[str] | None = None,
) -> None:
    """A table whose words are all shown whole. Headers and ``wrap`` columns may wrap between words; other values
    never wrap. When the terminal is too narrow for that, each row becomes one line: its key cells, then ``name
    value`` pairs. ``styles`` gives each row a rich style (wide layout only)."""
    widths = _widths(columns, rows, console.width)
    if widths is not None:
        table = Table(title=title)
        for column, width in zip(columns, widths, strict=True):
            # A fixed width, which rich never shrinks, and no word is longer: only headers and prose wrap.
            table.add_column(column.name, justify="right" if column.right else "left", width=width)
        for n, row in enumerate(rows):
            table.add_row(*(escape(cell) for cell in row), style=styles[n] if styles else None)  # text, not markup
        console.print(table)
        return
    console.print(title, markup=False, highlight=False)
    for row in rows:
        keys = [cell for cell, c in zip(row, columns, strict=True) if c.key and cell]
        pairs = [f"{c.name} {cell}" for cell, c in zip(row, columns, strict=True) if not c.key and cell]
        lines = _packed(keys, console.width, indent="", sep="  ") + _packed(pairs, console.width, indent="  ")
        for line in lines:
            console.print(line, markup=False, highlight=False, overflow="ignore", crop=False)


def print_rendered(
    console: Console, table: Table, *, keys: Sequence[str], wrap: Sequence[str] = (), title: str | None = None
) -> None:
    """A rich table another layer rendered (plain-text cells), laid out by :func:`print_table`: the columns named in
    ``keys`` lead each line of the narrow layout, those in ``wrap`` may wrap between words; the caption follows."""
    columns = [Column(str(c.header), right=c.justify == "right", key=str(c.header) in keys, wrap=str(c.header) in wrap)
               for c in table.columns]  # fmt: skip
    rows = list(zip(*([str(cell) for cell in c.cells] for c in table.columns), strict=True))
    print_table(console, str(table.title or "") if title is None else title, columns, rows)
    if table.caption:
        console.print(str(table.caption), markup=False, highlight=False)


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], room: int) -> list[int] | None:
    """Each column's width in the table layout, or None when even the narrowest whole-word layout is too wide."""
    def width(i: int, whole: bool) -> int:
        measure = len if whole else _longest_word
        return max([measure(r[i]) for r in rows] + [_longest_word(columns[i].name)])

    full = [width(i, True) for i in range(len(columns))]
    widths = [width(i, not c.wrap) for i, c in enumerate(columns)]
    spare = room - (sum(widths) + 3 * len(columns) + 1)  # rich's borders and one space of padding each side
    if spare < 0:
        return None
    while spare > 0:  # prose columns widen, evenly, toward their longest value
        short = [i for i, c in enumerate(columns) if c.wrap and widths[i] < full[i]]
        if not short:
            break
        for i in short[:spare]:
            widths[i] += 1
            spare -= 1
    return widths


def _packed(items: list[str], width: int, *, indent: str, sep: str = " · ") -> list[str]:
    """``items`` joined by ``sep`` into lines of at most ``width`` characters; an item longer than a line wraps
    between its words (indented further), and a word is never split."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(sep) + len(item) <= width:
            lines[-1] += sep + item
        elif len(indent) + len(item) <= width:
            lines.append(indent + item)
        else:
            lines += textwrap.wrap(item, width, initial_indent=indent, subsequent_indent=indent + "    ",
                                   break_long_words=False, break_on_hyphens=False)  # fmt: skip
    return lines


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)
