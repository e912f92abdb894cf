"""The request each task sends: the project, the answers of the tasks it depends on, then the task itself."""

from __future__ import annotations

from collections.abc import Sequence

from podium.core.types import ChatRequest, Message
from podium.workflows.project.checks import expected_language
from podium.workflows.project.deliverables import FILE_MARKER
from podium.workflows.project.outputs import read_answer
from podium.workflows.project.state import ProjectState, TaskState

EXECUTOR_SYSTEM = (
    "You carry out one task of a larger project. Reply with the complete deliverable for this task only: "
    "no questions, no placeholders."
)
CONTEXT_CHARS = 6000  # of each dependency's answer quoted in a task's prompt
FEEDBACK_PROMPT = (
    "Your answer did not pass validation: {problems}. Reply with a corrected, complete answer to the same task."
)


def task_request(state: ProjectState, task: TaskState, *, max_tokens: int | None) -> ChatRequest:
    """The first request for ``task``; earlier answers are read back from the output directory."""
    spec = state.spec
    parts = [f"Project: {spec.title}", spec.project.description.strip()]
    if spec.project.success_criteria.strip():
        parts.append(f"Success criteria: {spec.project.success_criteria.strip()}")
    for dep_id in task.spec.depends_on:
        dep = state.tasks.get(dep_id)
        if dep is not None:
            parts.append(f"Result of earlier task {dep.spec.title!r} ({dep_id}):\n{_answer(state, dep)}")
    parts.append(f"Your task ({task.id}): {task.spec.title}\n{task.spec.prompt}")
    parts.extend(_instructions(task))
    return ChatRequest(
        messages=(Message.system(EXECUTOR_SYSTEM), Message.user("\n\n".join(parts))), max_tokens=max_tokens
    )


def with_feedback(request: ChatRequest, answer: str, problems: Sequence[str]) -> ChatRequest:
    """The retry request after a failed validation: the previous answer and what was wrong with it."""
    extra = (Message.assistant(answer), Message.user(FEEDBACK_PROMPT.format(problems="; ".join(problems))))
    return ChatRequest(messages=request.messages + extra, max_tokens=request.max_tokens)


def _instructions(task: TaskState) -> list[str]:
    out = []
    lang = expected_language(task.spec)
    if lang is not None:
        out.append(f"Put the {lang} code in one fenced ```{lang} code block.")
    if task.spec.output_file:
        out.append(f"The code will be saved as {task.spec.output_file}.")
    if lang == "python":
        out.append(
            f"Put any other file (tests, say) in its own fenced block whose first line is `{FILE_MARKER}<path>`."
        )
    if task.spec.success_criteria:
        out.append("This task's success criteria: " + "; ".join(task.spec.success_criteria) + ".")
    if task.spec.acceptance:
        out.append("The answer must mention: " + ", ".join(task.spec.acceptance) + ".")
    return out


def _answer(state: ProjectState, dep: TaskState) -> str:
    if dep.output_path is None:
        return "(no answer recorded)"
    try:
        text = read_answer(state.output_dir, dep.output_path)
    except OSError:
        return "(the answer file is missing)"
    return text if len(text) <= CONTEXT_CHARS else text[:CONTEXT_CHARS] + "\n[... cut ...]"
