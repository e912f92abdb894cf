"""Policy files (YAML/JSON, scopes, error messages), the static analyzer, and `podium policy check|explain`."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec
from podium.policy import EnforcementMode, Policy, PolicyAnalyzer, PolicySet, load_policy_file

SEED_YAML = """\
global:
  - name: gdpr
    allow_training_on_output: false
    enforcement_mode: hard
    max_cost_per_task_usd: 1.0

team:
  eng:
    - name: eu_only
      allowed_regions: [eu, global]
      cost_cap_usd: 0.50

job:
  job_001:
    - name: high_quality
      min_quality_score: 0.90
"""


def m(name: str, provider: str, *, region: str = "us", price: str = "1", tier: str = "standard") -> ModelSpec:
    return ModelSpec(id=f"{provider}:{name}", provider=provider, api_model=name, input_per_million=Decimal(price),
                     output_per_million=Decimal(price), region=region, quality_tier=tier)


CATALOG = Catalog([
    m("us-basic", "openai", price="0.5", tier="basic"),
    m("us-top", "openai", price="10", tier="frontier"),
    m("eu-mid", "mistral", region="eu", price="2", tier="advanced"),
])


def test_seed_policy_file_loads_with_scopes(tmp_path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(SEED_YAML)
    hierarchy = load_policy_file(path)
    eng = hierarchy.policies_for(team="eng")
    assert [p.name for p in eng] == ["gdpr", "eu_only"] and eng.scopes == ("global", "team eng")
    assert eng.policies[1].max_cost_per_task_usd == Decimal("0.5")  # seed's cost_cap_usd
    job = hierarchy.policies_for(job="job_001")
    assert [p.name for p in job] == ["gdpr", "high_quality"] and job.policies[1].required_tier == "frontier"
    assert [p.name for p in hierarchy.policies_for(team="other")] == ["gdpr"]
    assert PolicyAnalyzer.analyze(eng).is_clean()


def test_bad_value_in_a_policy_file_names_file_line_key_and_value(tmp_path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text("global:\n  - name: x\n    enforcement_mode: strict\n")
    with pytest.raises(ConfigError) as info:
        load_policy_file(path)
    text = str(info.value)
    assert str(path) in text and "line 3" in text and "global[0].enforcement_mode = 'strict'" in text
    assert "'hard' or 'soft'" in text


def test_json_policy_file_and_its_syntax_errors(tmp_path) -> None:
    good = tmp_path / "p.json"
    good.write_text(json.dumps({"key": {"k1": [{"name": "cheap", "max_price_per_million_usd": "1"}]}}))
    assert [p.name for p in load_policy_file(good).policies_for(key="k1")] == ["cheap"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"global": [\n  {"name": "x",}\n]}')
    with pytest.raises(ConfigError, match=r"bad\.json line 2, column \d+: JSON syntax error"):
        load_policy_file(bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"global": [{"name": "x", "allowed_region": ["eu"]}]}')
    with pytest.raises(ConfigError, match=r"unknown\.json line 1: unknown key 'allowed_region' .*did you mean 'allowed_regions'"):
        load_policy_file(unknown)


def test_seed_python_api() -> None:
    gdpr = Policy(name="gdpr", allowed_regions=["EU", "global"], allow_training_on_output=False,
                  enforcement_mode=EnforcementMode.HARD)
    cap = Policy(name="cost_cap", max_cost_per_task_usd=0.50, max_latency_ms=5000.0, enforcement_mode=EnforcementMode.SOFT)
    policies = PolicySet(policies=[gdpr, cap])
    assert gdpr.allowed_regions == ("eu", "global") and cap.max_cost_per_task_usd == Decimal("0.5")
    allowed, denied = policies.partition(CATALOG.all())
    assert [s.id for s in allowed] == ["mistral:eu-mid"] and set(denied) == {"openai:us-basic", "openai:us-top"}


@pytest.mark.parametrize(
    "policy,expected",
    [
        (Policy(name="p", allowed_regions=["eu"], allowed_providers=["openai"]),
         "no model of the allowed providers (openai) is in the allowed regions (eu)"),
        (Policy(name="p", allowed_providers=["openai"], denied_providers=["openai"]),
         "providers openai are both allowed and denied"),
        (Policy(name="p", allowed_models=["openai:*"], denied_models=["*us-*"]), "every allowed model is also denied"),
        (Policy(name="p", max_price_per_million_usd="0.1"),
         "max_price_per_million_usd $0.1 is below every allowed model's price (cheapest $0.5)"),
        (Policy(name="p", allowed_providers=["mistral"], min_quality_tier="frontier"),
         "minimum quality tier 'frontier' is above every allowed model"),
    ],
)
def test_analyzer_reports_each_contradiction_as_an_error(policy: Policy, expected: str) -> None:
    report = PolicyAnalyzer.analyze([policy], CATALOG)
    assert any(expected in e for e in report.errors), report.errors
    assert not report.is_clean()


def test_analyzer_warnings_and_cross_policy_contradictions() -> None:
    report = PolicyAnalyzer.analyze(
        [
            Policy(name="a", allowed_providers=["openai", "acme"], allowed_models=["gpt-9*"]),
            Policy(name="a", allowed_regions=["mars"], enforcement_mode="soft"),
            Policy(name="eu", allowed_regions=["eu"]),
        ],
        CATALOG,
    )
    assert "policy 'a': allowed_providers names unknown provider 'acme'" in report.warnings
    assert "policy 'a': allowed_models entry 'gpt-9*' matches no known model" in report.warnings
    assert any("allowed_regions names 'mars'" in w for w in report.warnings)
    assert any("policy 'a' (global) allows no known model" in w for w in report.warnings)  # soft: a warning
    assert "policy name 'a' is used 2 times in global; give each policy its own name" in report.errors
    ok = PolicyAnalyzer.analyze([Policy(name="us", allowed_providers=["openai"]), Policy(name="eu", allowed_regions=["eu"])],
                                CATALOG)
    assert ok.errors == ["hard policies 'us', 'eu' together allow no known model (each alone allows some)"]


runner = CliRunner()


def test_cli_check_exit_codes(tmp_path) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text(SEED_YAML)
    result = runner.invoke(app, ["policy", "check", str(clean)])
    assert result.exit_code == 0, result.output
    assert "3 policies, 0 errors, 0 warnings" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("team:\n  eng:\n    - name: x\n      allowed_regions: [eu]\n      allowed_providers: [openai]\n")
    result = runner.invoke(app, ["policy", "check", str(broken), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.output)
    expected = "no model of the allowed providers (openai) is in the allowed regions (eu)"
    assert report["errors"] == [f"policy 'x' (team eng) allows no known model: {expected}"]
    missing = runner.invoke(app, ["policy", "check", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "nope.yaml does not exist" in missing.output


def test_cli_explain_says_which_policies_deny_and_why(tmp_path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(SEED_YAML)
    result = runner.invoke(app, ["policy", "explain", "openai:gpt-4o-mini", "--team", "eng", "--file", str(path)])
    assert result.exit_code == 1, result.output  # denied: a script can tell from the exit code
    lines = result.output.splitlines()
    assert lines[0] == "openai:gpt-4o-mini: DENIED"
    assert "allows  gdpr (global, hard)" in result.output and "denies  eu_only (team eng, hard)" in result.output
    assert "allowed_regions: openai:gpt-4o-mini is in region 'us'; allowed: eu, global" in result.output
    plain = runner.invoke(app, ["policy", "explain", "openai:gpt-4o-mini", "--file", str(path), "--json"])
    assert json.loads(plain.output)["allowed"] is True


def test_podium_yaml_policy_section_accepts_a_bare_policy_and_names_bad_keys(tmp_path) -> None:
    from podium.config.root import load_config
    from podium.policy import PolicyHierarchy

    path = tmp_path / "podium.yaml"
    path.write_text("policy:\n  enforcement_mode: hard\n  allowed_providers: [openai, anthropic]\n")
    config = load_config(path, env={}).config
    (policy,) = PolicyHierarchy.from_settings(config.policy).policies_for()
    assert (policy.name, policy.allowed_providers) == ("default", ("openai", "anthropic"))
    path.write_text("policy:\n  team:\n    eng:\n      - name: x\n        max_price_per_million_usd: -1\n")
    with pytest.raises(ConfigError, match=r"podium\.yaml line 5: policy\.team\.eng\[0\]\.max_price_per_million_usd = "):
        load_config(path, env={})
