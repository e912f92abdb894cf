"""Writing task answers under the output directory: ``<task id>.md`` always, and the files the answer delivers
(its code to ``output_file``, named extra blocks such as tests: see podium.workflows.project.deliverables)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from podium.core.errors import ValidationError
from podium.workflows.project.deliverables import ANSWERS_DIR, answer_files
from podium.workflows.project.tasks import TaskSpec


def write_task_output(
    output_dir: Path, task: TaskSpec, text: str, files: Mapping[str, str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """Save the answer and ``files`` (default: ``answer_files``); returns (answer file, every file written), as
    paths relative to ``output_dir``.

    Each file is written to a temporary name and renamed, so an interrupted run never leaves half a file.
    """
    answer = Path(ANSWERS_DIR) / f"{task.id}.md"
    written = [answer]
    _atomic_write(output_dir, answer, f"# {task.title}\n\n{text.rstrip()}\n")
    for relative, body in (answer_files(task, text) if files is None else files).items():
        _atomic_write(output_dir, Path(relative), body)
        written.append(Path(relative))
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
