"""What a newcomer meets on a fresh clone: the documented commands run through the real CLI in a child process
(80-column terminal, no API keys, a fresh $PODIUM_HOME), and their output reads right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def podium(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    child_env = {**os.environ, "COLUMNS": "80", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    return subprocess.run([sys.executable, "-m", "podium", *args], cwd=cwd, env=child_env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


# -- router train --------------------------------------------------------------------------------------------------


def test_the_documented_example_trains_with_defaults_and_says_why_there_is_no_cross_validation() -> None:
    done = podium("router", "train", "--data", "docs/examples/router_outcomes.csv")
    assert done.returncode == 0, done.stderr
    assert "router trained on 4 prompts" in done.stdout
    assert "no cross-validation: 4 prompts are too few" in done.stderr
    assert "--cv-folds" not in done.stdout + done.stderr  # nothing suggests a setting this data cannot use


def test_explicit_folds_beyond_the_data_are_still_refused() -> None:
    done = podium("router", "train", "--data", "docs/examples/router_outcomes.csv", "--cv-folds", "5")
    assert done.returncode == 2
    assert "at most 4, the number of prompts" in done.stderr


# -- replay misses -------------------------------------------------------------------------------------------------

BUNDLED_PROMPT = "Write a function to filter odd numbers."


def test_a_bundled_prompt_asked_of_a_model_without_recordings_names_the_models_that_have_them() -> None:
    done = podium("ask", BUNDLED_PROMPT, "--model", "openai:gpt-5", "--replay")
    assert done.returncode != 0 and done.stderr.count("\n") == 1
    assert "no recorded answer of openai:gpt-5 " in done.stderr
    assert "this prompt has recorded answers of " in done.stderr and "openai:gpt-4-1106-preview" in done.stderr
    assert "only answers prompts from its bundled data" not in done.stderr


def test_a_replay_miss_among_several_models_names_each_model_tried() -> None:
    done = podium("ask", BUNDLED_PROMPT, "--models", "openai:gpt-5-nano,openai:gpt-5", "--replay")
    assert done.returncode != 0
    assert "no recorded answer of openai:gpt-5-nano, openai:gpt-5 for prompt" in done.stderr
    assert "any recorded model" not in done.stderr


def test_a_prompt_outside_the_bundled_data_still_points_to_a_live_provider() -> None:
    done = podium("ask", "A prompt nobody recorded, about zebras.", "--model", "openai:gpt-5", "--replay")
    assert done.returncode != 0
    assert "only answers prompts from its bundled data" in done.stderr and "use a live provider" in done.stderr


# -- tables at 80 columns ------------------------------------------------------------------------------------------


def _readable_at_80(text: str) -> None:
    assert "…" not in text  # nothing cut with an ellipsis
    long = [line for line in text.splitlines() if len(line) > 80]
    assert all(str(ROOT) in line or "/pytest-" in line for line in long), long  # only a long path may overflow


def test_explain_at_80_columns_shows_every_candidate_id_whole() -> None:
    done = podium("ask", BUNDLED_PROMPT, "--strategy", "cascade", "--explain", "--replay")
    assert done.returncode == 0, done.stderr
    explained = done.stderr.split("routed by cascade")[0]
    _readable_at_80(explained.split("task type 'code'")[0])
    for model in ("openai:gpt-3.5-turbo-1106", "openai:gpt-4-1106-preview", "anthropic:claude-instant-v1",
                  "anthropic:claude-v1", "anthropic:claude-v2", "together:codellama-34b-instruct"):
        assert model in explained.split(), model  # a whole word, not folded across lines


def test_models_at_80_columns_never_wrap_an_id() -> None:
    listed = podium("models", "--json")
    ids = {m["id"] for m in json.loads(listed.stdout)}
    done = podium("models")
    assert done.returncode == 0, done.stderr
    _readable_at_80(done.stdout)
    assert ids <= set(done.stdout.split())


def test_config_check_at_80_columns_never_wraps_a_key(tmp_path: Path) -> None:
    assert podium("init", cwd=tmp_path).returncode == 0
    listed = json.loads(podium("config", "check", "--json", cwd=tmp_path).stdout)
    done = podium("config", "check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _readable_at_80(done.stdout)
    words = set(done.stdout.split())
    assert {k for k in listed["sources"] if not k.startswith("providers.")} <= words
    # `podium init` leaves the alias commented out: it is shown as not set, not as its built-in default
    row = done.stdout.split("orchestration.quality_threshold\n", 1)[1].splitlines()[0]
    assert "unset (routing.quality_threshold applies)" in row and "0.85" not in row


@pytest.mark.slow
def test_eval_at_80_columns_keeps_models_in_the_parameters_whole_and_names_the_split_plainly() -> None:
    done = podium("eval", "--no-curves", "--strategy", "cascade", "--test-fraction", "0.05")
    assert done.returncode == 0, done.stderr
    _readable_at_80(done.stdout)
    assert "gpt-4-1106-preview" in done.stdout.split() and "plans=learned," in done.stdout.split()
    title = done.stdout.strip().splitlines()[0]
    assert title.startswith("podium eval:") and title.endswith("other prompts)"), title


# -- router versions -----------------------------------------------------------------------------------------------


def test_router_list_dates_the_shipped_router_by_its_training_not_by_today(tmp_path: Path) -> None:
    from podium.routing.learned_router import QualityRouter, shipped_router_path

    trained = QualityRouter.load(shipped_router_path()).info()["created_at"]
    done = podium("router", "list", env={"PODIUM_HOME": str(tmp_path), "COLUMNS": "160"})
    assert done.returncode == 0, done.stderr
    shipped = next(line for line in done.stdout.splitlines() if " shipped " in line)
    assert trained in shipped
    listed = json.loads(podium("router", "list", "--json", env={"PODIUM_HOME": str(tmp_path)}).stdout)
    assert [v["created_at"] for v in listed if v["kind"] == "shipped"] == [trained]


def test_router_info_says_when_a_feedback_adjustment_is_in_use(tmp_path: Path) -> None:
    from podium.routing.feedback_adjust import FeedbackAdjustedRouter, LabelledAnswer
    from podium.routing.learned_router import QualityRouter
    from podium.routing.router_store import RouterStore

    store = RouterStore(tmp_path)
    base_path = store.path_of(store.get("shipped"))
    model = "openai:gpt-4-1106-preview"
    ratings = [LabelledAnswer(model, None, 0.0, 1.0, "write python code")] * 20
    adjusted = FeedbackAdjustedRouter.fit(QualityRouter.load(base_path), ratings, info={"trained_on": "20 ratings"})
    version = store.add("feedback", lambda p: adjusted.save(p, base_path=base_path), suffix=".feedback.json",
                        trained_on="ledger: 20 ratings", base="shipped")
    store.use(version.id)
    done = podium("router", "info", env={"PODIUM_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert f"in use: version {version.id} (a feedback adjustment of shipped" in done.stdout
    assert "learned adjustment" in done.stdout and model in done.stdout.split()


# -- testgen follows the keys present ------------------------------------------------------------------------------


def test_testgen_with_only_an_openai_key_plans_with_an_openai_model(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("def add(a, b):\n    return a + b\n")
    done = podium("testgen", "x.py", "--dry-run", cwd=tmp_path, env={"OPENAI_API_KEY": "sk-test-0123456789"})
    assert done.returncode == 0, done.stderr
    assert "needs ANTHROPIC_API_KEY, which is not set (choose another with --orchestrator)" in done.stderr
    plan = next(line for line in done.stdout.splitlines() if line.strip().startswith("plan"))
    assert plan.split()[1].startswith("openai:"), plan


def test_testgen_without_any_key_names_the_variable_to_set(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("def add(a, b):\n    return a + b\n")
    done = podium("testgen", "x.py", cwd=tmp_path)
    assert done.returncode != 0
    assert "ANTHROPIC_API_KEY" in done.stderr.splitlines()[-1] and "Traceback" not in done.stderr
