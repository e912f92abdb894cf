"""Tables that never cut a cell: columns as wide as their longest value, or one line per row when they do not fit."""

from __future__ import annotations

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


def print_table(console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """A table whose cells are all shown whole. Headers may wrap onto several lines; values never do. When the
    terminal is too narrow for that, each row becomes one line: its key cells, then ``name value`` pairs."""
    widths = [max([len(r[i]) for r in rows] + [_longest_word(c.name)]) for i, c in enumerate(columns)]
    needed = sum(widths) + 3 * len(columns) + 1  # rich's borders and one space of padding each side
    if needed <= console.width:
        table = Table(title=title)
        for column, width in zip(columns, widths, strict=True):
            table.add_column(column.name, justify="right" if column.right else "left", min_width=width, no_wrap=False)
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))  # values are text, never markup
        console.print(table)
        return
    console.print(title, markup=False, highlight=False)
    for row in rows:
        keys = [cell for cell, c in zip(row, columns, strict=True) if c.key and cell]
        pairs = [f"{c.name} {cell}" for cell, c in zip(row, columns, strict=True) if not c.key and cell]
        lines = _packed(keys, console.width, indent="", sep="  ") + _packed(pairs, console.width, indent="  ")
        for line in lines:
            console.print(line, markup=False, highlight=False, overflow="ignore", crop=False)


def _packed(items: list[str], width: int, *, indent: str, sep: str = " · ") -> list[str]:
    """``items`` joined by ``sep`` into lines of at most ``width`` characters; an item is never split."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(sep) + len(item) <= width:
            lines[-1] += sep + item
        else:
            lines.append(indent + item)
    return lines


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)
