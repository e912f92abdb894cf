"""Writing task answers under the output directory: ``<task id>.md`` always, and the code to ``output_file``."""

from __future__ import annotations

import os
from pathlib import Path

from podium.core.errors import ValidationError
from podium.workflows.project.checks import main_code
from podium.workflows.project.tasks import TaskSpec

ANSWERS_DIR = "tasks"


def write_task_output(output_dir: Path, task: TaskSpec, text: str) -> tuple[str, tuple[str, ...]]:
    """Save the answer; returns (answer file, every file written), as paths relative to ``output_dir``.

    Each file is written to a temporary name and renamed, so an interrupted run never leaves half a file.
    """
    answer = Path(ANSWERS_DIR) / f"{task.id}.md"
    written = [answer]
    _atomic_write(output_dir, answer, f"# {task.title}\n\n{text.rstrip()}\n")
    block = main_code(task, text) if task.output_file is not None else None
    if task.output_file is not None:
        target = Path(task.output_file)
        body = block.code if block is not None else text
        _atomic_write(output_dir, target, body if body.endswith("\n") else body + "\n")
        written.append(target)
    return str(answer), tuple(str(p) for p in written)


def read_answer(output_dir: Path, relative: str) -> str:
    """A finished task's answer, as later tasks see it (the heading written above is left out)."""
    text = (output_dir / relative).read_text(encoding="utf-8")
    first, _, rest = text.partition("\n\n")
    return rest if first.startswith("# ") else text


def _atomic_write(root: Path, relative: Path, text: str) -> None:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValidationError(
            f"output file {relative} would be written outside the output directory {root}",
            field="output_file",
            value=str(relative),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
