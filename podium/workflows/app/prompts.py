"""Every prompt and output schema of the app builder, in one place so they can be tuned against live models."""

from __future__ import annotations

from podium.core.json_types import JSONObject

STRUCTURAL_PATTERNS = (
    "layered",
    "hexagonal",
    "clean",
    "mvc",
    "event-driven",
    "pipeline",
    "plugin",
    "modular",
    "cqrs",
)
TOPOLOGIES = ("monolith", "modular-monolith", "microservices", "serverless", "library", "single-process")
API_PARADIGMS = ("rest", "graphql", "grpc", "websocket", "cli", "python-api", "none")
DATA_PARADIGMS = ("relational", "document", "key-value", "graph", "time-series", "file", "in-memory", "none")

ADVISOR_SYSTEM = """You are a software architect. Decide the architecture of the application described, \
for a team that will generate it with language models and check it with its tests. Prefer the simplest \
architecture that meets the criteria. Reply with JSON only, no prose, in exactly this shape:
{"structural_pattern": "...", "topology": "...", "api_paradigm": "...", "data_paradigm": "...", \
"rationale": "Two to four sentences: why each choice fits the description and criteria."}
""" + (
    f"structural_pattern is one of: {', '.join(STRUCTURAL_PATTERNS)}.\n"
    f"topology is one of: {', '.join(TOPOLOGIES)}.\n"
    f"api_paradigm is one of: {', '.join(API_PARADIGMS)}.\n"
    f"data_paradigm is one of: {', '.join(DATA_PARADIGMS)}."
)

ADVISOR_SCHEMA: JSONObject = {
    "type": "object",
    "required": ["structural_pattern", "topology", "api_paradigm", "data_paradigm", "rationale"],
    "properties": {
        "structural_pattern": {"enum": list(STRUCTURAL_PATTERNS)},
        "topology": {"enum": list(TOPOLOGIES)},
        "api_paradigm": {"enum": list(API_PARADIGMS)},
        "data_paradigm": {"enum": list(DATA_PARADIGMS)},
        "rationale": {"type": "string", "minLength": 10},
    },
}


def advisor_prompt(description: str, criteria: str, app_type: str | None) -> str:
    lines = [f"Application: {description.strip()}"]
    if criteria.strip():
        lines.append(f"Success criteria: {criteria.strip()}")
    if app_type:
        lines.append(f"Application type: {app_type}")
    return "\n".join(lines)


# The constraint the project planner and every task's prompt see (it becomes part of the project description).
ARCHITECTURE_CONSTRAINT = """Architecture (decided before planning; every task must follow it):
- application type: {app_type}
- structural pattern: {structural_pattern}
- topology: {topology}
- API paradigm: {api_paradigm}
- data paradigm: {data_paradigm}
- why: {rationale}"""

# Checks every app of a type gets on top of the user's criteria (criteria.py turns these words into real checks).
APP_TYPE_CRITERIA: dict[str, str] = {
    "fastapi": "all Python code compiles",
    "flask": "all Python code compiles",
    "cli": "all Python code compiles",
    "library": "all Python code compiles",
    "script": "all Python code compiles",
}
