"""The files a task's answer delivers: its main code to ``output_file``, plus every other code block that names its
file (``# file: tests/test_bucket.py`` on its first line, or ``title="..."`` / ``python:path`` on the fence) and
every unnamed Python block holding tests (saved as ``test_<task id>.py``). The checks run on exactly these files,
and exactly these are written to the output directory."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import PurePosixPath

from podium.workflows.project.checks import code_blocks, main_index, named_block
from podium.workflows.project.tasks import TaskSpec

ANSWERS_DIR = "tasks"  # <output dir>/tasks/<task id>.md: every answer, as sent
FILE_MARKER = "# file: "  # what the prompts ask the model to put on an extra file's first line

_TESTS = re.compile(r"^\s*(?:async\s+)?def test_\w*\s*\(|^\s*class Test\w*|^\s*(?:import|from) pytest\b", re.MULTILINE)
_SLUG = re.compile(r"[^A-Za-z0-9_]+")


def answer_files(task: TaskSpec, text: str, reserved: Collection[str] = ()) -> dict[str, str]:
    """Relative path -> content of every file the answer delivers. ``reserved`` are other tasks' output files:
    an extra block never overwrites one of them."""
    blocks = code_blocks(text)
    files: dict[str, str] = {}
    main = main_index(task, blocks) if task.output_file is not None else None
    if task.output_file is not None:
        name, code = named_block(blocks[main]) if main is not None else (None, text)
        # a naming line that names the output file itself is dropped (it would break a JSON file)
        files[task.output_file] = _with_newline(code if name in (None, task.output_file) else blocks[main].code)
    tests = 0
    for i, block in enumerate(blocks):
        if i == main:
            continue
        name, code = named_block(block)
        if name is None and block.language in ("python", "") and _TESTS.search(block.code):
            tests += 1
            name = f"test_{_SLUG.sub('_', task.id)}{'' if tests == 1 else f'_{tests}'}.py"
        if name is None or name in files or name in reserved or PurePosixPath(name).parts[0] == ANSWERS_DIR:
            continue
        files[name] = _with_newline(code)
    return files


def _with_newline(body: str) -> str:
    return body if body.endswith("\n") else body + "\n"
