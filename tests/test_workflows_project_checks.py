"""Success criteria checked for real: pytest, ruff, py_compile and JSON Schema run on each task's files.

Projects run end to end (real engine, HTTP to the fake upstream on loopback, real SQLite checkpoints); the checks
run real child processes. Two executor models are configured, a cheap ``basic`` one and a ``frontier`` one, and
the ``cheapest`` strategy picks the cheap one first, so an escalation after failed checks is visible by model name.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.errors import ConfigError
from podium.core.events import EventType
from podium.testing import FakeUpstream, serve
from podium.workflows.project import (
    ProjectOrchestrator,
    ProjectStore,
    RunSettings,
    TaskSpec,
    build_spec,
    load_project_file,
)
from podium.workflows.project.criteria import LINT, SCHEMA, SYNTAX, TESTS, parse_criteria
from podium.workflows.project.deliverables import answer_files
from podium.workflows.project.tools import CheckTools, find_tool

KEY = "sk-test-project-checks-0123456789"
JUNIOR, SENIOR = "junior-coder", "senior-coder"
BUCKET = "class Bucket:\n    def __init__(self, size):\n        self.size = size\n\n    def take(self):\n        return self.size > 0\n"
TESTS_PASS = (
    "# file: tests/test_bucket.py\n"
    "from bucket import Bucket\n\n\n"
    "def test_take():\n    assert Bucket(1).take()\n\n\n"
    "def test_empty():\n    assert not Bucket(0).take()\n"
)
TESTS_FAIL = TESTS_PASS + "\n\ndef test_refill():\n    assert Bucket(0).size == 5, 'refill is missing'\n"


def answer(code: str = BUCKET, tests: str | None = TESTS_PASS) -> str:
    out = f"Here is the bucket.\n```python\n{code}```\n"
    return out + (f"And its tests:\n```python\n{tests}```\n" if tests else "")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


def _model(name: str, tier: str, price: str) -> dict[str, Any]:
    return {
        "id": f"openai:{name}",
        "input_per_million": price,
        "output_per_million": price,
        "quality_tier": tier,
        "context_window": 128000,
        "capabilities": ["code"],
    }


class Rig:
    def __init__(self, fake: FakeUpstream, base_url: str, tmp: Path, **settings: Any) -> None:
        self.fake, self.tmp = fake, tmp
        self.config = PodiumConfig.from_mapping(
            {
                "providers": {"openai": {"base_url": base_url + "/v1"}},
                "orchestration": {"orchestrator": {"model": "openai:gpt-4o-mini"}, "fallback_strategy": {"models": []}},
                "models": [_model(JUNIOR, "basic", "0.1"), _model(SENIOR, "frontier", "5")],
                "routing": {"quality_threshold": 0.5},
                "resilience": {"retry": {"max_attempts": 1}},
            }
        )
        self.home, self.out = tmp / "home", tmp / "out"
        self.settings = RunSettings(
            strategy="cheapest",
            candidates=(f"openai:{JUNIOR}", f"openai:{SENIOR}"),
            task_max_tokens=1000,
            **settings,
        )
        self.events: list[tuple[EventType, dict[str, Any]]] = []
        self.orch = ProjectOrchestrator(
            self.config, env={"OPENAI_API_KEY": KEY}, home=self.home, settings=self.settings
        )
        self.orch.bus.add_sink(lambda e: self.events.append((e.type, e.data)))

    def of(self, kind: EventType) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == kind]

    def spec(self, criteria: str, tasks: list[dict[str, Any]] | None = None, extra: str = "") -> Any:
        """Write a project YAML file (as a user would) and load it."""
        task_list = tasks or [
            {"id": "core", "title": "Bucket", "prompt": "Write it.", "task_type": "code", "output_file": "bucket.py"}
        ]
        path = self.tmp / "project.yaml"
        path.write_text(
            f"project:\n  description: A bucket\n  success_criteria: {json.dumps(criteria)}\n"
            f"budget:\n  max_usd: 1\n{extra}tasks: {json.dumps(task_list)}\n"
        )
        return load_project_file(path)

    async def run(self, spec: Any) -> Any:
        return await self.orch.run(spec, output_dir=self.out)


def new_rig(served: tuple[FakeUpstream, str], tmp_path: Path, **settings: Any) -> Rig:
    served[0].reset()
    return Rig(*served, tmp_path, **settings)


@pytest.fixture()
def rig(served: tuple[FakeUpstream, str], tmp_path: Path) -> Iterator[Rig]:
    with_rig = new_rig(served, tmp_path)
    yield with_rig
    with_rig.orch.close()


def checks_of(task: Any) -> dict[str, Any]:
    return {c.check: c for c in task.checks}


async def test_passing_tests_run_for_real_and_are_recorded_in_state_checkpoint_and_show(rig: Rig) -> None:
    rig.fake.script(JUNIOR, answer())
    state = await rig.run(rig.spec("pytest passes, README complete"))
    task = state.tasks["core"]
    assert state.status == "completed" and task.status == "done" and task.runs == 1
    checks = checks_of(task)
    assert checks["pytest"].status == "passed" and checks["pytest"].reason.startswith("2 passed")
    assert checks["pytest"].criterion == "pytest passes"
    assert checks["py_compile"].status == "passed"
    assert checks["criterion"].status == "unchecked" and checks["criterion"].criterion == "README complete"
    assert "not machine-checked" in checks["criterion"].reason
    # the delivered files are the checked ones: the test block went to the file it named
    assert (rig.out / "tests" / "test_bucket.py").read_text().startswith("from bucket import Bucket")
    assert sorted(task.files) == ["bucket.py", "tasks/core.md", "tests/test_bucket.py"]
    reloaded = ProjectStore.in_home(rig.home).load(state.id)
    assert reloaded.tasks["core"].checks == task.checks
    assert rig.of(EventType.VALIDATION_PASSED)[0]["checks"][1]["check"] == "pytest"

    env = {"PODIUM_HOME": str(rig.home), "COLUMNS": "200"}
    shown = CliRunner().invoke(app, ["project", "show", state.id], env=env)
    assert shown.exit_code == 0, shown.output
    assert "success criteria checks" in shown.stdout and "2 passed" in shown.stdout
    assert "not machine-checked" in shown.stdout and "2/2 passed" in shown.stdout
    as_json = CliRunner().invoke(app, ["project", "show", state.id, "--json"], env=env)
    pytest_row = next(c for c in json.loads(as_json.stdout)["tasks"][0]["checks"] if c["check"] == "pytest")
    assert pytest_row["status"] == "passed" and pytest_row["criterion"] == "pytest passes"


async def test_failing_tests_are_named_escalate_to_a_stronger_model_and_fail_the_task(rig: Rig) -> None:
    rig.fake.script(JUNIOR, answer(tests=TESTS_FAIL))
    rig.fake.script(SENIOR, answer(tests=TESTS_FAIL))
    state = await rig.run(rig.spec("pytest passes"))
    task = state.tasks["core"]
    assert state.status == "failed" and task.status == "failed" and task.runs == 2
    assert rig.fake.count(JUNIOR) == 1 and rig.fake.count(SENIOR) == 1
    escalations = rig.of(EventType.ESCALATION)
    assert len(escalations) == 1 and escalations[0]["from_model"] == f"openai:{JUNIOR}"
    assert escalations[0]["to_models"] == (f"openai:{SENIOR}",)
    outcome = checks_of(task)["pytest"]
    assert outcome.status == "failed" and "1 failed, 2 passed" in outcome.reason
    assert "tests/test_bucket.py::test_refill" in outcome.reason and "refill is missing" in outcome.reason
    assert task.error is not None and task.error.startswith("validation failed: pytest failed: 1 failed")
    # the retry quoted the failing test to the stronger model
    retry = next(r for r in rig.fake.requests if r.model == SENIOR)
    assert "test_refill" in json.dumps(retry.json) and "did not pass validation" in json.dumps(retry.json)
    assert ProjectStore.in_home(rig.home).load(state.id).tasks["core"].checks == task.checks


async def test_the_stronger_model_fixes_what_the_cheap_one_broke(rig: Rig) -> None:
    rig.fake.script(JUNIOR, answer(tests=TESTS_FAIL))
    fixed = TESTS_FAIL.replace("Bucket(0).size == 5", "Bucket(5).size == 5")
    rig.fake.script(SENIOR, answer(tests=fixed))
    state = await rig.run(rig.spec("pytest passes"))
    task = state.tasks["core"]
    assert state.status == "completed" and task.model == f"openai:{SENIOR}" and task.runs == 2
    assert checks_of(task)["pytest"].reason.startswith("3 passed")
    assert [d["attempt"] for d in rig.of(EventType.VALIDATION_FAILED)] == [1]


async def test_check_child_process_gets_no_api_keys_and_runs_in_a_temporary_folder(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "sk-planted-secret")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    probe = (
        "# file: test_env.py\nimport os\nfrom pathlib import Path\n\n\n"
        "def test_environment():\n"
        "    assert 'FAKE_API_KEY' not in os.environ and 'OPENAI_API_KEY' not in os.environ\n"
        "    assert not any(k.endswith('_API_KEY') for k in os.environ)\n"
        "    assert Path.cwd() == Path(__file__).parent and (Path.cwd() / 'bucket.py').is_file()\n"
        f"    assert not Path.cwd().is_relative_to({str(rig.out)!r})\n"
    )
    rig.fake.script(JUNIOR, answer(tests=probe))
    state = await rig.run(rig.spec("tests pass"))
    outcome = checks_of(state.tasks["core"])["pytest"]
    assert outcome.status == "passed" and outcome.reason.startswith("1 passed"), outcome
    assert (rig.out / "test_env.py").is_file()


@pytest.mark.skipif(find_tool("ruff") is None, reason="ruff is not installed here (it is in the test extra)")
async def test_ruff_criterion_runs_ruff(rig: Rig) -> None:
    rig.fake.script(JUNIOR, answer(code="import os\n\n" + BUCKET, tests=None), times=1)
    rig.fake.script(SENIOR, answer(tests=None))
    state = await rig.run(rig.spec("ruff clean"))
    task = state.tasks["core"]
    assert state.status == "completed" and task.runs == 2 and task.model == f"openai:{SENIOR}"
    failed = rig.of(EventType.VALIDATION_FAILED)[0]
    ruff_first = next(c for c in failed["checks"] if c["check"] == "ruff")
    assert (
        ruff_first["status"] == "failed" and "F401" in ruff_first["reason"] and "bucket.py:1:8" in ruff_first["reason"]
    )
    assert checks_of(task)["ruff"].status == "passed"


async def test_ruff_criterion_without_ruff_is_skipped_never_passed(
    served: tuple[FakeUpstream, str], tmp_path: Path
) -> None:
    r = new_rig(served, tmp_path, check_tools=CheckTools(ruff="ruff-not-installed-here"))
    fake = r.fake
    fake.script(JUNIOR, answer(code="import os\n\n" + BUCKET, tests=None))
    state = await r.run(r.spec("pytest passes, ruff clean"))
    r.orch.close()
    checks = checks_of(state.tasks["core"])
    assert checks["ruff"].status == "skipped"
    assert checks["ruff"].reason == "skipped: ruff-not-installed-here is not installed (pip install ruff)"
    # project-level "pytest passes" on a task that delivered no tests: not applicable, so skipped too
    assert checks["pytest"].status == "skipped" and "no tests" in checks["pytest"].reason
    assert state.status == "completed_unverified" and state.tasks["core"].score == 1.0  # no criterion was checked


SCHEMA_YAML = "checks:\n  timeout_seconds: 60\n  schemas:\n    report: schemas/report.json\n"
REPORT_TASK = [{"id": "report", "title": "Report", "prompt": "Write the report.", "output_file": "report.json"}]


@pytest.mark.skipif(importlib.util.find_spec("jsonschema") is None, reason="jsonschema is in the test extra")
@pytest.mark.parametrize(
    ("document", "status", "reason"),
    [
        ('{"name": "bucket", "tests": 3}', "passed", "1 file match schema report"),
        ('{"tests": "three"}', "failed", "'name' is a required property (at $)"),
    ],
)
async def test_schema_criterion_validates_json_outputs(rig: Rig, document: str, status: str, reason: str) -> None:
    (rig.tmp / "schemas").mkdir()
    schema = {"type": "object", "required": ["name"], "properties": {"tests": {"type": "integer"}}}
    (rig.tmp / "schemas" / "report.json").write_text(json.dumps(schema))
    spec = rig.spec("output matches schema report", REPORT_TASK, SCHEMA_YAML)
    assert spec.checks.schemas == {"report": schema}  # loaded from the file, relative to the project file
    rig.fake.script(JUNIOR, f"```json\n{document}\n```")
    rig.fake.script(SENIOR, f"```json\n{document}\n```")
    state = await rig.run(spec)
    outcome = checks_of(state.tasks["report"])["schema:report"]
    assert outcome.status == status and reason in outcome.reason
    assert checks_of(state.tasks["report"])["json"].status == "passed"
    if status == "failed":
        assert "'three' is not of type 'integer' (at $.tests)" in outcome.reason
        assert state.status == "failed" and rig.fake.count(SENIOR) == 1
    else:
        assert state.status == "completed" and rig.fake.count(SENIOR) == 0


async def test_schema_check_without_jsonschema_is_skipped(served: tuple[FakeUpstream, str], tmp_path: Path) -> None:
    r = new_rig(served, tmp_path, check_tools=CheckTools(jsonschema="jsonschema_not_installed_here"))
    fake = r.fake
    inline = 'checks:\n  schemas:\n    report: {"type": "object", "required": ["name"]}\n'
    fake.script(JUNIOR, '```json\n{"tests": 1}\n```')
    state = await r.run(r.spec("output matches schema report", REPORT_TASK, inline))
    r.orch.close()
    outcome = checks_of(state.tasks["report"])["schema:report"]
    assert outcome.status == "skipped" and "pip install jsonschema" in outcome.reason
    assert state.status == "completed_unverified"  # the only criterion could not be checked


async def test_a_hanging_test_is_stopped_at_the_spec_timeout(rig: Rig) -> None:
    hang = "# file: test_hang.py\nimport time\n\n\ndef test_hang():\n    time.sleep(120)\n"
    rig.fake.script(JUNIOR, answer(tests=hang))
    rig.fake.script(SENIOR, answer(tests=hang))
    state = await rig.run(rig.spec("pytest passes", extra="checks:\n  timeout_seconds: 3\n"))
    outcome = checks_of(state.tasks["core"])["pytest"]
    assert outcome.status == "failed" and outcome.reason == "pytest did not finish within 3s and was stopped"
    assert state.status == "failed"


def test_unknown_schema_name_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("project:\n  description: x\n  success_criteria: output matches schema nope\n")
    with pytest.raises(ConfigError, match=r"line 3: project.success_criteria names schema 'nope'"):
        load_project_file(path)
    path.write_text("project:\n  description: x\ncheckz: 1\n")
    with pytest.raises(ConfigError, match="checkz"):
        load_project_file(path)


async def test_a_file_that_does_not_compile_fails_py_compile_naming_file_and_line(rig: Rig) -> None:
    broken = "# file: helpers.py\ndef helper(:\n    pass\n"
    rig.fake.script(JUNIOR, answer(tests=broken))
    rig.fake.script(SENIOR, answer(tests=None))
    state = await rig.run(rig.spec("README complete"))
    first = next(c for c in rig.of(EventType.VALIDATION_FAILED)[0]["checks"] if c["check"] == "py_compile")
    assert first["status"] == "failed" and first["reason"] == "helpers.py line 1: invalid syntax"
    assert state.status == "completed" and checks_of(state.tasks["core"])["py_compile"].status == "passed"


async def test_task_own_criterion_must_apply(rig: Rig) -> None:
    """The project's "pytest passes" is skipped where a task has no tests; the task's own criterion fails it."""
    task = {
        "id": "core",
        "title": "Bucket",
        "prompt": "Write it.",
        "task_type": "code",
        "output_file": "bucket.py",
        "success_criteria": "unit tests pass",
    }
    rig.fake.script(JUNIOR, answer(tests=None))
    rig.fake.script(SENIOR, answer(tests=None))
    state = await rig.run(rig.spec("", [task]))
    outcome = checks_of(state.tasks["core"])["pytest"]
    assert outcome.status == "failed" and outcome.criterion == "unit tests pass" and "no tests" in outcome.reason
    assert state.status == "failed"


def test_criteria_are_recognised_or_left_as_guidance() -> None:
    found = parse_criteria(
        "pytest passes, ruff clean; README complete\nevery part parses, output matches schema report"
    )
    assert [(c.text, c.checks, c.schema) for c in found] == [
        ("pytest passes", (TESTS,), None),
        ("ruff clean", (LINT,), None),
        ("README complete", (), None),
        ("every part parses", (SYNTAX,), None),
        ("output matches schema report", (SCHEMA,), "report"),
    ]
    assert parse_criteria("all tests pass and linting is clean")[0].checks == (TESTS, LINT)
    assert parse_criteria("the JSON schema is respected")[0].schema is None
    assert parse_criteria(["All endpoints tested"])[0].checks == ()  # ambiguous: not machine-checked


def test_answer_files_follow_the_naming_conventions() -> None:
    task = TaskSpec("core", "Core", "p", task_type="code", output_file="pkg/core.py")
    text = (
        "```python\nX = 1\n```\n"
        '```python title="pkg/util.py"\nY = 2\n```\n'
        "```json\n// file: data/seed.json\n{}\n```\n"
        "```python\nimport pytest\n\ndef test_x():\n    assert True\n```\n"
        "```python\n# file: ../escape.py\nZ = 3\n```\n"
        "```python\n# file: other/owned.py\nW = 4\n```\n"
        "```bash\npip install x\n```\n"
    )
    assert answer_files(TaskSpec("j", "J", "p", output_file="a.json"), "```json\n// file: a.json\n{}\n```") == {
        "a.json": "{}\n"
    }
    files = answer_files(task, text, reserved={"other/owned.py"})
    assert files == {
        "pkg/core.py": "X = 1\n",
        "pkg/util.py": "Y = 2\n",
        "data/seed.json": "{}\n",
        "test_core.py": "import pytest\n\ndef test_x():\n    assert True\n",
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("checks:\n  schemas:\n    report: missing.json\n", "checks.schemas.report: schema file"),
        ("checks:\n  schemas:\n    report: 3\n", "checks.schemas.report must be a JSON Schema"),
        ("checks:\n  schemas: {a: {}, b: {}}\n", "does not name one of checks.schemas (known: a, b)"),
        ("checks:\n  timeout_seconds: 0\n  schemas: {a: {}}\n", "checks.timeout_seconds"),
    ],
)
def test_bad_checks_section_is_one_config_error(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"project:\n  description: x\n  success_criteria: output matches the schema\n{extra}")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_project_file(path)


async def test_tests_task_runs_against_the_code_of_the_task_it_depends_on(rig: Rig) -> None:
    tasks = [
        {"id": "core", "title": "Bucket", "prompt": "Write it.", "task_type": "code", "output_file": "bucket.py"},
        {
            "id": "tests",
            "title": "Tests",
            "prompt": "Test it.",
            "task_type": "code",
            "depends_on": ["core"],
            "output_file": "tests/test_bucket.py",
        },
    ]
    rig.fake.script(JUNIOR, answer(tests=None), times=1)
    rig.fake.script(JUNIOR, f"```python\n{TESTS_PASS.split(chr(10), 1)[1]}```")
    state = await rig.run(rig.spec("pytest passes", tasks))
    assert state.status == "completed"
    assert checks_of(state.tasks["core"])["pytest"].status == "skipped"  # no tests yet: not applicable
    assert checks_of(state.tasks["tests"])["pytest"].reason.startswith("2 passed")


@pytest.mark.parametrize(
    "criterion", ["database schema has migrations", "the database schema is normalized", "schema-compliant output"]
)
def test_prose_about_a_schema_is_guidance_not_a_config_error(tmp_path: Path, criterion: str) -> None:
    spec = build_spec(description="A store", criteria=criterion)  # what --criteria builds
    assert spec.checks.schemas == {} and parse_criteria(criterion)[0].checks == ()
    path = tmp_path / "p.yaml"
    path.write_text(
        f"project:\n  description: x\n  success_criteria: {criterion}\nchecks:\n  schemas:\n    report: {{}}\n"
    )
    assert load_project_file(path).checks.schemas == {"report": {}}
    assert parse_criteria(criterion, schemas=["report"])[0].checks == ()
    # "schema NAME" with a NAME under checks.schemas is still a schema check
    assert parse_criteria("schema report is met", schemas=["report"])[0].schema == "report"
    assert parse_criteria("schema report is met")[0].checks == ()


async def test_task_own_criterion_whose_tool_is_missing_fails_the_task(
    served: tuple[FakeUpstream, str], tmp_path: Path
) -> None:
    r = new_rig(served, tmp_path, check_tools=CheckTools(ruff="ruff-not-installed-here"))
    task = {"id": "core", "title": "Bucket", "prompt": "Write it.", "task_type": "code", "output_file": "bucket.py"}
    r.fake.script(JUNIOR, answer(tests=None))
    r.fake.script(SENIOR, answer(tests=None))
    state = await r.run(r.spec("", [{**task, "success_criteria": "ruff clean"}]))
    r.orch.close()
    outcome = checks_of(state.tasks["core"])["ruff"]
    assert outcome.status == "failed" and outcome.criterion == "ruff clean"
    assert outcome.reason == (
        "the task's own criterion could not be checked: ruff-not-installed-here is not installed (pip install ruff)"
    )
    assert state.status == "failed" and "ruff-not-installed-here is not installed" in (state.tasks["core"].error or "")


@pytest.mark.parametrize(
    ("criterion", "output_file", "fence", "check"),
    [
        ("the Go program compiles", "main.go", "go", "py_compile"),
        ("all jest tests pass", "sum.test.js", "javascript", "pytest"),
    ],
)
async def test_python_checks_do_not_fail_tasks_in_other_languages(
    rig: Rig, criterion: str, output_file: str, fence: str, check: str
) -> None:
    task = {"id": "core", "title": "Code", "prompt": "Write it.", "task_type": "code", "output_file": output_file}
    rig.fake.script(JUNIOR, f"```{fence}\nfunc main() {{}}\n```\n")
    state = await rig.run(rig.spec("", [{**task, "success_criteria": criterion}]))
    outcome = checks_of(state.tasks["core"])[check]
    assert outcome.status == "unchecked" and outcome.criterion == criterion and "not machine-checked" in outcome.reason
    assert state.status == "completed" and rig.fake.count(SENIOR) == 0
    assert sorted(state.tasks["core"].files) == [output_file, "tasks/core.md"]
