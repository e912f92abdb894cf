"""Every prompt and the output schema of intent-to-job drafting, in one place so they can be tuned."""

from __future__ import annotations

from podium.core.json_types import JSONObject
from podium.core.model_spec import QUALITY_TIERS

DRAFT_SYSTEM = """You turn a user's one-line intent into a job specification and a governance policy for an LLM \
orchestration system. The job is a multi-step project that other models carry out; the policy says which models \
may serve it. Reply with JSON only, no prose, in exactly this shape:
{"project": {"title": "Short title", "description": "What the job must produce, in full sentences", \
"success_criteria": "How to judge it done, comma-separated (e.g. pytest passes, ruff clean)"}, \
"budget": {"max_usd": 2.0, "max_time_seconds": 3600}, \
"policy": {"name": "short-name", "enforcement_mode": "hard", "allowed_regions": ["eu"], "allowed_providers": null, \
"denied_providers": [], "allow_training_on_output": false, "max_cost_per_task_usd": null, "min_quality_tier": null}, \
"rationale": "Two to four sentences: how each part of the intent became a setting."}
""" + (
    "Rules: a budget the user states is max_usd exactly; otherwise choose a small one. Regions are lower case "
    "(eu, us, global, cn, local). Use null for a rule the intent does not ask for. min_quality_tier is null or one "
    f"of {', '.join(QUALITY_TIERS)}. Data-protection wording (EU data, GDPR) means allowed_regions and "
    "allow_training_on_output false; a hard enforcement_mode unless the user asks for warnings only."
)

REFINE_PROMPT = """Revise this job and policy as the user asks, keeping everything they did not mention. \
Reply with the complete revised JSON in the same shape.
The user asks: {feedback}
The current draft: {current}"""

_NULLABLE_STRINGS: JSONObject = {"type": ["array", "null"], "items": {"type": "string"}}
DRAFT_SCHEMA: JSONObject = {
    "type": "object",
    "required": ["project", "budget", "policy", "rationale"],
    "properties": {
        "project": {
            "type": "object",
            "required": ["description"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string", "minLength": 1},
                "success_criteria": {"type": "string"},
            },
        },
        "budget": {
            "type": "object",
            "required": ["max_usd"],
            "properties": {
                "max_usd": {"type": "number", "exclusiveMinimum": 0},
                "max_time_seconds": {"type": ["number", "null"], "exclusiveMinimum": 0},
            },
        },
        "policy": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "enforcement_mode": {"enum": ["hard", "soft"]},
                "allowed_regions": _NULLABLE_STRINGS,
                "allowed_providers": _NULLABLE_STRINGS,
                "denied_providers": {"type": "array", "items": {"type": "string"}},
                "allow_training_on_output": {"type": "boolean"},
                "max_cost_per_task_usd": {"type": ["number", "null"], "minimum": 0},
                "min_quality_tier": {"enum": [*QUALITY_TIERS, None]},
            },
        },
        "rationale": {"type": "string", "minLength": 1},
    },
}
