"""Offline evaluation of routing strategies by replaying recorded model answers."""

from podium.routing.evaluation.harness import STRATEGIES, SWEEPS, EvalReport, evaluate, exclude_prompts, run_strategy
from podium.routing.evaluation.metrics import Point, apgr, cost_to_reach, pgr
from podium.routing.evaluation.replay import PredictionTable, RecordCaller, RecordedCatalog
from podium.routing.evaluation.report import render_table, to_json

__all__ = [
    "STRATEGIES",
    "SWEEPS",
    "EvalReport",
    "Point",
    "PredictionTable",
    "RecordCaller",
    "RecordedCatalog",
    "apgr",
    "cost_to_reach",
    "evaluate",
    "exclude_prompts",
    "pgr",
    "render_table",
    "run_strategy",
    "to_json",
]
