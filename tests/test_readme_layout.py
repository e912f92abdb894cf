"""The README's Layout is the one description of the layers: it must list the guard test's ranks exactly."""

from __future__ import annotations

import re
from pathlib import Path

from test_guards import RANKS

README = Path(__file__).resolve().parents[1] / "README.md"


def _layout_ranks() -> dict[str, int]:
    text = README.read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    ranks: dict[str, int] = {}
    rank = -1
    for line in block.splitlines():
        m = re.match(r"^(\d)?\s*podium/(\w+)", line)
        if m is None:
            continue
        rank = int(m.group(1)) if m.group(1) is not None else rank
        ranks[m.group(2)] = rank
    return ranks


def test_readme_layout_matches_the_guard_ranks() -> None:
    assert _layout_ranks() == RANKS


def test_readme_names_the_owner_of_each_concept() -> None:
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1]
    for owner in ("engine/candidates.py", "engine/fallbacks.py", "ledger/budgets.py", "ModelSpec.cost()",
                  "RoutedResult", "config/aliases.py"):
        assert owner in layout, owner
