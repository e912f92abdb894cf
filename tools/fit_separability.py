"""Refit the separability of hard prompts used by the router's judged-prompt prior.

Arena-Hard-Auto v0.1 reports each model's win rate against GPT-4-0314 on hard prompts; the Arena reports each
model's Elo over all prompts. Regressing logit(win rate) on Elo in logit units (400 / ln 10 Elo) gives how much more
hard prompts separate models than the average Arena prompt (slope 1 would mean "as much").

    python tools/fit_separability.py            # prints the fit
    python tools/fit_separability.py --check    # exits 1 if podium's constant differs from the fit by > 0.01
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

SOURCES = Path(__file__).with_name("profile_sources.csv")
ELO_SOURCE = "LMA2025"  # the Arena snapshot the profiles' overall figures come from
HARD_CATEGORY = "arena_hard_v01"


def series(rows: list[dict[str, str]], category: str, source: str | None = None) -> dict[str, float]:
    return {r["leaderboard_name"]: float(r["value"]) for r in rows
            if r["category"] == category and (source is None or r["source"].startswith(source))}


def fit(rows: list[dict[str, str]]) -> tuple[float, float, int]:
    """(slope, correlation, models) of logit(Arena-Hard win rate) on Arena Elo in logit units."""
    elo = series(rows, "overall", ELO_SOURCE)
    hard = series(rows, HARD_CATEGORY)
    pairs = [(elo[m] / (400 / math.log(10)), math.log(v / (100 - v))) for m, v in hard.items()
             if m in elo and 0.5 < v < 99.5]
    x, y = np.asarray([p[0] for p in pairs]), np.asarray([p[1] for p in pairs])
    slope = float(np.polyfit(x, y, 1)[0])
    return slope, float(np.corrcoef(x, y)[0, 1]), len(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the constant Podium ships")
    args = parser.parse_args()
    with SOURCES.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    slope, r, n = fit(rows)
    print(f"hard-prompt separability: {slope:.2f} (r = {r:.2f}, {n} models)")
    if args.check:
        from podium.routing.arena_priors import HARD_SEPARABILITY

        if abs(HARD_SEPARABILITY - slope) > 0.01:
            print(f"podium ships {HARD_SEPARABILITY}; update podium/routing/arena_priors.py", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
