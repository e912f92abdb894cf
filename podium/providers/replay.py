"""The replay provider: answers from recorded model outputs, at their recorded cost, with no network."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from podium.core.clock import Clock
from podium.core.errors import ReplayMissError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, StreamChunk, Usage
from podium.providers.recorded_data import (
    RECORDED_MODEL_IDS,
    EvalRecord,
    Outcome,
    bundled_records,
    estimate_tokens,
    normalize_prompt,
    read_recorded,
)

_STREAM_CHUNKS = 4
_SAMPLE_MAX_CHARS = 300


class _ClassOrInstanceMethod:
    """Lets ``ReplayProvider.sample_prompts(3)`` work on the class (bundled data) and on an instance."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, owner: type) -> Callable[..., Any]:
        target = obj if obj is not None else owner()

        def bound(*args: Any, **kwargs: Any) -> Any:
            return self._func(target, *args, **kwargs)

        return bound


class ReplayProvider:
    """Serves recorded answers keyed by (normalized prompt, model id); unknown pairs raise ReplayMissError."""

    name = "replay"

    def __init__(
        self,
        records: Sequence[EvalRecord] | None = None,
        *,
        paths: Sequence[str | Path] | None = None,
    ) -> None:
        self._given = list(records) if records is not None else None
        self._paths = [Path(p) for p in paths] if paths is not None else None
        self._index: dict[tuple[str, str], tuple[EvalRecord, Outcome]] | None = None
        self._records: list[EvalRecord] = []
        self._aliases: dict[str, str] = {}

    @classmethod
    def from_settings(
        cls, settings: Any, *, http_client: Any = None, env: Mapping[str, str] | None = None, clock: Clock | None = None
    ) -> ReplayProvider:
        """Build from provider settings; a ``base_url`` naming a local CSV file replays that file instead."""
        base = getattr(settings, "base_url", None)
        if base:
            return cls(paths=[Path(base.removeprefix("file://"))])
        return cls()

    # -- index ---------------------------------------------------------------------------------------------

    def _ensure_index(self) -> dict[tuple[str, str], tuple[EvalRecord, Outcome]]:
        if self._index is not None:
            return self._index
        if self._given is not None:
            records = self._given
        elif self._paths is not None:
            records = [r for p in self._paths for r in read_recorded(p)]
        else:
            records = list(bundled_records())
        index: dict[tuple[str, str], tuple[EvalRecord, Outcome]] = {}
        model_ids: set[str] = set()
        for rec in records:
            key = normalize_prompt(rec.prompt)
            for model_id, outcome in rec.outcomes.items():
                index.setdefault((key, model_id), (rec, outcome))
                model_ids.add(model_id)
        self._records = list(records)
        self._aliases = _alias_table(model_ids)
        self._index = index
        return index

    @property
    def records(self) -> list[EvalRecord]:
        """The records this provider replays (loaded on first use)."""
        self._ensure_index()
        return self._records

    @property
    def models(self) -> tuple[str, ...]:
        """Model ids with at least one recorded answer."""
        self._ensure_index()
        return tuple(sorted(set(self._aliases.values())))

    def _model_key(self, model: ModelSpec) -> str | None:
        for name in (model.id, model.api_model, *model.aliases):
            if name in self._aliases:
                return self._aliases[name]
        return None

    def lookup(self, prompt: str, model: ModelSpec) -> tuple[EvalRecord, Outcome] | None:
        """The recorded (record, outcome) for this prompt and model, or None."""
        index = self._ensure_index()
        model_key = self._model_key(model)
        if model_key is None:
            return None
        return index.get((normalize_prompt(prompt), model_key))

    def _find(self, request: ChatRequest, model: ModelSpec) -> tuple[EvalRecord, Outcome]:
        for text in (request.last_user_text, request.prompt_text):
            hit = self.lookup(text, model)
            if hit is not None:
                return hit
        raise ReplayMissError(model.id, request.last_user_text)

    # -- Provider protocol -----------------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, model: ModelSpec) -> Completion:
        record, outcome = self._find(request, model)
        return Completion(
            text=outcome.response,
            model=model.id,
            provider=self.name,
            usage=_usage(record.prompt, outcome.response),
            cost_usd=outcome.cost_usd,
            latency_ms=0.0,
            finish_reason="stop",
            metadata={
                "usage_estimated": True,
                "correct": outcome.correct,
                "record_id": record.id,
                "eval_name": record.eval_name,
            },
        )

    async def stream(self, request: ChatRequest, model: ModelSpec) -> AsyncIterator[StreamChunk]:
        record, outcome = self._find(request, model)
        for piece in _chunks(outcome.response, _STREAM_CHUNKS):
            yield StreamChunk(delta=piece)
        yield StreamChunk(finish_reason="stop", usage=_usage(record.prompt, outcome.response), cost_usd=outcome.cost_usd)

    async def aclose(self) -> None:
        return None

    # -- helpers for docs and demos --------------------------------------------------------------------------

    @_ClassOrInstanceMethod
    def sample_prompts(self, n: int = 3) -> list[str]:
        """Up to ``n`` short recorded prompts, one eval after another, in a fixed order."""
        self._ensure_index()
        by_eval: dict[str, list[str]] = {}
        for rec in sorted(self._records, key=lambda r: (len(r.prompt), r.id)):
            if len(rec.prompt) <= _SAMPLE_MAX_CHARS:
                by_eval.setdefault(rec.eval_name, []).append(rec.prompt)
        out: list[str] = []
        queues = [list(reversed(v)) for _, v in sorted(by_eval.items())]
        while len(out) < n and any(queues):
            for q in queues:
                if q and len(out) < n:
                    out.append(q.pop())
        return out


def _alias_table(model_ids: set[str]) -> dict[str, str]:
    """Names a ModelSpec may carry (id, api_model, bare name, recorded column) -> the recorded model id."""
    table: dict[str, str] = {}
    for model_id in model_ids:
        table[model_id] = model_id
        table.setdefault(model_id.split(":", 1)[-1], model_id)
        table.setdefault(f"replay:{model_id.split(':', 1)[-1]}", model_id)
    for column, model_id in RECORDED_MODEL_IDS.items():
        if model_id in model_ids:
            table.setdefault(column, model_id)
    return table


def _usage(prompt: str, response: str) -> Usage:
    return Usage(input_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(response))


def _chunks(text: str, parts: int) -> list[str]:
    """Split at whitespace into about ``parts`` pieces that join back to exactly ``text``."""
    if not text:
        return []
    words = re.findall(r"\S+\s*|\s+", text)
    size = max(1, -(-len(words) // parts))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]
