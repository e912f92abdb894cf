"""One cell of a recorded-answers file (RouterBench or RouteLLM CSV): text, correctness and cost, each checked."""

from __future__ import annotations

import ast
import math
from decimal import Decimal, InvalidOperation
from pathlib import Path

from podium.core.errors import ValidationError


def cell_text(cell: str) -> str:
    """RouterBench stores prompts and answers as Python list reprs; join the parts into one text."""
    cell = cell or ""
    if cell.startswith("[") and cell.endswith("]"):
        try:
            parts = ast.literal_eval(cell)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return cell
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            # Some rows repeat the same prompt twice (batched calls); keep each distinct part once.
            return "\n".join(dict.fromkeys(parts))
    return cell


def cell_correct(path: Path, row_no: int, column: str, cell: str) -> float:
    text = (cell or "").strip().lower()
    if text in ("", "nan", "none"):
        return 0.0
    if text in ("true", "false"):
        return 1.0 if text == "true" else 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ValidationError(
            f"{path} row {row_no}: column {column!r} holds {cell!r}; correctness must be 0..1, true/false or empty"
            + (" (judge scores on a 1-10 scale: divide them by 10)" if 1.0 < value <= 10.0 else ""),
            field=column,
            value=cell,
        )
    return value


_PICO_USD = Decimal("1e-12")


def cell_cost(path: Path, row_no: int, column: str, cell: str) -> Decimal | None:
    text = (cell or "").strip()
    if not text or text.lower() == "nan":
        return None
    try:
        value = Decimal(text)  # the text as recorded: never through float arithmetic
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ValidationError(
            f"{path} row {row_no}: column {column!r} holds {cell!r}; a cost must be a non-negative number of USD",
            field=column,
            value=cell,
        )
    # Recorders wrote floats ("0.00046479999999999997"): keep whole pico-dollars, which drops only that noise.
    return value.quantize(_PICO_USD).normalize() if value else value
