"""Fit cascade plans per task type by replaying candidate plans over recorded answers of training data.

For each task type (as task analysis labels the training prompts) a small space of plans is searched: every
single model, "cheap model, checked, then a stronger one", and "two or three cheap models, accepted when two
agree, else a strong one". Each plan's quality and cost come from the recorded answers (the same acceptance
code the live cascade runs), and only plans on the quality/cost frontier are kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import combinations

from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, Completion
from podium.providers.recorded_data import EvalRecord
from podium.routing.gates.answers import TEXT_RECORDED, answer_kind
from podium.routing.plans import ANSWER_KEY, CLOSED_SHARE, GENERAL, AnswerFacts, CascadePlan, PlanPoint, PlanTable, accepts

TaskOf = Callable[[str], str]
MAX_CHEAP = 5  # cheap models considered for chains: the most accurate ones cheaper than the best model
MAX_FINALS = 2  # strong models a chain may end with
MIN_GROUP = 30  # a task type needs this many training prompts for its own frontier
_COVERAGE = 0.5  # a model takes part in a group's plans when at least this share of its prompts holds it


def _facts(records: Sequence[EvalRecord]) -> list[dict[str, AnswerFacts]]:
    """Each record's answers, checked once: every plan replays from these."""
    out = []
    for r in records:
        request = ChatRequest.from_prompt(r.prompt)
        out.append({
            m: AnswerFacts.of(request, Completion(text=o.response, model=m, provider=m.split(":", 1)[0],
                                                  metadata={TEXT_RECORDED: o.text_recorded}))
            for m, o in r.outcomes.items()
        })
    return out


def replay_plan(plan: CascadePlan, record: EvalRecord, facts: dict[str, AnswerFacts]) -> tuple[float, Decimal]:
    """(correctness of the kept answer, total cost of every call) of one plan on one recorded prompt."""
    cost = Decimal(0)
    earlier: list[AnswerFacts] = []
    last = len(plan.models) - 1
    for i, model in enumerate(plan.models):
        outcome = record.outcomes[model]
        cost += outcome.cost_usd
        if i == last or accepts(plan.rule, facts[model], earlier)[0]:
            return outcome.correct, cost
        earlier.append(facts[model])
    raise ValidationError("a cascade plan needs at least one model", field="models")


def candidate_plans(accuracy: dict[str, float], cost: dict[str, Decimal]) -> list[CascadePlan]:
    """The plans searched for one task type, from each model's accuracy and mean cost there."""
    by_quality = sorted(accuracy, key=lambda m: (-accuracy[m], cost[m], m))
    finals = by_quality[:MAX_FINALS]
    cheap = [m for m in by_quality if cost[m] < cost[by_quality[0]]][:MAX_CHEAP]
    cheap.sort(key=lambda m: (cost[m], m))
    plans = [CascadePlan((m,)) for m in by_quality]
    for k in cheap:
        plans += [CascadePlan((k, f), "checks") for f in [*finals, *cheap] if f != k and accuracy[f] > accuracy[k]]
    for pair in combinations(cheap, 2):
        plans += [CascadePlan((*pair, f), "agree") for f in finals if f not in pair]
        for third in cheap:
            if third not in pair and cost[third] >= cost[pair[1]]:
                plans.append(CascadePlan((*pair, third), "agree"))
                plans += [CascadePlan((*pair, third, f), "agree") for f in finals if f not in pair and f != third]
    return list(dict.fromkeys(plans))


def frontier(points: Sequence[PlanPoint]) -> tuple[PlanPoint, ...]:
    """Plans no other plan beats on both quality and cost, cheapest first."""
    ordered = sorted(points, key=lambda p: (p.cost, -p.quality, len(p.plan.models)))
    kept: list[PlanPoint] = []
    for p in ordered:
        if not kept or p.quality > kept[-1].quality + 1e-12:
            kept.append(p)
    return tuple(kept)


def frontiers_by_availability(points: Sequence[PlanPoint]) -> tuple[PlanPoint, ...]:
    """Every plan that is on the frontier of some set of available models, cheapest first.

    A plan is dropped only when another plan using a subset of its models is at least as good and as cheap: a
    caller without some models (one provider's keys, a benchmark recorded for two models) then still finds the
    best plan among the models it has, which a single frontier over all models would have pruned away.
    """
    ordered = sorted(points, key=lambda p: (p.cost, -p.quality, len(p.plan.models), p.plan.models))
    kept: list[PlanPoint] = []
    for p in ordered:
        mine = set(p.plan.models)
        if not any(set(q.plan.models) <= mine and q.quality >= p.quality - 1e-12 for q in kept):
            kept.append(p)
    return tuple(kept)


def _group_frontier(
    rows: Sequence[int], records: Sequence[EvalRecord], facts: Sequence[dict[str, AnswerFacts]], reference: Decimal
) -> tuple[PlanPoint, ...]:
    counts: dict[str, int] = defaultdict(int)
    for i in rows:
        for m in records[i].outcomes:
            counts[m] += 1
    models = sorted(m for m, n in counts.items() if n >= _COVERAGE * len(rows))
    rows = [i for i in rows if all(m in records[i].outcomes for m in models)]
    if not rows or not models:
        return ()
    n = len(rows)
    accuracy = {m: sum(records[i].outcomes[m].correct for i in rows) / n for m in models}
    cost = {m: sum((records[i].outcomes[m].cost_usd for i in rows), Decimal(0)) / n for m in models}
    points = []
    for plan in candidate_plans(accuracy, cost):
        quality, total = 0.0, Decimal(0)
        for i in rows:
            q, c = replay_plan(plan, records[i], facts[i])
            quality += q
            total += c
        relative = float(total / n / reference) if reference else 0.0
        points.append(PlanPoint(plan, round(quality / n, 6), round(relative, 6), n))  # as stored in the router file
    return frontiers_by_availability(points)


def _by_answer_kind(records: Sequence[EvalRecord]) -> dict[str, list[int]]:
    """Rows per closed answer kind (choice, number): whether cheap answers agree does not depend on the topic."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        kind = answer_kind(ChatRequest.from_prompt(r.prompt))
        if kind in ("choice", "number"):
            groups[kind].append(i)
    return groups


def _richest_rows(rows: Sequence[int], records: Sequence[EvalRecord]) -> list[int]:
    """The rows answered by the largest set of models that at least ``MIN_GROUP`` rows share: a benchmark with
    two recorded models must not keep the others out of a group's plans."""
    sets = {frozenset(records[i].outcomes) for i in rows}
    best: list[int] = []
    best_size = 0
    for models in sorted(sets, key=lambda s: (-len(s), sorted(s))):
        covered = [i for i in rows if models <= records[i].outcomes.keys()]
        if len(covered) >= MIN_GROUP and len(models) > best_size:
            best, best_size = covered, len(models)
    return best


def _reference(records: Sequence[EvalRecord]) -> tuple[str, Decimal]:
    """The most accurate model over all records (ties: the cheaper) and its mean cost per prompt."""
    sums: dict[str, list] = defaultdict(lambda: [0.0, Decimal(0), 0])
    for r in records:
        for m, o in r.outcomes.items():
            s = sums[m]
            s[0], s[1], s[2] = s[0] + o.correct, s[1] + o.cost_usd, s[2] + 1
    best = max(sums, key=lambda m: (sums[m][0] / sums[m][2], -sums[m][1] / sums[m][2], m))
    return best, sums[best][1] / sums[best][2]


def fit_plan_table(records: Sequence[EvalRecord], task_of: TaskOf) -> PlanTable:
    """Fit a plan frontier per task type (``task_of(prompt)``) and one over all prompts (``general``)."""
    if not records:
        raise ValidationError("cannot fit cascade plans on no records; give at least one dataset", field="records")
    reference_model, reference = _reference(records)
    facts = _facts(records)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[task_of(r.prompt)].append(i)
    frontiers = {
        task: _group_frontier(rows, records, facts, reference) for task, rows in groups.items() if len(rows) >= MIN_GROUP
    }
    frontiers[GENERAL] = _group_frontier(range(len(records)), records, facts, reference)
    for kind, rows in _by_answer_kind(records).items():
        richest = _richest_rows(rows, records)
        if len(richest) >= MIN_GROUP:
            frontiers[ANSWER_KEY + kind] = _group_frontier(richest, records, facts, reference)
    closed = {i for rows in _by_answer_kind(records).values() for i in rows}
    info = {"prompts": len(records), "task_types": {t: len(rows) for t, rows in sorted(groups.items())},
            "reference_cost_usd": str(reference),
            # Which frontiers were fitted mostly on closed questions: their numbers say nothing about free text.
            CLOSED_SHARE: {t: round(sum(i in closed for i in rows) / len(rows), 4) for t, rows in sorted(groups.items())}}
    return PlanTable({k: v for k, v in frontiers.items() if v}, reference_model, info)
