"""An answer whose first block names another file (its tests) and whose implementation comes unnamed after it:
the implementation is the task's file, the tests go to the file they name. Checked on the pure split and end to
end (real engine, HTTP to the fake upstream on loopback, real pytest child process, files on disk)."""

from __future__ import annotations

import json
from pathlib import Path

from podium.config.root import PodiumConfig
from podium.testing import FakeUpstream, serve
from podium.workflows.project import ProjectOrchestrator, RunSettings, TaskSpec, load_project_file
from podium.workflows.project.checks import main_code
from podium.workflows.project.deliverables import answer_files

KEY = "sk-test-project-deliverables-0123456789"
BUCKET = "class Bucket:\n    def __init__(self, size):\n        self.size = size\n\n    def take(self):\n        return self.size > 0\n"
TESTS = "from bucket import Bucket\n\n\ndef test_take():\n    assert Bucket(1).take()\n"
TESTS_FIRST = (
    f"Tests first:\n```python\n# file: test_bucket.py\n{TESTS}```\nThen the implementation:\n```python\n{BUCKET}```\n"
)
TASK = TaskSpec("core", "Bucket", "Write it.", output_file="bucket.py")


def test_a_leading_block_naming_another_file_is_not_the_main_code() -> None:
    assert answer_files(TASK, TESTS_FIRST) == {"bucket.py": BUCKET, "test_bucket.py": TESTS}
    block = main_code(TASK, TESTS_FIRST)
    assert block is not None and block.code == BUCKET


def test_a_block_naming_the_output_file_itself_is_still_the_main_code() -> None:
    text = f"```python\n# file: test_bucket.py\n{TESTS}```\n```python\n# file: bucket.py\n{BUCKET}```\n"
    assert answer_files(TASK, text) == {"bucket.py": BUCKET, "test_bucket.py": TESTS}


def test_when_every_block_names_another_file_the_first_in_the_language_stays_the_main_code() -> None:
    text = f"```python\n# file: src/bucket.py\n{BUCKET}```\n"
    assert answer_files(TASK, text) == {"bucket.py": f"# file: src/bucket.py\n{BUCKET}"}


async def test_tests_first_answer_delivers_both_files_and_pytest_runs_them(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script("junior-coder", TESTS_FIRST)
    project = tmp_path / "project.yaml"
    task = {"id": "core", "title": "Bucket", "prompt": "Write it.", "task_type": "code", "output_file": "bucket.py"}
    project.write_text(
        'project:\n  description: A bucket\n  success_criteria: "pytest passes"\n'
        f"budget:\n  max_usd: 1\ntasks: {json.dumps([task])}\n"
    )
    model = {"id": "openai:junior-coder", "input_per_million": "0.1", "output_per_million": "0.1",
             "quality_tier": "basic", "context_window": 128000, "capabilities": ["code"]}  # fmt: skip
    async with serve(fake.app) as base:
        config = PodiumConfig.from_mapping({
            "providers": {"openai": {"base_url": base + "/v1"}},
            "orchestration": {"orchestrator": {"model": "openai:gpt-4o-mini"}, "fallback_strategy": {"models": []}},
            "models": [model],
            "resilience": {"retry": {"max_attempts": 1}},
        })  # fmt: skip
        settings = RunSettings(strategy="cheapest", candidates=("openai:junior-coder",), task_max_tokens=1000)
        orch = ProjectOrchestrator(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "home", settings=settings)
        try:
            state = await orch.run(load_project_file(project), output_dir=tmp_path / "out")
        finally:
            orch.close()
    done = state.tasks["core"]
    assert state.status == "completed" and done.status == "done", [c.problem for c in done.checks]
    assert (tmp_path / "out" / "bucket.py").read_text() == BUCKET
    assert (tmp_path / "out" / "test_bucket.py").read_text() == TESTS
    pytest_check = next(c for c in done.checks if c.check == "pytest")
    assert pytest_check.status == "passed" and pytest_check.reason.startswith("1 passed")
