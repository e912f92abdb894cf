"""Problem generation (the ``problem_generation`` task type): N problems with K variations each, on a budget tier.

gen = ProblemGenerator(config)
out = await gen.generate("dynamic programming", count=5, variations=2, max_usd=Decimal("0.50"))
for item in out.items: print(item["id"], item["text"])

Each problem (with its variations) is one checkpointed step; the prompt lists the problems already made so the
model does not repeat them, and exact or near-exact repeats (case, punctuation, spacing) are dropped anyway.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict, cast

from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject
from podium.core.types import Message
from podium.workflows.problems.batch import BatchOutcome, dedup_key, run_steps
from podium.workflows.problems.prompts import (
    AVOID_PROMPT,
    GENERATE_PROMPT,
    GENERATE_SYSTEM,
    GENERATION_TASK_TYPE,
    generate_schema,
)
from podium.workflows.records import COMPLETED, RunRecord, RunStep
from podium.workflows.session import SessionWorkflow, UsdAmount, new_run_id, positive_usd
from podium.workflows.typed import TypedAnswer, ask_typed

if TYPE_CHECKING:
    from podium.engine import Podium

WORKFLOW = "problems-generate"
MAX_COUNT, MAX_VARIATIONS = 100, 10
DIFFICULTIES = ("easy", "moderate", "hard")
AVOID_LIMIT = 20  # earlier problems quoted in the prompt


class _GenerateInputs(TypedDict):
    """A generation run's ``inputs``, as ``ProblemGenerator.generate`` records them."""

    topic: str
    count: int
    variations: int
    difficulty: str


class _Problem(TypedDict):
    """One reply, once it fits ``generate_schema``."""

    problem: str
    answer: str
    variations: list[str]


class _ProblemItem(TypedDict):
    text: str


class _GeneratedStep(TypedDict):
    """A completed step's ``output``, as ``ProblemGenerator._one`` saves it."""

    items: list[JSONObject]
    duplicates: int


def _inputs(run: RunRecord) -> _GenerateInputs:
    return cast(_GenerateInputs, run.inputs)


def _generated(step: RunStep) -> _GeneratedStep:
    return cast(_GeneratedStep, step.output)


class ProblemSet(BatchOutcome):
    """The generated problems (variations follow their problem), the repeats dropped, and the cost."""

    @property
    def items(self) -> list[JSONObject]:
        return [item for s in self.run.steps.values() if s.status == COMPLETED for item in _generated(s)["items"]]

    @property
    def duplicates(self) -> int:
        return sum(_generated(s)["duplicates"] for s in self.run.steps.values() if s.status == COMPLETED)

    def to_dict(self) -> JSONObject:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "stop_reason": self.run.stop_reason,
            "topic": _inputs(self.run)["topic"],
            "items": self.items,
            "duplicates_dropped": self.duplicates,
            "cost_usd": str(self.cost_usd),
            "max_usd": str(self.run.max_usd),
        }


def check_request(topic: str, count: int, variations: int, difficulty: str) -> None:
    if not topic or not topic.strip():
        raise ValidationError("--topic is empty; name the subject of the problems", field="topic", value=topic)
    if not 1 <= count <= MAX_COUNT:
        raise ValidationError(f"--count {count} is not valid; use 1 to {MAX_COUNT}", field="count", value=count)
    if not 0 <= variations <= MAX_VARIATIONS:
        raise ValidationError(
            f"--variations {variations} is not valid; use 0 to {MAX_VARIATIONS}", field="variations", value=variations
        )
    if difficulty not in DIFFICULTIES:
        raise ValidationError(
            f"--difficulty {difficulty!r} is not valid; use one of {', '.join(DIFFICULTIES)}",
            field="difficulty",
            value=difficulty,
            valid=list(DIFFICULTIES),
        )


class ProblemGenerator(SessionWorkflow):
    """Generates problems through the task table's ``problem_generation`` row (a budget model by default)."""

    async def generate(
        self,
        topic: str,
        *,
        count: int = 5,
        variations: int = 0,
        difficulty: str = "moderate",
        max_usd: UsdAmount = Decimal("1.0"),
        run_id: str | None = None,
    ) -> ProblemSet:
        check_request(topic, count, variations, difficulty)
        if run_id is not None and self.session.store.exists(run_id):
            return await self.resume(run_id)
        inputs: JSONObject = {
            "topic": topic.strip(),
            "count": count,
            "variations": variations,
            "difficulty": difficulty,
        }
        rid = run_id or new_run_id("problems")
        run = RunRecord(
            id=rid,
            workflow=WORKFLOW,
            title=topic.strip()[:60],
            inputs=inputs,
            max_usd=positive_usd(max_usd, "--budget"),
        )
        return await self._run(run)

    async def resume(self, run_id: str, *, max_usd: UsdAmount | None = None) -> ProblemSet:
        """Continue a paused run: finished problems are kept and not asked again."""
        run = self.session.store.load(run_id)
        if max_usd is not None:
            run.max_usd = positive_usd(max_usd, "--budget")
        return await self._run(run)

    async def _run(self, run: RunRecord) -> ProblemSet:
        count = _inputs(run)["count"]
        steps = [f"p{i}" for i in range(1, count + 1)]
        await run_steps(self.session, run, steps, lambda client, step: self._one(client, run, step))
        return ProblemSet(run)

    async def _one(self, client: Podium, run: RunRecord, step: RunStep) -> TypedAnswer[JSONObject]:
        inputs = _inputs(run)
        earlier = [
            cast(_ProblemItem, i)["text"]
            for s in run.steps.values()
            if s.status == COMPLETED
            for i in _generated(s)["items"]
        ]
        avoid = AVOID_PROMPT.format(earlier="\n".join(f"- {t}" for t in earlier[-AVOID_LIMIT:])) if earlier else ""
        index = list(run.steps).index(step.id) + 1
        prompt = GENERATE_PROMPT.format(
            topic=inputs["topic"], difficulty=inputs["difficulty"], index=index, count=inputs["count"], avoid=avoid
        )
        messages = [Message.system(GENERATE_SYSTEM.format(variations=inputs["variations"])), Message.user(prompt)]
        meta = self.session.meta(
            run.id, workflow=WORKFLOW, task_type=GENERATION_TASK_TYPE, step=step.id, role="generator"
        )
        answer = await ask_typed(
            client, messages, schema=generate_schema(inputs["variations"]), meta=meta, strategy="table", max_tokens=2048
        )
        reply = cast(_Problem, answer.value)  # ask_typed checked it against generate_schema
        seen = {dedup_key(t) for t in earlier}
        items: list[dict[str, str]] = []
        dropped = 0
        texts: list[tuple[str, str, str, str | None]] = [(step.id, "problem", reply["problem"], reply.get("answer"))]
        texts += [(f"{step.id}.v{k}", "variation", v, None) for k, v in enumerate(reply["variations"], 1)]
        for item_id, kind, text, solution in texts:
            key = dedup_key(text)
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            # the call that wrote a problem wrote its variations too: they share its cost
            item = {
                "id": item_id,
                "kind": kind,
                "text": text.strip(),
                "model": answer.model,
                "call_cost_usd": str(answer.cost_usd),
            }
            if kind == "variation":
                item["variation_of"] = step.id
            if solution:
                item["answer"] = solution.strip()
            items.append(item)
        step.output = {"items": items, "duplicates": dropped}
        return answer
