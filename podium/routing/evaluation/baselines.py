"""Baselines every strategy is compared with, computed straight from recorded outcomes (no model calls)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal

from podium.core.money import ZERO
from podium.providers.recorded_data import EvalRecord
from podium.routing.evaluation.metrics import Point


def model_stats(records: Sequence[EvalRecord]) -> dict[str, tuple[float, Decimal]]:
    """Per model: (mean correctness, mean cost per prompt) over the records that hold it."""
    sums: dict[str, list] = defaultdict(lambda: [0.0, ZERO, 0])
    for r in records:
        for model, o in r.outcomes.items():
            s = sums[model]
            s[0] += o.correct
            s[1] += o.cost_usd
            s[2] += 1
    return {m: (s[0] / s[2], s[1] / s[2]) for m, s in sums.items()}


def strongest_model(train: Sequence[EvalRecord]) -> str:
    """The single model most accurate on the training data (ties: the cheaper one)."""
    stats = model_stats(train)
    return max(stats, key=lambda m: (stats[m][0], -stats[m][1]))


def cheapest_model(train: Sequence[EvalRecord]) -> str:
    stats = model_stats(train)
    return min(stats, key=lambda m: (stats[m][1], -stats[m][0]))


def _point(name: str, test: Sequence[EvalRecord], pick: Callable[[EvalRecord], str], **params: object) -> Point:
    quality, cost, chosen = 0.0, ZERO, Counter[str]()
    for r in test:
        model = pick(r)
        quality += r.outcomes[model].correct
        cost += r.outcomes[model].cost_usd
        chosen[model] += 1
    return Point(name, quality / max(1, len(test)), cost, params=dict(params), chosen=dict(chosen), calls=len(test))


def _ranked_pick(preference: Sequence[str]) -> Callable[[EvalRecord], str]:
    """Pick the first model in ``preference`` the record holds (records from some files hold fewer models)."""

    def pick(r: EvalRecord) -> str:
        return next((m for m in preference if m in r.outcomes), next(iter(r.outcomes)))

    return pick


def always(name: str, model: str, train: Sequence[EvalRecord], test: Sequence[EvalRecord], *, by_quality: bool) -> Point:
    """One model for every prompt; where a record lacks it, the next model by training quality (or cost)."""
    stats = model_stats(train)
    key = (lambda m: (-stats[m][0], stats[m][1])) if by_quality else (lambda m: (stats[m][1], -stats[m][0]))
    preference = [model] + sorted((m for m in stats if m != model), key=key)
    return _point(name, test, _ranked_pick(preference), model=model)


def random_mix(train: Sequence[EvalRecord], test: Sequence[EvalRecord], *, seed: int) -> Point:
    """A uniformly random model per prompt (seeded)."""
    rng = random.Random(seed)
    return _point("random", test, lambda r: rng.choice(sorted(r.outcomes)), seed=seed)


def task_best(train: Sequence[EvalRecord], test: Sequence[EvalRecord]) -> Point:
    """Per-task table learned from training data: the most accurate model per eval (task type)."""
    by_eval: dict[str, list[EvalRecord]] = defaultdict(list)
    for r in train:
        by_eval[r.eval_name].append(r)
    overall = strongest_model(train)
    best = {name: strongest_model(rows) for name, rows in by_eval.items()}
    stats = model_stats(train)
    fallback = sorted(stats, key=lambda m: -stats[m][0])

    def pick(r: EvalRecord) -> str:
        return _ranked_pick([best.get(r.eval_name, overall), *fallback])(r)

    return _point("task-best", test, pick, table=best)


def task_table(train: Sequence[EvalRecord], test: Sequence[EvalRecord], *, tolerance: float = 0.05) -> Point:
    """The task router's table learned from training data: per eval, the cheapest model within ``tolerance``
    (absolute accuracy) of that eval's best model."""
    by_eval: dict[str, list[EvalRecord]] = defaultdict(list)
    for r in train:
        by_eval[r.eval_name].append(r)
    table: dict[str, str] = {}
    for name, rows in by_eval.items():
        stats = model_stats(rows)
        best = max(q for q, _ in stats.values())
        table[name] = min((m for m, (q, _) in stats.items() if q >= best - tolerance), key=lambda m: stats[m][1])
    overall = model_stats(train)
    fallback = sorted(overall, key=lambda m: -overall[m][0])

    def pick(r: EvalRecord) -> str:
        return _ranked_pick([table[r.eval_name]] if r.eval_name in table else fallback)(r)

    return _point("task-table", test, pick, tolerance=tolerance, table=table)


def oracle(test: Sequence[EvalRecord]) -> Point:
    """The cheapest correct model per prompt (the cheapest model when none is correct): an upper bound."""

    def pick(r: EvalRecord) -> str:
        best = max(o.correct for o in r.outcomes.values())
        return min((m for m, o in r.outcomes.items() if o.correct == best), key=lambda m: r.outcomes[m].cost_usd)

    return _point("oracle", test, pick)


def _agreement_run(records: Sequence[EvalRecord], a: str, b: str, strong: str) -> tuple[float, Decimal, Counter[str]]:
    """Ask ``a`` and ``b``; keep ``a``'s answer when both give the same closed answer, else also ask ``strong``."""
    from podium.core.types import ChatRequest
    from podium.routing.gates.answers import comparable_answer

    quality, cost, chosen = 0.0, ZERO, Counter[str]()
    for r in records:
        oa, ob = r.outcomes.get(a), r.outcomes.get(b)
        os_ = r.outcomes.get(strong) or max(r.outcomes.values(), key=lambda o: o.correct)
        if oa is None or ob is None:  # the pair did not answer this prompt: only the strongest is asked
            quality += os_.correct
            cost += os_.cost_usd
            chosen[strong] += 1
            continue
        request = ChatRequest.from_prompt(r.prompt)
        ans_a, ans_b = comparable_answer(request, oa.response), comparable_answer(request, ob.response)
        cost += oa.cost_usd + ob.cost_usd
        if ans_a is not None and ans_a == ans_b:
            quality += oa.correct
            chosen[a] += 1
        else:  # disagreement, or no closed answer to compare (code, prose): the strongest model decides
            quality += os_.correct
            cost += os_.cost_usd
            chosen[strong] += 1
    return quality, cost, chosen


# The pair is chosen on training data by quality minus this weight times its cost relative to the strongest model.
PAIR_COST_WEIGHT = 0.2


def agree_or_strongest(train: Sequence[EvalRecord], test: Sequence[EvalRecord]) -> Point | None:
    """Two cheap models agree, else the strongest: of the pairs cheaper than the strongest model on the training
    data, the one with the best quality minus ``PAIR_COST_WEIGHT`` x relative cost. Answers agree when their closed
    answer (choice, number) or their code (by syntax tree) is the same. None when the data has no answers to compare
    or fewer than three models."""
    stats = model_stats(train)
    strong = strongest_model(train)
    cheap = sorted((m for m in stats if m != strong), key=lambda m: stats[m][1])
    if len(cheap) < 2 or not any(o.response for r in train[:50] for o in r.outcomes.values()):
        return None
    best: tuple[float, str, str] | None = None
    for i, a in enumerate(cheap):
        for b in cheap[i + 1:]:
            answered = [r for r in train if a in r.outcomes and b in r.outcomes and strong in r.outcomes]
            strong_cost = sum((r.outcomes[strong].cost_usd for r in answered), ZERO)
            if not answered or not strong_cost:
                continue
            quality, cost, _ = _agreement_run(answered, a, b, strong)
            if cost >= strong_cost:
                continue
            score = quality / len(answered) - PAIR_COST_WEIGHT * float(cost / strong_cost)
            if best is None or score > best[0]:
                best = (score, a, b)
    if best is None:
        return None
    _, a, b = best
    quality, cost, chosen = _agreement_run(test, a, b, strong)
    return Point("agree-or-strongest", quality / max(1, len(test)), cost, params={"pair": [a, b], "strongest": strong},
                 chosen=dict(chosen), calls=2 * len(test) + chosen[strong])
