"""Recorded datasets: both file formats, model-id mapping, exact costs, bad files, splits and folds."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from podium.core.errors import ValidationError
from podium.providers.recorded_data import estimate_tokens
from podium.routing.datasets import (
    bundled_datasets,
    kfold,
    load_bundled,
    load_dataset,
    normalize_prompt,
    split_records,
)

ROUTERBENCH_CSV = """\
,sample_id,prompt,eval_name,gpt-4-1106-preview,mistralai/mistral-7b-chat,acme/new-model,gpt-4-1106-preview|model_response,mistralai/mistral-7b-chat|model_response,acme/new-model|model_response,gpt-4-1106-preview|total_cost,mistralai/mistral-7b-chat|total_cost,acme/new-model|total_cost,oracle_model_to_route_to
0,t.1,"['What is 2+2?']",toy,1.0,,0.0,"['4']","['5']","['22']",0.0042639999999999996,7.06e-05,0.001,mistralai/mistral-7b-chat
1,t.2,"['Name a colour.', 'Name a colour.']",toy,1.0,1.0,1.0,"['Red']","['Blue']","['Green']",0.003,0.0001,0.002,mistralai/mistral-7b-chat
"""

ROUTELLM_CSV = """\
prompt,gpt-4-1106-preview,mistralai/Mixtral-8x7B-Instruct-v0.1,gpt-4-1106-preview_response,mistralai/Mixtral-8x7B-Instruct-v0.1_response
How many legs do 3 cats have?,True,False,12,9
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_routerbench_file_maps_models_and_keeps_recorded_cost_to_the_picodollar(tmp_path: Path) -> None:
    records = load_dataset(_write(tmp_path, "toy.csv", ROUTERBENCH_CSV))
    assert [r.id for r in records] == ["t.1", "t.2"]
    first = records[0]
    assert first.prompt == "What is 2+2?" and first.eval_name == "toy"
    gpt4 = first.outcomes["openai:gpt-4-1106-preview"]
    # recorded as the float text "0.0042639999999999996": read as Decimal, the float noise below 1e-12 USD dropped
    assert gpt4.cost_usd == Decimal("0.004264") and isinstance(gpt4.cost_usd, Decimal)
    assert gpt4.correct == 1.0 and gpt4.response == "4"
    assert first.outcomes["together:mistral-7b-chat"].correct == 0.0  # empty cell counts as wrong
    assert first.outcomes["together:mistral-7b-chat"].cost_usd == Decimal("7.06e-05")
    assert "acme/new-model" in first.outcomes  # unknown column keeps its raw name
    assert records[1].prompt == "Name a colour."  # a repeated prompt part is kept once


def test_routellm_file_is_costed_from_estimated_tokens(tmp_path: Path) -> None:
    records = load_dataset(_write(tmp_path, "toy_dev.csv.gz", ROUTELLM_CSV))
    (rec,) = records
    assert rec.eval_name == "toy" and rec.id == "toy.0"
    gpt4 = rec.outcomes["openai:gpt-4-1106-preview"]
    mixtral = rec.outcomes["together:mixtral-8x7b-chat"]
    assert (gpt4.correct, mixtral.correct) == (1.0, 0.0)
    # $10 / $30 per 1M tokens for gpt-4-1106-preview
    expected = (Decimal(estimate_tokens(rec.prompt)) * 10 + Decimal(estimate_tokens("12")) * 30) / Decimal(10**6)
    assert gpt4.cost_usd == expected
    assert mixtral.cost_usd < gpt4.cost_usd


def test_file_in_neither_format_names_file_and_missing_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.csv", "question,answer\nhi,there\n")
    with pytest.raises(ValidationError) as err:
        load_dataset(path)
    message = str(err.value)
    assert "bad.csv" in message and "sample_id" in message and "eval_name" in message
    assert "<model>_response" in message


def test_missing_file_and_bad_correctness_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        load_dataset(tmp_path / "nope.csv")
    bad = ROUTELLM_CSV.replace("True,False", "maybe,False")
    with pytest.raises(ValidationError, match="correctness"):
        load_dataset(_write(tmp_path, "x.csv", bad))


def test_bundled_data_loads_with_catalog_ids() -> None:
    assert [p.name for p in bundled_datasets()] == [
        "arc_challenge_train.csv.gz",
        "mbpp_train.csv.gz",
        "winograde_train.csv.gz",
        "gsm8k_dev.csv.gz",
    ]
    records = load_bundled()
    assert len(records) == 1039 + 299 + 887 + 660
    assert len(load_bundled(include_gsm8k=False)) == 1039 + 299 + 887
    assert {r.eval_name for r in records} == {"arc-challenge", "mbpp", "winogrande", "gsm8k"}
    assert len(records[0].outcomes) == 11
    assert records[0].outcomes["openai:gpt-4-1106-preview"].cost_usd == Decimal("0.00533")


def test_split_is_deterministic_disjoint_and_stratified() -> None:
    records = load_bundled()
    train, test = split_records(records, test_fraction=0.3, seed=0)
    again_train, again_test = split_records(records, test_fraction=0.3, seed=0)
    assert [r.id for r in test] == [r.id for r in again_test] and len(train) == len(again_train)
    assert not {normalize_prompt(r.prompt) for r in train} & {normalize_prompt(r.prompt) for r in test}
    assert len(train) + len(test) == len(records)
    for name in ("arc-challenge", "mbpp", "winogrande", "gsm8k"):
        share = sum(r.eval_name == name for r in test) / sum(r.eval_name == name for r in records)
        assert abs(share - 0.3) < 0.01
    _, other = split_records(records, test_fraction=0.3, seed=1)
    assert [r.id for r in other] != [r.id for r in test]
    with pytest.raises(ValidationError, match="test_fraction"):
        split_records(records, test_fraction=1.5)


def test_kfold_partitions_by_prompt() -> None:
    records = load_bundled(include_gsm8k=False)[:400]
    folds = list(kfold(records, k=4, seed=0))
    assert len(folds) == 4
    seen: list[str] = []
    for train, test in folds:
        assert not {normalize_prompt(r.prompt) for r in train} & {normalize_prompt(r.prompt) for r in test}
        assert len(train) + len(test) == len(records)
        seen.extend(r.id for r in test)
    assert sorted(seen) == sorted(r.id for r in records)


def test_normalize_prompt_ignores_case_and_spacing() -> None:
    assert normalize_prompt("  Hello\n\tWORLD ") == normalize_prompt("hello world") == "hello world"
