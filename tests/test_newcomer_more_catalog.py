"""Model ids a newcomer copies from OpenRouter resolve: dated ids, with or without the provider prefix; a retired
model the catalog does not carry fails in one line suggesting its current successor."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.catalog import Catalog
from podium.core.errors import UnknownModelError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("openrouter:anthropic/claude-3-opus-20240229", "openrouter:anthropic/claude-3-opus"),
        ("anthropic/claude-3-opus-20240229", "openrouter:anthropic/claude-3-opus"),
        ("openrouter:anthropic/claude-3-haiku-20240307", "openrouter:anthropic/claude-3-haiku"),
    ],
)
def test_dated_openrouter_ids_resolve(name: str, model_id: str) -> None:
    spec = Catalog.bundled().get(name)
    assert spec.id == model_id
    assert spec.legacy  # the alias changed nothing else about the model
    # the catalog's builder carries the same alias, so a rebuild keeps it
    assert f'"{name}"' in (ROOT / "tools" / "build_catalog.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["google/gemini-pro-1.5", "openrouter:google/gemini-pro-1.5"])
def test_a_retired_gemini_id_suggests_the_current_one(name: str) -> None:
    catalog = Catalog.bundled()
    assert not any("1.5" in s.id and "gemini" in s.id for s in catalog.all())  # no 1.5 model to resolve to
    with pytest.raises(UnknownModelError) as caught:
        catalog.get(name)
    message = str(caught.value)
    assert "\n" not in message
    assert "gemini-2.5-pro" in message.split("did you mean", 1)[1].split(",")[0]
