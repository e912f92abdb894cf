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
from podium.providers.recorded_index import PromptIndex, bundled_prompt_index

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
        self._records: list[EvalRecord] | None = None
        self._aliases: dict[str, str] | None = None
        self._prompts: PromptIndex | None = None  # the bundled data: rows decoded on demand

    @classmethod
    def from_settings(
        cls, settings: Any, *, http_client: Any = None, env: Mapping[str, str] | None = None, clock: Clock | None = None
    ) -> ReplayProvider:
        """Build from provider settings; a ``base_url`` naming a local CSV file replays that file instead."""
        base = getattr(settings, "base_url", None)
        provider = cls(paths=[Path(base.removeprefix("file://"))]) if base else cls()
        provider.load()  # here, not in the first call: the ledger times calls, and loading is no part of one
        return provider

    # -- index ---------------------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the recorded data now (otherwise the first lookup does). The bundled data loads only its index."""
        if self._aliases is not None:
            return
        if self._given is None and self._paths is None:
            self._prompts = bundled_prompt_index()
            self._aliases = _alias_table(self._prompts.model_ids())
            return
        self._ensure_index()

    @property
    def loaded(self) -> bool:
        """Whether the recorded data (for the bundled data: its prompt index) is loaded."""
        return self._aliases is not None

    def _ensure_index(self) -> dict[tuple[str, str], tuple[EvalRecord, Outcome]]:
        if self._index is not None:
            return self._index
        if self._given is not None:
            records = self._given
        elif self._paths is not None:
            records = [r for p in self._paths for r in read_recorded(p)]
        else:
            records = list(self.records)
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
        """The records this provider replays (every record is parsed on first use: slow for the bundled data)."""
        if self._records is None:
            if self._given is None and self._paths is None:
                self._records = list(bundled_records())
            else:
                self._ensure_index()
        return self._records or []

    @property
    def models(self) -> tuple[str, ...]:
        """Model ids with at least one recorded answer."""
        self.load()
        return tuple(sorted(set((self._aliases or {}).values())))

    def _model_key(self, model: ModelSpec) -> str | None:
        self.load()
        aliases = self._aliases or {}
        for name in (model.id, model.api_model, *model.aliases):
            if name in aliases:
                return aliases[name]
        return None

    def lookup(self, prompt: str, model: ModelSpec) -> tuple[EvalRecord, Outcome] | None:
        """The recorded (record, outcome) for this prompt and model, or None."""
        model_key = self._model_key(model)
        if model_key is None:
            return None
        if self._prompts is not None:
            for record in self._prompts.records_for(prompt):
                if model_key in record.outcomes:
                    return record, record.outcomes[model_key]
            return None
        return self._ensure_index().get((normalize_prompt(prompt), model_key))

    def recorded_models(self, prompt: str) -> tuple[str, ...]:
        """The model ids with a recorded answer to ``prompt`` (none: the data does not hold this prompt)."""
        self.load()
        if self._prompts is not None:
            return tuple(sorted({m for record in self._prompts.records_for(prompt) for m in record.outcomes}))
        wanted = normalize_prompt(prompt)
        return tuple(sorted({model for key, model in self._ensure_index() if key == wanted}))

    def miss(self, request: ChatRequest, tried: Sequence[str]) -> ReplayMissError:
        """The error for a request none of ``tried`` has an answer to, naming the models that do have one."""
        texts = (request.last_user_text, request.prompt_text)
        recorded = next((found for found in map(self.recorded_models, texts) if found), ())
        return ReplayMissError(tried[0] if len(tried) == 1 else "any of the models tried", request.last_user_text,
                               tried=tuple(tried), recorded=recorded)  # fmt: skip

    def _find(self, request: ChatRequest, model: ModelSpec) -> tuple[EvalRecord, Outcome]:
        for text in (request.last_user_text, request.prompt_text):
            hit = self.lookup(text, model)
            if hit is not None:
                return hit
        raise self.miss(request, [model.id])

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
        by_eval: dict[str, list[str]] = {}
        for rec in sorted(self.records, key=lambda r: (len(r.prompt), r.id)):
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
