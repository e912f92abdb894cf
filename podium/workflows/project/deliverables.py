"""The files a task's answer delivers: its main code to ``output_file``, plus every other code block that names its
file (``# file: tests/test_bucket.py`` on its first line, or ``title="..."`` / ``python:path`` on the fence) and
every unnamed Python block holding tests (saved as ``test_<task id>.py``). The checks run on exactly these files,
and exactly these are written to the output directory."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import PurePosixPath

from podium.workflows.project.checks import CodeBlock, code_blocks, main_index
from podium.workflows.project.tasks import TaskSpec

ANSWERS_DIR = "tasks"  # <output dir>/tasks/<task id>.md: every answer, as sent
FILE_MARKER = "# file: "  # what the prompts ask the model to put on an extra file's first line

_INFO_NAME = re.compile(
    r"""(?:title|file|filename|path)\s*=\s*["']?(?P<name>[^"'\s]+)|^:?(?P<bare>[\w./-]+\.[A-Za-z0-9]+)$"""
)
_FIRST_LINE_NAME = re.compile(
    r"^\s*(?:#|//|--|<!--)\s*(?:file(?:name)?\s*:\s*)?(?P<name>[\w./-]+\.[A-Za-z0-9]+)\s*(?:-->)?\s*$"
)
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


def named_block(block: CodeBlock) -> tuple[str | None, str]:
    """(the file the block names, its code without the naming line); (None, code) when it names none."""
    info = _INFO_NAME.search(block.info)
    if info is not None:
        return _safe(info.group("name") or info.group("bare")), block.code
    if "." in block.language and _safe(block.language):  # ```test_x.py
        return _safe(block.language), block.code
    first, _, rest = block.code.partition("\n")
    match = _FIRST_LINE_NAME.match(first)
    if match is not None and _safe(match.group("name")):
        return _safe(match.group("name")), rest
    return None, block.code


def _safe(name: str | None) -> str | None:
    """``name`` when it is a plain relative path inside the output directory."""
    if not name:
        return None
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or str(path) in (".", "") or not path.suffix:
        return None
    return str(path)


def _with_newline(body: str) -> str:
    return body if body.endswith("\n") else body + "\n"
