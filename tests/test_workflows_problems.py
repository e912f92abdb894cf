"""Problem generation and grading end to end: real engine and ledger on SQLite, the fake upstream on loopback.

Generation goes to the task table's budget row (gpt-4o-mini), grading to its judge row (gpt-4o), so the fake
tells them apart by model name.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.errors import ValidationError
from podium.core.types import Usage
from podium.testing import FakeUpstream
from podium.workflows.problems import AnswerGrader, AnswerItem, ProblemGenerator, read_answers
from podium.workflows.records import RunStore

KEY = "sk-test-problems-0123456789"
GEN, JUDGE = "gpt-4o-mini", "gpt-4o"
runner = CliRunner()


def problem(n: int, variations: int = 1) -> str:
    return json.dumps(
        {
            "problem": f"Problem {n}: climb {n} stairs",
            "answer": str(n),
            "variations": [f"Variation {n}.{k}: climb {n + k} stairs" for k in range(1, variations + 1)],
        }
    )


@pytest.fixture()
def config(served: tuple[FakeUpstream, str]) -> Any:
    return PodiumConfig.from_mapping(
        {"providers": {"openai": {"base_url": served[1] + "/v1"}}, "resilience": {"retry": {"max_attempts": 1}}}
    )


def generator(config: Any, tmp_path: Path, **kw: Any) -> ProblemGenerator:
    return ProblemGenerator(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "home", **kw)


async def test_generate_dedups_routes_by_table_and_prices_each_call(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(GEN, problem(1), usage=Usage(100, 100), times=1)
    fake.script(GEN, problem(1), usage=Usage(100, 100), times=1)  # the model repeats itself: dropped
    fake.script(GEN, problem(3), usage=Usage(100, 100), times=1)
    gen = generator(config, tmp_path, log_prompts=True)
    out = await gen.generate("stairs", count=3, variations=1, max_usd="1")
    gen.close()

    assert out.status == "completed" and fake.count(GEN) == 3 and fake.count(JUDGE) == 0
    assert [i["id"] for i in out.items] == ["p1", "p1.v1", "p3", "p3.v1"] and out.duplicates == 2
    assert out.items[1]["variation_of"] == "p1" and out.items[0]["answer"] == "1"
    call = Decimal(100) * Decimal("0.15") / 10**6 + Decimal(100) * Decimal("0.6") / 10**6
    assert out.cost_usd == 3 * call and out.items[0]["call_cost_usd"] == str(call)
    # the second prompt lists the problems already made
    assert "Problem 1: climb 1 stairs" in json.dumps(fake.requests[1].json)
    rows = (
        sqlite3.connect(tmp_path / "home" / "ledger.db")
        .execute("select project, task_type, prompt from ledger_calls")
        .fetchall()
    )
    assert {(r[0], r[1]) for r in rows} == {(out.run_id, "problem_generation")} and all(r[2] for r in rows)
    record = RunStore.in_home(tmp_path / "home").load(out.run_id)
    assert record.steps["p1"].prompts and record.steps["p1"].model == f"openai:{GEN}"


async def test_invalid_output_is_retried_then_the_step_fails_alone(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(GEN, "here are your problems!", times=1)
    fake.script(GEN, problem(1, variations=2), times=1)  # retried with the error quoted: fits
    fake.script(GEN, '{"problem": "x"}', times=2)  # twice unusable: p2 fails, p3 still runs
    fake.script(GEN, problem(3, variations=2), times=1)
    gen = generator(config, tmp_path)
    out = await gen.generate("stairs", count=3, variations=2)
    assert "no JSON object" in json.dumps(fake.requests[1].json)
    assert out.status == "failed" and "p2" in (out.run.stop_reason or "")
    assert [i["id"] for i in out.items if i["kind"] == "problem"] == ["p1", "p3"]
    assert out.run.steps["p2"].cost_usd > 0  # the unusable replies were paid for and recorded
    fake.script(GEN, problem(2, variations=2))
    again = await gen.resume(out.run_id)
    gen.close()
    assert again.status == "completed" and len(again.items) == 9


async def test_budget_stop_then_resume_with_more(fake: FakeUpstream, config: Any, tmp_path: Path) -> None:
    fake.script(GEN, problem(1), usage=Usage(100, 20000), times=1)  # $0.012: the next call cannot fit
    fake.script(GEN, problem(2), usage=Usage(100, 100))
    gen = generator(config, tmp_path)
    out = await gen.generate("stairs", count=2, variations=1, max_usd="0.0125", run_id="stairs")
    assert out.status == "paused" and (out.run.stop_reason or "").startswith("budget")
    assert fake.count(GEN) == 1 and [i["id"] for i in out.items] == ["p1", "p1.v1"]
    resumed = await gen.resume("stairs", max_usd="1")
    gen.close()
    assert resumed.status == "completed" and fake.count(GEN) == 2 and len(resumed.items) == 4


def test_bad_requests_are_one_line(config: Any, tmp_path: Path) -> None:
    gen = generator(config, tmp_path)
    for kwargs, named in (
        ({"count": 0}, "--count"),
        ({"variations": 11}, "--variations"),
        ({"difficulty": "brutal"}, "--difficulty"),
        ({"max_usd": "-1"}, "--budget"),
    ):
        with pytest.raises(ValidationError, match=named):
            asyncio.run(gen.generate("stairs", **kwargs))
    gen.close()


async def test_grade_scores_dedups_and_reports_costs(fake: FakeUpstream, config: Any, tmp_path: Path) -> None:
    fake.script(
        JUDGE,
        "```json\n" + json.dumps({"score": 1, "verdict": "correct", "feedback": "Right."}) + "\n```",
        usage=Usage(200, 50),
        times=1,
    )
    fake.script(JUDGE, json.dumps({"score": 7, "feedback": "out of range"}), times=1)  # invalid: retried
    fake.script(JUDGE, json.dumps({"score": 0.2, "verdict": "incorrect", "feedback": "Off by one."}), times=1)
    answers = [AnswerItem("a", "2+2?", "4"), AnswerItem("b", "3+3?", "7"), AnswerItem("c", "2 + 2 ?", " 4 ")]
    grader = AnswerGrader(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "home")
    out = await grader.grade(answers, rubric="The exact sum.")
    grader.close()
    assert out.status == "completed" and fake.count(JUDGE) == 3 and fake.count(GEN) == 0
    rows = {r["id"]: r for r in out.rows}
    assert rows["a"]["score"] == 1.0 and rows["b"]["score"] == 0.2 and rows["c"]["duplicate_of"] == "a"
    assert rows["c"]["cost_usd"] == "0" and Decimal(rows["a"]["cost_usd"]) > 0
    assert out.mean_score == pytest.approx(0.7333, abs=1e-4)
    assert "The exact sum." in json.dumps(fake.requests[0].json)
    assert "maximum" in json.dumps(fake.requests[2].json)  # the schema problem was quoted to the judge


def test_read_answers_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n{"answer": "no question"}\n')
    with pytest.raises(ValidationError, match="line 2"):
        read_answers(path)


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"OPENAI_API_KEY": KEY, "PODIUM_HOME": str(tmp_path / "home")}


@pytest.fixture()
def project_dir(served: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "podium.yaml").write_text(
        f"providers:\n  openai: {{base_url: '{served[1]}/v1'}}\nresilience:\n  retry: {{max_attempts: 1}}\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_generate_budget_stop_resume_then_grade(fake: FakeUpstream, project_dir: Path) -> None:
    fake.script(GEN, problem(1), usage=Usage(100, 20000), times=1)
    fake.script(GEN, problem(2), usage=Usage(100, 100))
    out = project_dir / "problems.jsonl"
    args = [
        "problems",
        "generate",
        "--topic",
        "stairs",
        "--count",
        "2",
        "--variations",
        "1",
        "--budget",
        "0.0125",
        "--output",
        str(out),
        "--id",
        "st",
    ]
    stopped = runner.invoke(app, args, env=cli_env(project_dir))
    assert stopped.exit_code == 1, stopped.output
    assert "paused" in stopped.stderr and "podium problems resume st --budget" in stopped.stderr
    resumed = runner.invoke(
        app, ["problems", "resume", "st", "--budget", "1", "--output", str(out)], env=cli_env(project_dir)
    )
    assert resumed.exit_code == 0, resumed.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["p1", "p1.v1", "p2", "p2.v1"]

    answers = project_dir / "answers.jsonl"
    answers.write_text("\n".join(json.dumps({"id": x["id"], "question": x["text"], "answer": "5"}) for x in lines))
    fake.script(JUDGE, json.dumps({"score": 0.5, "verdict": "partially correct", "feedback": "Half."}))
    graded = runner.invoke(
        app, ["problems", "grade", str(answers), "--rubric", "exact count", "--json"], env=cli_env(project_dir)
    )
    assert graded.exit_code == 0, graded.output
    report = json.loads(graded.stdout)
    assert report["graded"] == 4 and report["mean_score"] == 0.5 and Decimal(report["cost_usd"]) > 0
    listed = runner.invoke(app, ["problems", "list", "--json"], env=cli_env(project_dir))
    assert {r["id"] for r in json.loads(listed.stdout)} >= {"st", report["run_id"]}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["problems", "generate", "--topic", "x", "--count", "0"], "--count"),
        (["problems", "generate", "--topic", " "], "--topic"),
        (["problems", "grade", "missing.jsonl", "--rubric", "r"], "missing.jsonl"),
        (["problems", "resume", "nope"], "nope"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(
    fake: FakeUpstream, project_dir: Path, args: list[str], named: str
) -> None:
    result = runner.invoke(app, args, env=cli_env(project_dir))
    assert result.exit_code == 2 and named in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and fake.count() == 0
