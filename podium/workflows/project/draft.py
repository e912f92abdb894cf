"""Intent to job: a model drafts a project spec and a policy, with a rationale; refine revises.

drafter = JobDrafter(config)
draft = await drafter.draft("Pipeline for code review, EU data only, max $2")
draft = await drafter.refine(draft, "raise budget to $5, allow US models")
job, policy = draft.write(Path("job.yaml"))      # then: podium project run --file job.yaml

The policy file is podium's policy format (``podium policy check`` reads it). ``project run`` loads it into the
spec and checks it before anything is sent (the control plane), then the engine enforces it on every call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

import pydantic
import yaml

from podium.config.policy import Policy
from podium.core.errors import ConfigError, ValidationError
from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.core.types import Message
from podium.workflows.project.draft_prompts import DRAFT_SCHEMA, DRAFT_SYSTEM, REFINE_PROMPT
from podium.workflows.project.spec import ProjectSpec, load_project_file
from podium.workflows.records import RunRecord, RunStep
from podium.workflows.session import SessionWorkflow, WorkflowSession, new_run_id
from podium.workflows.typed import ask_typed

if TYPE_CHECKING:
    from podium.config import PodiumConfig

WORKFLOW = "draft"
DEFAULT_DRAFT_MAX_USD = Decimal("0.50")
_DOLLARS = re.compile(r"\$\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:usd|dollars?)\b", re.IGNORECASE)
_INTENT, _REFINED, _RATIONALE = "# intent: ", "# refined: ", "# rationale: "


class _DraftReply(TypedDict):
    """The drafter's reply, once it fits DRAFT_SCHEMA."""

    project: JSONObject
    budget: JSONObject
    policy: JSONObject
    rationale: str


def stated_budget(text: str) -> Decimal | None:
    """The last dollar amount in ``text`` (``max $2`` -> 2), or None."""
    found = [m.group(1) or m.group(2) for m in _DOLLARS.finditer(text)]
    return Decimal(found[-1]) if found else None


@dataclass(frozen=True, slots=True)
class JobDraft:
    """A drafted job spec and policy, why they look as they do, and what drafting cost."""

    intent: str
    job: ProjectSpec
    policy: Policy
    rationale: str
    refinements: tuple[str, ...] = ()
    model: str = ""
    cost_usd: Decimal = ZERO
    run_id: str | None = None

    def to_dict(self) -> JSONObject:
        return {
            "intent": self.intent,
            "refinements": list(self.refinements),
            "job": _job_dict(self.job),
            "policy": _policy_dict(self.policy),
            "rationale": self.rationale,
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "run_id": self.run_id,
        }

    def policy_yaml(self) -> str:
        return yaml.safe_dump({"global": [_policy_dict(self.policy)]}, sort_keys=False)

    def job_yaml(self, policy_file: str) -> str:
        data = _job_dict(self.job)
        data["policy"] = {"enforcement_mode": self.policy.enforcement_mode.value, "file": policy_file}
        header = [_INTENT + self.intent, *(_REFINED + r for r in self.refinements)]
        header += [_RATIONALE + line for line in self.rationale.splitlines() or [""]]
        return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False)

    def write(self, job_path: Path) -> tuple[Path, Path]:
        """Write ``job.yaml`` and ``job.policy.yaml`` beside it; returns both paths."""
        job_path = Path(job_path).expanduser()
        policy_path = policy_path_for(job_path)
        job_path.parent.mkdir(parents=True, exist_ok=True)
        policy_path.write_text(self.policy_yaml())
        job_path.write_text(self.job_yaml(policy_path.name))
        return job_path, policy_path


def policy_path_for(job_path: Path) -> Path:
    return job_path.with_name(f"{job_path.stem}.policy.yaml")


def read_draft(job_path: Path) -> JobDraft:
    """A draft written by ``JobDraft.write`` (the intent and rationale come from its header comments)."""
    job_path = Path(job_path).expanduser()
    spec = load_project_file(job_path)
    if not spec.policy.rules:
        raise ValidationError(
            f'{job_path} has no policy file; draft one with `podium project draft "..."`',
            field="policy.file",
            value=str(job_path),
        )
    lines = job_path.read_text().splitlines()
    intent = next((ln[len(_INTENT) :] for ln in lines if ln.startswith(_INTENT)), spec.project.description)
    refined = tuple(ln[len(_REFINED) :] for ln in lines if ln.startswith(_REFINED))
    rationale = "\n".join(ln[len(_RATIONALE) :] for ln in lines if ln.startswith(_RATIONALE))
    return JobDraft(intent, spec, spec.policy.rules[0], rationale, refined)


def _job_dict(job: ProjectSpec) -> JSONObject:
    data = job.to_dict()
    return {"project": data["project"], "budget": data["budget"]}


def _policy_dict(policy: Policy) -> JSONObject:
    return policy.model_dump(mode="json", exclude_defaults=True) | {
        "name": policy.name,
        "enforcement_mode": policy.enforcement_mode.value,
    }


class JobDrafter(SessionWorkflow):
    """Drafts and refines job specs with the orchestrator model (or ``model``)."""

    def __init__(
        self,
        config: PodiumConfig | None = None,
        *,
        session: WorkflowSession | None = None,
        model: str | None = None,
        **session_kwargs: Any,
    ) -> None:
        super().__init__(config, session=session, **session_kwargs)
        self.model = model or self.session.config.orchestration.orchestrator.model

    async def draft(self, intent: str, *, max_usd: Decimal = DEFAULT_DRAFT_MAX_USD) -> JobDraft:
        """A first draft from a one-line intent."""
        if not intent or not intent.strip():
            raise ValidationError("the intent is empty; say what the job should do", field="intent", value=intent)
        text = intent.strip()
        messages = [Message.system(DRAFT_SYSTEM), Message.user(text)]
        return await self._ask(messages, text, (), stated_budget(text), max_usd, {"intent": text})

    async def refine(self, draft: JobDraft, feedback: str, *, max_usd: Decimal = DEFAULT_DRAFT_MAX_USD) -> JobDraft:
        """``draft`` revised as ``feedback`` asks; everything it does not mention is kept."""
        if not feedback or not feedback.strip():
            raise ValidationError("the refinement is empty; say what to change", field="refine", value=feedback)
        text = feedback.strip()
        current = json.dumps(
            {
                "project": _job_dict(draft.job)["project"],
                "budget": _job_dict(draft.job)["budget"],
                "policy": _policy_dict(draft.policy),
                "rationale": draft.rationale,
            }
        )
        messages = [Message.system(DRAFT_SYSTEM), Message.user(REFINE_PROMPT.format(feedback=text, current=current))]
        budget = stated_budget(text) or draft.job.budget.max_usd
        inputs: JSONObject = {"intent": draft.intent, "refine": text, "previous": draft.to_dict()}
        return await self._ask(messages, draft.intent, (*draft.refinements, text), budget, max_usd, inputs)

    async def _ask(
        self,
        messages: list[Message],
        intent: str,
        refinements: tuple[str, ...],
        budget: Decimal | None,
        max_usd: Decimal,
        inputs: JSONObject,
    ) -> JobDraft:
        rid = new_run_id(WORKFLOW)
        run = RunRecord(id=rid, workflow=WORKFLOW, title=intent[:60], inputs=inputs, max_usd=max_usd)
        step = RunStep("refine" if refinements else "draft")
        run.steps[step.id] = step
        meta = self.session.meta(rid, workflow=WORKFLOW, task_type="planning", step=step.id, role="drafter")

        def check(value: JSONObject) -> tuple[ProjectSpec, Policy, str]:
            return (*_checked(value, budget), str(value["rationale"]).strip())

        with self.session.saving_failure(run, step):
            async with self.session.client(rid, max_usd) as client:
                answer = await ask_typed(
                    client, messages, schema=DRAFT_SCHEMA, meta=meta, model=self.model, check=check, max_tokens=2048
                )
        job, policy, rationale = answer.value
        out = JobDraft(intent, job, policy, rationale, refinements, answer.model, answer.cost_usd, rid)
        self.session.save_completed(run, step, answer, out)
        return out


def _checked(value: JSONObject, budget: Decimal | None) -> tuple[ProjectSpec, Policy]:
    """The draft as a valid spec and policy, or a ValidationError naming the key (quoted to the model)."""
    draft = cast(_DraftReply, value)  # ask_typed checked it against DRAFT_SCHEMA
    try:
        job = ProjectSpec.from_mapping({"project": draft["project"], "budget": draft["budget"]})
    except ConfigError as exc:
        raise ValidationError(str(exc), field=exc.field, value=exc.value) from None
    policy_data = {k: v for k, v in draft["policy"].items() if v is not None}
    try:
        policy = Policy.model_validate(policy_data)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        where = "policy." + ".".join(str(p) for p in err["loc"])
        raise ValidationError(f"{where}: {err['msg']}", field=where, value=err.get("input")) from None
    if budget is not None and job.budget.max_usd != budget:
        raise ValidationError(
            f"budget.max_usd is {job.budget.max_usd} but the user asked for ${budget}; use {budget}",
            field="budget.max_usd",
            value=str(job.budget.max_usd),
        )
    return job, policy
