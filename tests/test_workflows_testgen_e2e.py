"""`podium testgen` end to end: real engine, ledger and telemetry against the fake upstream on loopback, and the
generated tests collected by a real pytest child process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.types import Usage
from podium.engine import Podium
from podium.ledger import LedgerReader
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve
from podium.workflows.testgen import GenerationOptions, analyze_file, generate_tests

KEY = "test-key-0123456789"
KEYS = {"ANTHROPIC_API_KEY": KEY, "GOOGLE_API_KEY": KEY}
ORCHESTRATOR = "anthropic:claude-sonnet-4-5"
EXECUTOR = "gemini:gemini-2.5-flash"
PLAN_USAGE = Usage(input_tokens=210, output_tokens=95)
GEN_USAGE = Usage(input_tokens=1500, output_tokens=420)
REPAIR_USAGE = Usage(input_tokens=1900, output_tokens=400)

MODULE = '''"""Small arithmetic helpers."""


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def clamp(x, lo, hi):
    """Keep x within [lo, hi]."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


class Stack:
    """A last-in first-out stack."""

    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from an empty stack")
        return self.items.pop()
'''

GOOD_TESTS = """Here are the tests:

```python
import pytest

from calc import Stack, add, clamp


def test_add():
    assert add(2, 3) == 5


def test_clamp_bounds():
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0
    assert clamp(2, 0, 3) == 2


def test_stack_push_pop():
    s = Stack()
    s.push(1)
    assert s.pop() == 1
    with pytest.raises(IndexError):
        s.pop()
```
"""

# Fails the static checks: Stack, push, pop and clamp never used, and the one test asserts nothing.
BAD_TESTS = "```python\nfrom calc import add\n\n\ndef test_add():\n    add(1, 2)\n```\n"


def _wire(model_id: str) -> str:
    return Catalog.bundled().get(model_id).api_model


def _cost(model_id: str, usage: Usage) -> Decimal:
    cost = Catalog.bundled().get(model_id).cost(usage)
    assert cost is not None
    return cost


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


def _settings(base: str, extra: dict | None = None) -> dict:
    return {
        "providers": {"anthropic": {"base_url": base}, "gemini": {"base_url": base}},
        "orchestration": {
            "fallback_strategy": {"models": []},
            "executors": [
                {
                    "model": "gemini-2.5-flash",
                    "provider": "google-ai-studio",
                    "api_key_env": "GOOGLE_API_KEY",
                    "use_cases": ["simple", "moderate", "complex", "expert"],
                },
            ],
        },
        "resilience": {"retry": {"max_attempts": 1}},
        **(extra or {}),
    }


@pytest.fixture()
def fake(upstream: tuple[FakeUpstream, str]) -> FakeUpstream:
    upstream[0].reset()
    return upstream[0]


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    path = tmp_path / "calc.py"
    path.write_text(MODULE)
    return path


async def _run(base: str, home: Path, source: Path, **options: object):
    config = PodiumConfig.from_mapping(_settings(base))
    telemetry = Telemetry(config.telemetry)
    async with Podium.from_config(config, env=KEYS, home=home, telemetry=telemetry) as client:
        result = await generate_tests(
            client,
            analyze_file(source),
            config.orchestration,
            options=GenerationOptions(output=source.with_name("calc_test.py"), **options),  # type: ignore[arg-type]
            telemetry=telemetry,
            env=KEYS,
        )
    rows = LedgerReader(config.ledger.database_url(home)).rows()
    return result, telemetry.registry, rows


def _sample(registry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels or None)
    assert value is not None, f"{name}{labels} was never recorded"
    return value


async def test_plan_then_delegate_writes_validated_tests_and_records_everything(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, source: Path, tmp_path: Path
) -> None:
    fake.script(
        _wire(ORCHESTRATOR), "1. add: sums\n2. clamp: both bounds\n3. Stack: empty pop raises", usage=PLAN_USAGE
    )
    fake.script(_wire(EXECUTOR), GOOD_TESTS, usage=GEN_USAGE)
    result, registry, rows = await _run(upstream[1], tmp_path / "home", source)

    assert result.passed and not result.escalated
    written = source.with_name("calc_test.py")
    assert result.output == written and "def test_clamp_bounds" in written.read_text()
    assert result.report.passed_count == len(result.report.checks) == 6
    # The orchestrator reads the outline only (signatures, no bodies); the executor gets the plan and the source.
    plan_req, gen_req = fake.requests
    assert (plan_req.provider, gen_req.provider) == ("anthropic", "gemini")
    assert "def clamp(x, lo, hi)" in json.dumps(plan_req.json) and "return a + b" not in json.dumps(plan_req.json)
    assert "return a + b" in json.dumps(gen_req.json) and "both bounds" in json.dumps(gen_req.json)

    s = result.summary
    assert s.orchestrator_cost_usd == _cost(ORCHESTRATOR, PLAN_USAGE)
    assert s.executor_cost_usd == _cost(EXECUTOR, GEN_USAGE)
    assert s.baseline_cost_usd == _cost(ORCHESTRATOR, PLAN_USAGE + GEN_USAGE)
    # The summary is exactly what the ledger recorded, and every row belongs to this run.
    assert [r["project"] for r in rows] == [s.workflow_id] * 2
    assert {r["task_type"] for r in rows} == {"testgen"}
    assert [r["strategy"] for r in rows] == ["orchestrate", "delegate"]
    assert sum(r["cost_usd"] for r in rows) == s.total_cost_usd
    assert s.savings_percent == (s.baseline_cost_usd - s.total_cost_usd) / s.baseline_cost_usd * 100

    assert _sample(registry, "orchestration_workflows_total") == 1
    assert _sample(registry, "orchestration_tasks_total", complexity="simple") == 1
    assert _sample(registry, "orchestration_delegations_total", executor_model=EXECUTOR) == 1
    assert _sample(registry, "orchestration_delegations_success_total", executor_model=EXECUTOR) == 1
    assert _sample(registry, "orchestration_validations_total") == 1
    assert _sample(registry, "orchestration_validations_passed_total") == 1
    assert _sample(registry, "orchestration_orchestrator_tokens_total") == PLAN_USAGE.total_tokens
    assert _sample(registry, "orchestration_executor_tokens_total") == GEN_USAGE.total_tokens
    assert Decimal(str(_sample(registry, "orchestration_total_cost_usd_total"))) == s.total_cost_usd
    assert _sample(registry, "orchestration_cost_savings_percent") == pytest.approx(float(s.savings_percent))
    assert _sample(registry, "orchestration_workflow_duration_ms_count") == 1


async def test_a_rejected_attempt_escalates_once_to_the_orchestrator_with_the_errors(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, source: Path, tmp_path: Path
) -> None:
    fake.script(_wire(EXECUTOR), BAD_TESTS, usage=GEN_USAGE)
    fake.script(_wire(ORCHESTRATOR), GOOD_TESTS, usage=REPAIR_USAGE)
    result, registry, rows = await _run(upstream[1], tmp_path / "home", source, plan=False)

    assert result.passed and result.escalated
    first, repair = result.attempts
    assert not first.report.passed and first.model == EXECUTOR and repair.model == ORCHESTRATOR
    assert [r.provider for r in fake.requests] == ["gemini", "anthropic"]
    repair_prompt = json.dumps(fake.requests[-1].json)
    assert "not referenced clamp, Stack, push, pop" in repair_prompt and "no assert in test_add" in repair_prompt

    s = result.summary
    assert s.orchestrator_cost_usd == _cost(ORCHESTRATOR, REPAIR_USAGE)
    assert sum(r["cost_usd"] for r in rows) == s.total_cost_usd == s.orchestrator_cost_usd + s.executor_cost_usd
    assert [r["strategy"] for r in rows] == ["delegate", "orchestrate"]
    assert _sample(registry, "orchestration_delegations_total", executor_model=EXECUTOR) == 1
    assert _sample(registry, "orchestration_delegations_success_total", executor_model=EXECUTOR) == 0
    assert _sample(registry, "orchestration_validations_total") == 2
    assert _sample(registry, "orchestration_validations_passed_total") == 1


async def test_two_failures_write_nothing(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, source: Path, tmp_path: Path
) -> None:
    fake.script(_wire(EXECUTOR), BAD_TESTS)
    fake.script(_wire(ORCHESTRATOR), "I cannot help with that.")
    result, registry, _ = await _run(upstream[1], tmp_path / "home", source, plan=False)
    assert not result.passed and result.output is None
    assert not source.with_name("calc_test.py").exists()
    assert result.report.errors == ["code block: the reply holds no Python code block"]
    assert _sample(registry, "orchestration_validations_passed_total") == 0
    assert _sample(registry, "orchestration_workflows_total") == 1


# -- the CLI --------------------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture()
def project(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, source: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A working directory with calc.py and a podium.yaml pointing at the fake, exporting metrics to a textfile."""
    folder = source.parent
    settings = _settings(upstream[1], {"telemetry": {"exporters": [f"prometheus:{folder / 'metrics.prom'}"]}})
    (folder / "podium.yaml").write_text(json.dumps(settings))  # JSON is YAML
    monkeypatch.chdir(folder)
    return folder


def test_cli_json_reports_costs_and_exports_the_orchestration_metrics(project: Path, fake: FakeUpstream) -> None:
    fake.script(_wire(ORCHESTRATOR), "1. test add", usage=PLAN_USAGE)
    fake.script(_wire(EXECUTOR), GOOD_TESTS, usage=GEN_USAGE)
    result = runner.invoke(app, ["testgen", "calc.py", "--json"], env=KEYS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["functions_tested"] == 5 and data["complexity"] == "simple"
    assert data["validation"]["passed"] and data["validation"]["checks_passed"] == 6
    assert data["executor"]["model"] == EXECUTOR and data["escalated"] is False
    total = _cost(ORCHESTRATOR, PLAN_USAGE) + _cost(EXECUTOR, GEN_USAGE)
    assert Decimal(data["total_cost_usd"]) == total
    assert Decimal(data["baseline_cost_usd"]) == _cost(ORCHESTRATOR, PLAN_USAGE + GEN_USAGE)
    assert Path(data["written"]) == project / "calc_test.py"
    families = {f.name: f for f in text_string_to_metric_families((project / "metrics.prom").read_text())}
    assert families["orchestration_workflows"].samples[0].value == 1
    delegations = [s for s in families["orchestration_delegations"].samples if s.name.endswith("_total")]
    assert [(s.labels["executor_model"], s.value) for s in delegations] == [(EXECUTOR, 1.0)]
    assert families["orchestration_cost_savings_percent"].samples[0].value > 0


def test_cli_summary_reads_like_the_seed(project: Path, fake: FakeUpstream) -> None:
    fake.script(_wire(EXECUTOR), GOOD_TESTS, usage=GEN_USAGE)
    result = runner.invoke(app, ["testgen", "calc.py", "--no-plan", "--out", "tests_calc.py"], env=KEYS)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for line in (
        "📊 WORKFLOW RESULTS",
        "Functions tested: 5",
        "Validation: ✅ Passed (6/6 checks)",
        f"Executor ({EXECUTOR}): $",
        "Cost Savings: ",
        f"Tests written to: {project / 'tests_calc.py'}",
    ):
        assert line in out
    assert "[Executor] Generating tests with gemini:gemini-2.5-flash" in result.stderr
    assert (project / "tests_calc.py").is_file()


def test_cli_dry_run_calls_no_model(project: Path, fake: FakeUpstream) -> None:
    result = runner.invoke(app, ["testgen", "calc.py", "--dry-run", "--json"], env=KEYS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["step"] for c in data["calls"]] == ["plan", "generate"]
    assert [c["model"] for c in data["calls"]] == [ORCHESTRATOR, EXECUTOR]
    assert Decimal(data["worst_case_usd"]) > 0
    assert fake.count() == 0 and not (project / "calc_test.py").exists()


@pytest.mark.parametrize(
    ("args", "setup", "message", "code"),
    [
        (["missing.py"], None, "missing.py: no such file", 2),
        (["notes.txt"], ("notes.txt", "hello"), "is not a Python file", 2),
        (["broken.py"], ("broken.py", "x = 1\ndef f(:\n"), "broken.py:2: ", 2),
        (["calc.py"], ("calc_test.py", "# mine"), "already exists; pass --force", 2),
        (["calc.py", "--max-cost", "lots"], None, "--max-cost 'lots' is not valid", 2),
        (["calc.py", "--executor", "gpt-9-ultra"], None, "unknown model 'gpt-9-ultra'", 2),
        (["calc.py", "--escalate-to", "claude-zzz"], None, "unknown model 'claude-zzz'", 2),
    ],
    ids=["missing", "not-python", "syntax", "exists", "max-cost", "executor", "escalate-to"],
)
def test_cli_errors_are_one_line(project: Path, fake: FakeUpstream, args, setup, message, code) -> None:
    if setup:
        (project / setup[0]).write_text(setup[1])
    result = runner.invoke(app, ["testgen", *args], env=KEYS)
    assert result.exit_code == code
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert result.stderr.rstrip().endswith(errors[0]) and "Traceback" not in result.stderr
    assert fake.count() == 0  # nothing was spent


def test_cli_missing_orchestrator_key_names_the_variable_and_plans_with_a_model_whose_key_is_set(
    project: Path, fake: FakeUpstream
) -> None:
    result = runner.invoke(app, ["testgen", "calc.py", "--dry-run"], env={"GOOGLE_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert "needs ANTHROPIC_API_KEY, which is not set" in result.stderr and "Traceback" not in result.stderr
    plan = next(line for line in result.stdout.splitlines() if line.strip().startswith("plan"))
    assert plan.split()[1].startswith("gemini:")
    assert fake.count() == 0


# -- the shared orchestration core ------------------------------------------------------------------------------------


async def test_without_a_usable_executor_a_strategy_picks_and_the_ledger_says_which(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, source: Path, tmp_path: Path
) -> None:
    settings = _settings(upstream[1], {"routing": {"candidates": [EXECUTOR, "anthropic:claude-haiku-4-5"]}})
    settings["orchestration"]["executors"] = [
        {"model": "llama-3.3-70b-versatile", "provider": "groq", "api_key_env": "GROQ_API_KEY", "use_cases": ["simple"]}
    ]
    config = PodiumConfig.from_mapping(settings)
    fake.script("*", GOOD_TESTS, usage=GEN_USAGE)
    telemetry = Telemetry(config.telemetry)
    home = tmp_path / "home"
    async with Podium.from_config(config, env=KEYS, home=home, telemetry=telemetry) as client:
        result = await generate_tests(
            client,
            analyze_file(source),
            config.orchestration,
            options=GenerationOptions(plan=False),
            telemetry=telemetry,
            env=KEYS,
        )
    assert result.passed and result.executor.model is None and result.executor.strategy == "cheapest"
    assert "groq:llama-3.3-70b-versatile needs GROQ_API_KEY" in result.executor.reason
    (row,) = LedgerReader(config.ledger.database_url(home)).rows()
    assert row["strategy"] == "cheapest" and row["model"] == EXECUTOR and row["cost_usd"] == _cost(EXECUTOR, GEN_USAGE)
    assert _sample(telemetry.registry, "orchestration_delegations_total", executor_model=EXECUTOR) == 1


async def test_max_cost_refuses_before_anything_is_sent_and_the_run_still_counts(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, source: Path, tmp_path: Path
) -> None:
    from podium.core.errors import BudgetExceededError

    config = PodiumConfig.from_mapping(_settings(upstream[1]))
    telemetry = Telemetry(config.telemetry)
    options = GenerationOptions(max_cost_usd=Decimal("0.0001"), output=tmp_path / "calc_test.py")
    async with Podium.from_config(config, env=KEYS, home=tmp_path / "home", telemetry=telemetry) as client:
        with pytest.raises(BudgetExceededError) as refused:
            await generate_tests(
                client, analyze_file(source), config.orchestration, options=options, telemetry=telemetry, env=KEYS
            )
    assert refused.value.limit == Decimal("0.0001")
    assert fake.count() == 0 and not (tmp_path / "calc_test.py").exists()
    assert _sample(telemetry.registry, "orchestration_workflows_total") == 1
    assert _sample(telemetry.registry, "orchestration_total_cost_usd_total") == 0


async def test_delegate_defaults_the_use_case_from_task_analysis(
    upstream: tuple[FakeUpstream, str], fake: FakeUpstream, tmp_path: Path
) -> None:
    from podium.workflows import Orchestration

    config = PodiumConfig.from_mapping(_settings(upstream[1]))
    fake.script(_wire(EXECUTOR), "4", usage=Usage(10, 1))
    telemetry = Telemetry(config.telemetry)
    async with Podium.from_config(config, env=KEYS, home=tmp_path, telemetry=telemetry) as client:
        run = Orchestration(client, config.orchestration, name="demo", telemetry=telemetry, env=KEYS)
        with run.span():
            done = await run.delegate("What is 2 + 2?")
            summary = run.finish()
    assert done.text == "4" and done.choice.use_case == "simple" and done.record.model == EXECUTOR
    assert summary.executor_cost_usd == _cost(EXECUTOR, Usage(10, 1)) and summary.orchestrator_cost_usd == 0
    assert run.finish() is summary  # ending twice records the run once
    assert _sample(telemetry.registry, "orchestration_workflows_total") == 1
    assert _sample(telemetry.registry, "orchestration_delegations_success_total", executor_model=EXECUTOR) == 1
