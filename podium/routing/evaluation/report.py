"""``podium eval`` output: the JSON object and the rich table."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from podium.routing.evaluation.harness import EvalReport
from podium.routing.evaluation.metrics import Point, ratio

if TYPE_CHECKING:
    from rich.table import Table


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.000001")).normalize(), "f")


def _strategy_json(p: Point, strongest: Point) -> dict[str, Any]:
    return {
        "name": p.name,
        "params": p.params,
        "quality": round(p.quality, 6),
        "cost_usd": _money(p.cost_usd),
        "quality_vs_strongest": _round(ratio(p.quality, strongest.quality)),
        "cost_vs_strongest": _round(ratio(p.cost_usd, strongest.cost_usd)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _reach_json(p: Point | None, strongest: Point) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"name": p.name, "threshold": p.threshold, "quality": round(p.quality, 6), "cost_usd": _money(p.cost_usd),
            "cost_vs_strongest": _round(ratio(p.cost_usd, strongest.cost_usd))}


def to_json(report: EvalReport) -> dict[str, Any]:
    """The ``--json`` object: prompts, strongest, oracle, strategies, curve, plus apgr and cost_to_reach."""
    s = report.strongest
    return {
        "prompts": report.prompts,
        "strongest": {"model": s.params.get("model"), "quality": round(s.quality, 6), "cost_usd": _money(s.cost_usd)},
        "oracle": {"quality": round(report.oracle.quality, 6), "cost_usd": _money(report.oracle.cost_usd),
                   "quality_vs_strongest": _round(ratio(report.oracle.quality, s.quality)),
                   "cost_vs_strongest": _round(ratio(report.oracle.cost_usd, s.cost_usd))},
        "strategies": [_strategy_json(p, s) for p in report.strategies],
        "curve": [
            {"name": p.name, "threshold": p.threshold, "quality": round(p.quality, 6), "cost_usd": _money(p.cost_usd)}
            for p in report.curve
        ],
        "apgr": {name: round(v, 6) for name, v in sorted(report.apgr.items())},
        "cost_to_reach": {f"{k}%": _reach_json(p, s) for k, p in report.reach.items()},
        "train_prompts": report.train_prompts,
    }


_SHORT_KEYS = {"quality_threshold": "q>=", "cost_weight": "λ=", "size": "n=", "method": "", "seed": "seed ",
               "tolerance": "±"}


def _short_param(key: str, value: Any) -> str:
    if key == "model":
        return str(value).split(":", 1)[-1]
    if key == "pair":
        return "+".join(str(m).split(":", 1)[-1] for m in value)
    if key == "strongest":
        return "else " + str(value).split(":", 1)[-1]
    return f"{_SHORT_KEYS.get(key, key + '=')}{value}"


def render_table(report: EvalReport) -> Table:
    """Strategies and baselines with quality and cost, absolute and relative to the strongest model."""
    from rich.table import Table

    s = report.strongest
    table = Table(title=f"podium eval: {report.prompts} held-out prompts (router trained on {report.train_prompts} other prompts)")
    table.add_column("strategy", no_wrap=True)
    table.add_column("params")
    for col in ("quality", "cost (USD)", "quality vs strongest", "cost vs strongest"):
        table.add_column(col, justify="right")
    for p in [*report.strategies, report.oracle]:
        params = ", ".join(_short_param(k, v) for k, v in p.params.items() if k not in ("table", "gates"))
        q_rel, c_rel = ratio(p.quality, s.quality), ratio(p.cost_usd, s.cost_usd)
        table.add_row(
            p.name, params, f"{p.quality:.3f}", f"{p.cost_usd:.4f}",
            "-" if q_rel is None else f"{q_rel:.1%}", "-" if c_rel is None else f"{c_rel:.1%}",
        )
    lines = [f"strongest on training data: {s.params.get('model')}"]
    lines += [f"APGR {name}: {value:.3f}" for name, value in sorted(report.apgr.items())]
    for share, p in report.reach.items():
        c_rel = None if p is None else ratio(p.cost_usd, s.cost_usd)
        where = "not reached" if p is None or c_rel is None else (
            f"{c_rel:.1%} of its cost ({p.name}" + ("" if p.threshold is None else f" @ {p.threshold:g}") + ")"
        )
        lines.append(f"{share}% of strongest quality: {where}")
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table
