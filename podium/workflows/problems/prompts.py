"""Every prompt, output schema and task-table row of problem generation and grading, in one place to tune."""

from __future__ import annotations

from podium.core.json_types import JSONObject

GENERATION_TASK_TYPE = "problem_generation"
GRADING_TASK_TYPE = "evaluation_grading"

# Rows added to the task table when podium.yaml has none of these task types: generation on a budget tier,
# grading by a stronger judge (``routing.judge_model`` when set). A row in podium.yaml replaces them.
GENERATION_ROW: JSONObject = {
    "primary": "openai:gpt-4o-mini",
    "fallbacks": ["anthropic:claude-haiku-4-5"],
    "temperature": 0.9,
    "cost_tier": "budget",
}
GRADING_ROW: JSONObject = {
    "primary": "openai:gpt-4o",
    "fallbacks": ["anthropic:claude-sonnet-4-5"],
    "temperature": 0.0,
    "cost_tier": "balanced",
}

GENERATE_SYSTEM = """You write practice problems. Write one new problem on the topic given, with its answer, and \
{variations} variation(s) of it: the same skill with different numbers, names or setting, each a complete \
problem on its own. Reply with JSON only, no prose, in exactly this shape:
{{"problem": "...", "answer": "...", "variations": ["...", ...]}}"""

GENERATE_PROMPT = """Topic: {topic}
Difficulty: {difficulty}
Problem {index} of {count}.{avoid}"""

AVOID_PROMPT = "\nDo not repeat or closely paraphrase these earlier problems:\n{earlier}"


def generate_schema(variations: int) -> JSONObject:
    return {
        "type": "object",
        "required": ["problem", "answer", "variations"],
        "properties": {
            "problem": {"type": "string", "minLength": 1},
            "answer": {"type": "string"},
            "variations": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": variations,
                "maxItems": variations,
            },
        },
    }


GRADE_SYSTEM = """You are a strict grader. Grade the answer to the question using the rubric. Give a score from 0 \
(worthless) to 1 (fully correct and complete). Reply with JSON only, no prose, in exactly this shape:
{"score": 0.0, "verdict": "correct" | "partially correct" | "incorrect", "feedback": "one or two sentences why"}"""

GRADE_PROMPT = """Rubric:
{rubric}

Question:
{question}
{reference}
Answer to grade:
{answer}"""

GRADE_SCHEMA: JSONObject = {
    "type": "object",
    "required": ["score", "feedback"],
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "verdict": {"enum": ["correct", "partially correct", "incorrect"]},
        "feedback": {"type": "string"},
    },
}
