"""Gateway pieces without a server: request translation, error mapping, virtual-key settings, `podium serve` flags."""

from __future__ import annotations

from decimal import Decimal

import pydantic
import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.clock import SYSTEM_CLOCK
from podium.core.errors import (
    AllAttemptsFailedError,
    BudgetExceededError,
    ConfigError,
    RateLimitError,
    ServerError,
    UnknownModelError,
    ValidationError,
)
from podium.core.types import ImagePart, TextPart
from podium.server import GatewayError, gateway_config, sha256_hex
from podium.server.errors import to_gateway_error
from podium.server.keys import VirtualKeys
from podium.server.openai_request import parse_chat_request

USER = {"role": "user", "content": "hi"}


def test_full_request_translates_every_field():
    parsed = parse_chat_request(
        {
            "model": "podium/auto",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA=="}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "temperature": 0.5,
            "max_tokens": 10,
            "max_completion_tokens": 20,
            "stop": "END",
            "seed": 7,
            "user": "u1",
            "response_format": {"type": "json_object"},
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "required",
            "presence_penalty": 0.1,
        }
    )
    r = parsed.request
    assert (parsed.model, parsed.stream, parsed.include_usage) == ("podium/auto", True, True)
    assert [m.role for m in r.messages] == ["system", "user", "assistant", "tool"]
    assert r.messages[1].content == (TextPart("What is this?"), ImagePart("data:image/jpeg;base64,AA==", "image/jpeg"))
    assert r.messages[2].content == "" and r.messages[2].tool_calls[0]["id"] == "c1"
    assert r.messages[3].tool_call_id == "c1"
    assert (r.temperature, r.max_tokens, r.stop, r.seed, r.user) == (0.5, 20, ("END",), 7, "u1")
    assert r.response_format == {"type": "json_object"} and r.tool_choice == "required" and len(r.tools) == 1


@pytest.mark.parametrize(
    "body,field,words",
    [
        ({"messages": [USER]}, "model", "required"),
        ({"model": "m", "messages": []}, "messages", "non-empty"),
        ({"model": "m", "messages": [USER], "temperature": 3}, "temperature", "0 to 2"),
        ({"model": "m", "messages": [USER], "max_tokens": True}, "max_tokens", "integer"),
        ({"model": "m", "messages": [USER], "n": 0}, "n", "out of range"),
        ({"model": "m", "messages": [USER], "stop": [1]}, "stop", "strings"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
            "messages[0].content[0].type",
            "not supported",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0].image_url.url",
            "image_url.url",
        ),
    ],
)
def test_bad_requests_name_the_field(body, field, words):
    with pytest.raises(ValidationError) as bad:
        parse_chat_request(body)
    assert bad.value.field == field and words in str(bad.value)


def test_errors_map_to_openai_statuses_and_scrub_secrets():
    secret = "sk-live-abcdef123456"
    cases = {
        UnknownModelError("x", ["openai:gpt-4o"]): (404, "model_not_found"),
        BudgetExceededError(
            scope="key:a", limit=Decimal(1), spent=Decimal(1), reserved=Decimal(0), requested=Decimal("0.1")
        ): (402, "budget_exceeded"),
        RateLimitError("slow down", provider="openai", retry_after=2.5): (429, "rate_limit_exceeded"),
        ServerError(f"boom {secret}", provider="openai", status=500): (502, "upstream_error"),
        AllAttemptsFailedError([("openai:gpt-4o", ServerError("down", provider="openai", status=503))]): (
            502,
            "all_attempts_failed",
        ),
        ValidationError("temperature bad", field="temperature"): (400, None),
        RuntimeError(secret): (500, "internal_error"),
    }
    for exc, (status, code) in cases.items():
        err = to_gateway_error(exc, [secret])
        assert (err.status, err.code) == (status, code), exc
        assert secret not in err.message
    assert to_gateway_error(RateLimitError("x", provider="p", retry_after=2.5)).headers == {"retry-after": "3"}
    assert "upstream rate limit" not in to_gateway_error(RateLimitError("x", provider="p", source="podium")).message


def test_virtual_keys_never_store_plaintext():
    with pytest.raises(pydantic.ValidationError) as plain:
        ServerSettings(keys=[{"id": "a", "key": "pk-plaintext-secret"}])
    assert "pk-plaintext-secret" not in str(plain.value) and "key_sha256" in str(plain.value.errors())
    with pytest.raises(pydantic.ValidationError, match="exactly one of key_env or key_sha256"):
        ServerSettings(keys=[{"id": "a"}])
    with pytest.raises(pydantic.ValidationError, match="not a SHA-256"):
        ServerSettings(keys=[{"id": "a", "key_sha256": "abc"}])
    with pytest.raises(pydantic.ValidationError, match="used twice"):
        ServerSettings(keys=[{"id": "a", "key_env": "A"}, {"id": "a", "key_env": "B"}])


def test_keys_from_env_authenticate_and_unset_variables_fail_at_startup():
    settings = ServerSettings(keys=[{"id": "a", "key_env": "TEAM_A_KEY"}, {"id": "b", "key_sha256": sha256_hex("kb")}])
    keys = VirtualKeys(settings, env={"TEAM_A_KEY": "ka"}, clock=SYSTEM_CLOCK)
    assert keys.authenticate("Bearer ka").id == "a" and keys.authenticate("bearer kb").id == "b"
    with pytest.raises(GatewayError) as bad:
        keys.authenticate("Bearer kc")
    assert bad.value.status == 401
    with pytest.raises(ConfigError, match="TEAM_A_KEY"):
        VirtualKeys(settings, env={}, clock=SYSTEM_CLOCK)


def test_key_budgets_become_ledger_budgets():
    settings = ServerSettings(keys=[{"id": "a", "key_env": "K", "budget_usd": "2.50", "budget_period": "month"}])
    config = gateway_config(PodiumConfig(), settings)
    (budget,) = [b for b in config.ledger.budgets if b.scope == "key"]  # beside the default monthly budget
    assert (budget.scope, budget.id, budget.period, budget.limit_usd, budget.mode) == (
        "key",
        "a",
        "month",
        Decimal("2.50"),
        "hard",
    )
    with pytest.raises(ConfigError, match="ledger is disabled"):
        gateway_config(PodiumConfig.from_mapping({"ledger": {"enabled": False}}), settings)


def test_serve_hash_key_prints_the_digest_for_config():
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--hash-key"], input="pk-team-a\n")
    assert result.exit_code == 0 and result.stdout.strip() == sha256_hex("pk-team-a")
    empty = runner.invoke(app, ["serve", "--hash-key"], input="")
    assert empty.exit_code == 2 and "stdin was empty" in empty.stderr


def test_open_gateway_warns_louder_off_loopback():
    from podium.server.keys import open_gateway_warning

    assert "only this machine" in open_gateway_warning(ServerSettings(), "127.0.0.1")
    assert "anyone who can reach 0.0.0.0" in open_gateway_warning(ServerSettings(), "0.0.0.0")
    assert open_gateway_warning(ServerSettings(keys=[{"id": "a", "key_env": "K"}]), "0.0.0.0") is None
