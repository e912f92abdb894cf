"""Grading (the ``evaluation_grading`` task type): a judge model scores each answer against a rubric.

grader = AnswerGrader(config)
out = await grader.grade(read_answers(Path("answers.jsonl")), rubric="Correct final value; reasoning shown.")
for row in out.rows: print(row["id"], row["score"], row["feedback"])

Each answer is one checkpointed step. An answer repeated for the same question (case, punctuation and spacing
ignored) is graded once; its copies take that grade at no cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject
from podium.core.types import Message
from podium.workflows.problems.batch import BatchOutcome, dedup_key, run_steps
from podium.workflows.problems.prompts import GRADE_PROMPT, GRADE_SCHEMA, GRADE_SYSTEM, GRADING_TASK_TYPE
from podium.workflows.records import COMPLETED, RunRecord, RunStep
from podium.workflows.session import SessionWorkflow, UsdAmount, new_run_id, positive_usd
from podium.workflows.typed import TypedAnswer, ask_typed

if TYPE_CHECKING:
    from podium.engine import Podium

WORKFLOW = "problems-grade"
_QUESTION_KEYS = ("question", "problem", "text")


class _AnswerInput(TypedDict):
    id: str
    question: str
    answer: str
    reference: str | None


class _GradeInputs(TypedDict):
    """A grading run's ``inputs``, as ``AnswerGrader.grade`` records them."""

    rubric: str
    answers: list[_AnswerInput]


class _Grade(TypedDict):
    """One reply, once it fits GRADE_SCHEMA (``verdict`` is optional there)."""

    score: float
    verdict: NotRequired[str]
    feedback: str


def _inputs(run: RunRecord) -> _GradeInputs:
    return cast(_GradeInputs, run.inputs)


def _graded(step: RunStep) -> JSONObject:
    """A completed step's ``output``: the grade, as ``AnswerGrader._one`` saves it."""
    return cast(JSONObject, step.output)


@dataclass(frozen=True, slots=True)
class AnswerItem:
    id: str
    question: str
    answer: str
    reference: str | None = None

    def to_dict(self) -> JSONObject:
        return {"id": self.id, "question": self.question, "answer": self.answer, "reference": self.reference}


def read_answers(path: Path) -> list[AnswerItem]:
    """Answers from JSONL: one object a line with ``answer`` and ``question`` (or ``problem``/``text``), and
    optional ``id`` and ``reference``. A bad line is a one-line ValidationError naming the line and key."""
    file = Path(path).expanduser()
    try:
        lines = file.read_text().splitlines()
    except OSError as exc:
        raise ValidationError(
            f"cannot read answers file {file}: {exc.strerror}", field="answers", value=str(file)
        ) from None
    items: list[AnswerItem] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{file} line {number}"
        try:
            row = json.loads(line)
        except ValueError:
            raise ValidationError(
                f"{where} is not JSON; write one JSON object a line", field="answers", value=line[:60]
            ) from None
        if not isinstance(row, dict):
            raise ValidationError(f"{where} must be a JSON object", field="answers", value=line[:60])
        question = next((row[k] for k in _QUESTION_KEYS if isinstance(row.get(k), str) and row[k].strip()), None)
        if question is None or not isinstance(row.get("answer"), str):
            raise ValidationError(
                f'{where} needs "question" (or "problem") and "answer" strings', field="answers", value=line[:60]
            )
        item_id = str(row.get("id") or f"a{number}")
        reference = row.get("reference") if isinstance(row.get("reference"), str) else None
        items.append(AnswerItem(item_id, question.strip(), row["answer"], reference))
    if not items:
        raise ValidationError(
            f"{file} holds no answers; write one JSON object a line", field="answers", value=str(file)
        )
    ids = [i.id for i in items]
    repeated = next((i for i in ids if ids.count(i) > 1), None)
    if repeated is not None:
        raise ValidationError(
            f"{file}: id {repeated!r} is used twice; give each answer its own id", field="id", value=repeated
        )
    return items


class GradeReport(BatchOutcome):
    """One row per answer with its score, feedback, judge model and cost, and the mean score."""

    @property
    def rows(self) -> list[JSONObject]:
        out: list[JSONObject] = []
        for item in _inputs(self.run)["answers"]:
            step = self.run.steps.get(item["id"])
            if step is None or step.status != COMPLETED:
                continue
            out.append({"id": item["id"], **_graded(step), "model": step.model, "cost_usd": str(step.cost_usd)})
        return out

    @property
    def mean_score(self) -> float | None:
        scores = [cast(float, r["score"]) for r in self.rows]
        return round(sum(scores) / len(scores), 4) if scores else None

    def to_dict(self) -> JSONObject:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "stop_reason": self.run.stop_reason,
            "rows": self.rows,
            "graded": len(self.rows),
            "total": len(_inputs(self.run)["answers"]),
            "mean_score": self.mean_score,
            "cost_usd": str(self.cost_usd),
            "max_usd": str(self.run.max_usd),
        }


class AnswerGrader(SessionWorkflow):
    """Grades answers through the task table's ``evaluation_grading`` row (a judge model by default)."""

    async def grade(
        self,
        answers: list[AnswerItem],
        *,
        rubric: str,
        max_usd: UsdAmount = Decimal("1.0"),
        run_id: str | None = None,
    ) -> GradeReport:
        if not rubric or not rubric.strip():
            raise ValidationError("--rubric is empty; say how answers are judged", field="rubric", value=rubric)
        if run_id is not None and self.session.store.exists(run_id):
            return await self.resume(run_id)
        inputs: JSONObject = {"rubric": rubric.strip(), "answers": [a.to_dict() for a in answers]}
        rid = run_id or new_run_id("grades")
        run = RunRecord(
            id=rid,
            workflow=WORKFLOW,
            title=f"{len(answers)} answers",
            inputs=inputs,
            max_usd=positive_usd(max_usd, "--budget"),
        )
        return await self._run(run)

    async def resume(self, run_id: str, *, max_usd: UsdAmount | None = None) -> GradeReport:
        run = self.session.store.load(run_id)
        if max_usd is not None:
            run.max_usd = positive_usd(max_usd, "--budget")
        return await self._run(run)

    async def _run(self, run: RunRecord) -> GradeReport:
        ids = [a["id"] for a in _inputs(run)["answers"]]
        await run_steps(self.session, run, ids, lambda client, step: self._one(client, run, step))
        return GradeReport(run)

    async def _one(self, client: Podium, run: RunRecord, step: RunStep) -> TypedAnswer[JSONObject] | None:
        items = {a["id"]: a for a in _inputs(run)["answers"]}
        item = items[step.id]
        key = (dedup_key(item["question"]), dedup_key(item["answer"]))
        for other in run.steps.values():
            source = items[other.id]
            if other.status == COMPLETED and (dedup_key(source["question"]), dedup_key(source["answer"])) == key:
                origin = _graded(other).get("duplicate_of") or other.id
                step.output = {**_graded(other), "duplicate_of": origin}
                step.model = other.model
                return None
        reference = f"\nReference answer:\n{item['reference']}\n" if item.get("reference") else ""
        prompt = GRADE_PROMPT.format(
            rubric=_inputs(run)["rubric"], question=item["question"], reference=reference, answer=item["answer"]
        )
        meta = self.session.meta(run.id, workflow=WORKFLOW, task_type=GRADING_TASK_TYPE, step=step.id, role="judge")
        answer = await ask_typed(
            client,
            [Message.system(GRADE_SYSTEM), Message.user(prompt)],
            schema=GRADE_SCHEMA,
            meta=meta,
            strategy="table",
            max_tokens=512,
        )
        value = cast(_Grade, answer.value)  # ask_typed checked it against GRADE_SCHEMA
        step.output = {
            "score": float(value["score"]),
            "verdict": value.get("verdict"),
            "feedback": value["feedback"].strip(),
        }
        return answer
