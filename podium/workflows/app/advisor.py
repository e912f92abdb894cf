"""``ArchitectureAdvisor``: a reasoning model decides the architecture as typed, schema-checked output.

advisor = ArchitectureAdvisor(config)
decision = await advisor.analyze("Real-time collaborative editor", criteria="100+ concurrent users")
print(decision.structural_pattern, decision.topology, decision.rationale, decision.cost_usd)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, cast

from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.core.types import Message
from podium.workflows.app.prompts import ADVISOR_SCHEMA, ADVISOR_SYSTEM, ARCHITECTURE_CONSTRAINT, advisor_prompt
from podium.workflows.records import RunRecord, RunStep
from podium.workflows.session import SessionWorkflow, WorkflowSession, new_run_id
from podium.workflows.typed import ask_typed

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.engine import Podium

WORKFLOW = "advise"
ADVISOR_TASK_TYPE = "reasoning"  # the task-table row that picks the reasoning model
DEFAULT_ADVICE_MAX_USD = Decimal("0.50")
APP_TYPES = ("fastapi", "flask", "cli", "library", "script")
_APP_TYPE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "fastapi",
        re.compile(r"\bfastapi\b|\brest(?:ful)? api\b|\bhttp api\b|\bweb service\b|\bendpoints?\b", re.IGNORECASE),
    ),
    ("flask", re.compile(r"\bflask\b|\bweb app\b|\bwebsite\b", re.IGNORECASE)),
    ("cli", re.compile(r"\bcli\b|\bcommand[- ]line\b|\bterminal tool\b", re.IGNORECASE)),
    ("script", re.compile(r"\bscript\b|\bcron job\b", re.IGNORECASE)),
)


def detect_app_type(description: str) -> str:
    """The app type a description asks for (``library`` when it names none)."""
    for name, pattern in _APP_TYPE_WORDS:
        if pattern.search(description):
            return name
    return "library"


def app_type_name(value: str) -> str:
    key = value.strip().lower()
    if key not in APP_TYPES:
        raise ValidationError(
            f"--app-type {value!r} is not valid; use one of {', '.join(APP_TYPES)} (or leave it out to detect it)",
            field="app_type",
            value=value,
            valid=list(APP_TYPES),
        )
    return key


def check_description(value: str) -> str:
    if not value or not value.strip():
        raise ValidationError("the app description is empty; describe what to build", field="description", value=value)
    return value.strip()


class Architecture(TypedDict):
    """The advisor's reply, once it fits ADVISOR_SCHEMA."""

    structural_pattern: str
    topology: str
    api_paradigm: str
    data_paradigm: str
    rationale: str


@dataclass(frozen=True, slots=True)
class ArchitectureDecision:
    """The advisor's typed answer and what it cost."""

    app_type: str
    structural_pattern: str
    topology: str
    api_paradigm: str
    data_paradigm: str
    rationale: str
    model: str = ""
    cost_usd: Decimal = ZERO
    run_id: str | None = None

    def constraint(self) -> str:
        """The text the project planner and every task see."""
        return ARCHITECTURE_CONSTRAINT.format(**self.to_dict())

    def to_dict(self) -> JSONObject:
        return {
            "app_type": self.app_type,
            "structural_pattern": self.structural_pattern,
            "topology": self.topology,
            "api_paradigm": self.api_paradigm,
            "data_paradigm": self.data_paradigm,
            "rationale": self.rationale,
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "run_id": self.run_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchitectureDecision:
        return cls(**{**data, "cost_usd": Decimal(str(data.get("cost_usd", "0")))})


def _lowered(value: JSONObject) -> JSONObject:
    return {k: (v.strip().lower() if isinstance(v, str) and k != "rationale" else v) for k, v in value.items()}


class ArchitectureAdvisor(SessionWorkflow):
    """Asks a reasoning model (the task table's ``reasoning`` row, or ``model``) for the architecture."""

    def __init__(
        self,
        config: PodiumConfig | None = None,
        *,
        session: WorkflowSession | None = None,
        model: str | None = None,
        **session_kwargs: Any,
    ) -> None:
        super().__init__(config, session=session, **session_kwargs)
        self.model = model

    async def analyze(
        self,
        description: str,
        criteria: str = "",
        *,
        app_type: str | None = None,
        max_usd: Decimal = DEFAULT_ADVICE_MAX_USD,
        run_id: str | None = None,
    ) -> ArchitectureDecision:
        """Decide the architecture; the call is priced on the ledger under ``run_id`` and recorded as a run.

        Raises InvalidModelOutputError when two replies miss the schema, BudgetExceededError when ``max_usd``
        cannot pay for the call (nothing is sent).
        """
        text = check_description(description)
        kind = app_type_name(app_type) if app_type else detect_app_type(text)
        rid = run_id or new_run_id(WORKFLOW)
        inputs: JSONObject = {"description": text, "criteria": criteria, "app_type": kind}
        run = RunRecord(id=rid, workflow=WORKFLOW, title=text[:60], inputs=inputs, max_usd=max_usd)
        async with self.session.client(rid, max_usd) as client:
            return await self.decide(client, run, text, criteria, kind)

    async def decide(
        self, client: Podium, run: RunRecord, description: str, criteria: str, app_type: str
    ) -> ArchitectureDecision:
        """The advice through an existing client (the app builder's, under the project's budget)."""
        messages = [Message.system(ADVISOR_SYSTEM), Message.user(advisor_prompt(description, criteria, app_type))]
        meta = self.session.meta(run.id, workflow=WORKFLOW, task_type=ADVISOR_TASK_TYPE, step="advice", role="advisor")
        step = RunStep("advice")
        run.steps[step.id] = step
        with self.session.saving_failure(run, step):
            answer = await ask_typed(
                client,
                messages,
                schema=ADVISOR_SCHEMA,
                meta=meta,
                model=self.model,
                strategy="table",
                prepare=_lowered,
                max_tokens=1024,
            )
        reply = cast(Architecture, answer.value)  # ask_typed checked it against ADVISOR_SCHEMA
        decision = ArchitectureDecision(
            app_type=app_type, model=answer.model, cost_usd=answer.cost_usd, run_id=run.id, **reply
        )
        self.session.save_completed(run, step, answer, decision)
        return decision
