"""Replay plumbing for evaluation: a model caller answering from recorded outcomes, cached router predictions,
and catalog entries for recorded models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from podium.core.errors import ReplayMissError, UnknownModelError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion
from podium.providers.recorded_data import EvalRecord, estimate_tokens
from podium.routing.gates.answers import TEXT_RECORDED
from podium.routing.plans import PlanTable
from podium.routing.strategies.base import ModelLookup, QualityPredictor


class RecordCaller:
    """A ``ModelCaller`` that answers each (prompt, model) with the recorded response, priced at the recorded cost.

    ``metadata["correct"]`` carries the recorded correctness, so the harness scores the answer a strategy kept.
    """

    def __init__(self, records: Iterable[EvalRecord]) -> None:
        self._by_prompt: dict[str, EvalRecord] = {r.prompt: r for r in records}
        self.calls = 0

    async def __call__(self, model_id: str, request: ChatRequest, meta: CallMeta) -> Completion:
        prompt = request.last_user_text
        record = self._by_prompt.get(prompt)
        outcome = record.outcomes.get(model_id) if record is not None else None
        if outcome is None:
            raise ReplayMissError(model_id, prompt)
        self.calls += 1
        return Completion(
            text=outcome.response,
            model=model_id,
            provider=model_id.split(":", 1)[0],
            cost_usd=outcome.cost_usd,
            metadata={"correct": outcome.correct, "record": record.id if record else None,
                      TEXT_RECORDED: outcome.text_recorded},
        )


class PredictionTable:
    """Router predictions and task types computed once for every evaluated prompt, then looked up.

    It carries the router's cascade plans, so strategies built on it run exactly as on the router.
    """

    def __init__(
        self,
        models: Sequence[str],
        prompts: Sequence[str],
        matrix: Sequence[Sequence[float]],
        *,
        plans: PlanTable | None = None,
        task_types: Sequence[str] | None = None,
    ) -> None:
        self.models = tuple(models)
        self._rows = {p: dict(zip(self.models, (float(x) for x in row), strict=True)) for p, row in zip(prompts, matrix)}
        self.plans = plans
        self._tasks = dict(zip(prompts, task_types, strict=True)) if task_types is not None else {}

    @classmethod
    def from_router(cls, router: QualityPredictor, prompts: Sequence[str]) -> PredictionTable:
        unique = list(dict.fromkeys(prompts))
        many = getattr(router, "predict_many", None)
        if many is not None:
            matrix = many(unique)
        else:
            matrix = [[router.predict(p)[m] for m in router.models] for p in unique]
        plans = getattr(router, "plans", None)
        task_type = getattr(router, "task_type", None)
        tasks = [task_type(p) for p in unique] if plans is not None and task_type is not None else None
        return cls(router.models, unique, matrix, plans=plans, task_types=tasks)

    def task_type(self, prompt: str) -> str:
        """The router's task type for an evaluated prompt (task analysis for any other)."""
        found = self._tasks.get(prompt)
        if found is None:
            from podium.routing.task_analysis import analyze

            found = analyze(prompt).task_type
        return found

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        row = self._rows[prompt]
        return dict(row) if models is None else {m: row[m] for m in models if m in row}


class RecordedCatalog:
    """Catalog lookups for recorded models; a model the catalog lacks gets its price from the recorded costs."""

    def __init__(self, records: Sequence[EvalRecord], catalog: ModelLookup | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {}
        tokens: dict[str, int] = {}
        cost: dict[str, Decimal] = {}
        for r in records:
            for model, outcome in r.outcomes.items():
                tokens[model] = tokens.get(model, 0) + estimate_tokens(r.prompt) + estimate_tokens(outcome.response)
                cost[model] = cost.get(model, Decimal(0)) + outcome.cost_usd
        for model, count in tokens.items():
            self._specs[model] = self._spec(model, catalog, cost[model], count)

    @staticmethod
    def _spec(model: str, catalog: ModelLookup | None, cost: Decimal, tokens: int) -> ModelSpec:
        if catalog is not None:
            try:
                spec = catalog.get(model)
            except LookupError:
                spec = None
            if spec is not None and spec.priced:
                return spec
        price = (cost / tokens * 1_000_000).quantize(Decimal("0.0001")) if tokens else Decimal(0)
        provider, _, name = model.partition(":")
        return ModelSpec(
            id=model, provider=provider or "replay", api_model=name or model, input_per_million=price,
            output_per_million=price, context_window=1_000_000, price_source="mean recorded cost per token",
        )

    def get(self, name: str) -> ModelSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise UnknownModelError(name, [m for m in self._specs if name.lower() in m.lower()][:3])
        return spec

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self._specs)
