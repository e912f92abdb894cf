"""A prompt larger than the model's context window is refused before anything is sent, in one line naming the
model, the estimated tokens and the window; a routed call moves to a model whose window holds it.

Real CLI and engine, HTTP to the fake upstream on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.testing import FakeUpstream, serve

KEY = "sk-test-context-window-0123456789"
BIG = "lorem ipsum " * 90_000  # about 1 MB: some 270k estimated tokens


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeUpstream, Path]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        (tmp_path / "podium.yaml").write_text(
            f"providers:\n  openai:\n    base_url: {base_url}/v1\n"
            "models:\n"
            "  - {id: openai:small-window, input_per_million: '0.1', output_per_million: '0.1', context_window: 128000}\n"
            "  - {id: openai:huge-window, input_per_million: '1', output_per_million: '1', context_window: 2000000}\n"
            "resilience:\n  retry:\n    max_attempts: 1\n"
            "routing:\n  candidates: [openai:small-window, openai:huge-window]\n"
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        yield fake, tmp_path


def test_an_oversized_prompt_is_refused_before_sending(workdir: tuple[FakeUpstream, Path]) -> None:
    fake, _ = workdir
    done = CliRunner().invoke(app, ["ask", "--model", "openai:small-window"], input=BIG)
    assert done.exit_code != 0
    line = done.output.strip()
    assert "\n" not in line
    assert "openai:small-window" in line and "128,000" in line and "270,00" in line
    assert fake.count() == 0


def test_a_routed_oversized_prompt_goes_to_a_model_whose_window_holds_it(workdir: tuple[FakeUpstream, Path]) -> None:
    fake, _ = workdir
    fake.script("huge-window", "fits")
    done = CliRunner().invoke(app, ["ask", "--strategy", "cheapest"], input=BIG)
    assert done.exit_code == 0, done.output
    assert "fits" in done.output
    assert fake.counts == {"huge-window": 1}
