"""Recorded model answers (RouterBench and RouteLLM CSV files): parsing, model-name mapping and prompt keys.

The replay provider answers from these records and the router trains on them, so the parsing lives here, in
the providers layer, and ``podium.routing.datasets`` builds on it.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from podium.core.errors import PodiumError, ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.tokens import estimate_text_tokens as estimate_tokens  # recorded files carry text, not tokens
from podium.core.types import Usage
from podium.providers.recorded_cells import cell_correct, cell_cost, cell_text

log = logging.getLogger(__name__)

BUNDLED_FILES: tuple[str, ...] = (
    "arc_challenge_train.csv.gz",
    "mbpp_train.csv.gz",
    "winograde_train.csv.gz",
    "gsm8k_dev.csv.gz",
)

# Column names in the recorded files -> Podium model ids. Used when the catalog does not know the name.
RECORDED_MODEL_IDS: dict[str, str] = {
    "gpt-4-1106-preview": "openai:gpt-4-1106-preview",
    "gpt-3.5-turbo-1106": "openai:gpt-3.5-turbo-1106",
    "claude-v2": "anthropic:claude-v2",
    "claude-v1": "anthropic:claude-v1",
    "claude-instant-v1": "anthropic:claude-instant-v1",
    "meta/llama-2-70b-chat": "together:llama-2-70b-chat",
    "mistralai/mixtral-8x7b-chat": "together:mixtral-8x7b-chat",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "together:mixtral-8x7b-chat",
    "mistralai/mistral-7b-chat": "together:mistral-7b-chat",
    "zero-one-ai/Yi-34B-Chat": "together:yi-34b-chat",
    "WizardLM/WizardLM-13B-V1.2": "together:wizardlm-13b-v1.2",
    "meta/code-llama-instruct-34b-chat": "together:codellama-34b-instruct",
}


@dataclass(frozen=True, slots=True)
class RecordedPrice:
    """USD per 1M tokens, with where the number comes from."""

    input_per_million: Decimal
    output_per_million: Decimal
    source: str
    as_of: date


# Prices for costing files without a cost column (RouteLLM) when the catalog has no price. They match the
# per-token prices RouterBench itself used for these models, so costs from both formats are comparable.
RECORDED_PRICES: dict[str, RecordedPrice] = {
    "openai:gpt-4-1106-preview": RecordedPrice(
        Decimal(10), Decimal(30), "https://openai.com/pricing (gpt-4-1106-preview)", date(2023, 11, 6)
    ),
    "together:mixtral-8x7b-chat": RecordedPrice(
        Decimal("0.6"), Decimal("0.6"), "https://www.together.ai/pricing (Mixtral-8x7B)", date(2023, 12, 11)
    ),
}

class ModelLookup(Protocol):
    """What this module needs from a catalog: ``get(alias)`` returning a ModelSpec or raising LookupError."""

    def get(self, name: str) -> ModelSpec: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """One model's recorded answer to one prompt: correctness in [0, 1], exact USD cost, the answer text."""

    correct: float
    cost_usd: Decimal
    response: str
    # False for outcome-only files (correctness without the answer text): nothing there for a gate to read.
    text_recorded: bool = True


@dataclass(frozen=True, slots=True)
class EvalRecord:
    """One prompt with every recorded model's outcome, keyed by Podium model id."""

    id: str
    prompt: str
    eval_name: str
    outcomes: dict[str, Outcome]


def normalize_prompt(text: str) -> str:
    """Collapse whitespace and case so the same prompt typed slightly differently finds its record."""
    return " ".join(text.split()).casefold()


# Recorded correctness without answers (RouteLLM's MMLU: Mixtral-8x7B vs GPT-4-1106): training and evaluation only.
OUTCOME_FILES: tuple[str, ...] = ("mmlu_responses.csv.gz",)


@lru_cache(maxsize=1)
def bundled_outcome_records() -> tuple[EvalRecord, ...]:
    """The bundled outcome-only records (MMLU), parsed once per process."""
    root = resources.files("podium") / "data"
    return tuple(r for name in OUTCOME_FILES for r in read_recorded(Path(str(root / name))))


def bundled_paths() -> list[Path]:
    """The recorded datasets shipped inside the package."""
    root = resources.files("podium") / "data"
    return [Path(str(root / name)) for name in BUNDLED_FILES]


@lru_cache(maxsize=1)
def bundled_records() -> tuple[EvalRecord, ...]:
    """Every bundled record, parsed once per process."""
    return tuple(r for p in bundled_paths() for r in read_recorded(p))


def default_catalog() -> ModelLookup | None:
    """The bundled catalog when it is installed; None lets callers fall back to the tables above."""
    try:
        from podium.catalog import Catalog  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return Catalog.bundled()  # type: ignore[no-any-return]
    except (PodiumError, OSError, ValueError) as exc:  # a broken catalog must not stop replay; tables still work
        log.warning("catalog unavailable (%s); using the recorded model table", exc)
        return None


class ModelNameResolver:
    """Maps recorded column names to Podium model ids and prices calls for files without costs."""

    def __init__(self, catalog: ModelLookup | None = None, *, source: str = "") -> None:
        self._catalog = catalog
        self._source = source
        self._ids: dict[str, str] = {}

    def model_id(self, name: str) -> str:
        if name not in self._ids:
            self._ids[name] = self._resolve(name)
        return self._ids[name]

    def _spec(self, name: str) -> ModelSpec | None:
        if self._catalog is None:
            return None
        try:
            return self._catalog.get(name)
        except LookupError:
            return None

    def _resolve(self, name: str) -> str:
        spec = self._spec(name)
        if spec is not None:
            return spec.id
        if name in RECORDED_MODEL_IDS:
            return RECORDED_MODEL_IDS[name]
        if ":" in name:
            return name
        log.warning("%s: model column %r is not a known model; keeping it as the model id", self._source, name)
        return name

    def call_cost(self, model_id: str, prompt: str, response: str, *, output_tokens: int | None = None) -> Decimal:
        """Cost of one call from estimated tokens at the catalog price (or the recorded fallback price)."""
        out = estimate_tokens(response) if output_tokens is None else output_tokens
        usage = Usage(input_tokens=estimate_tokens(prompt), output_tokens=out)
        spec = self._spec(model_id)
        if spec is not None and spec.priced:
            cost = spec.cost(usage)
            if cost is not None:
                return cost
        price = RECORDED_PRICES.get(model_id)
        if price is None:
            log.warning("%s: no price known for %r; recording its cost as 0", self._source, model_id)
            return Decimal(0)
        priced = ModelSpec(id=model_id, provider="recorded", api_model=model_id,
                           input_per_million=price.input_per_million, output_per_million=price.output_per_million)
        return priced.cost(usage) or Decimal(0)


def read_recorded(path: str | Path, *, catalog: ModelLookup | None = None) -> list[EvalRecord]:
    """Read a RouterBench or RouteLLM file (.csv or .csv.gz), detecting the format from its header."""
    path = Path(path)
    header, rows = _read_rows(path)
    resolver = ModelNameResolver(catalog if catalog is not None else default_catalog(), source=str(path))
    return parse_rows(path, header, rows, resolver)


def model_columns(path: Path, header: list[str]) -> list[str]:
    """The model columns of a recorded file's header (whichever format it is in)."""
    for columns in (_routerbench_models(header)[0], _routellm_models(header)[0], _outcome_models(header)):
        if columns:
            return columns
    _unknown_format(path, header)
    return []


def parse_rows(
    path: Path, header: list[str], rows: Iterable[dict[str, str]], resolver: ModelNameResolver, *, first_row: int = 2
) -> list[EvalRecord]:
    """Records from rows of one file; ``first_row`` is the first row's number (2: the one after the header)."""
    routerbench = _routerbench_models(header)
    if routerbench[0]:
        return _parse_routerbench(path, rows, routerbench[0], resolver, first_row=first_row)
    routellm = _routellm_models(header)
    if routellm[0]:
        return _parse_routellm(path, rows, routellm[0], resolver, first_row=first_row)
    outcome_models = _outcome_models(header)
    if outcome_models:
        return _parse_outcomes(path, rows, outcome_models, resolver)
    _unknown_format(path, header)
    return []


def _unknown_format(path: Path, header: list[str]) -> None:
    routerbench, routellm = _routerbench_models(header), _routellm_models(header)
    raise ValidationError(
        f"{path} is neither a RouterBench file (missing columns: {', '.join(routerbench[1])}) "
        f"nor a RouteLLM file (missing columns: {', '.join(routellm[1])}) nor an outcomes file (prompt plus model "
        "columns)",
        field="path",
        value=str(path),
        valid="RouterBench: sample_id, prompt, eval_name, <model>, <model>|model_response[, <model>|total_cost]; "
        "RouteLLM: prompt, <model>, <model>_response; outcomes only: prompt[, subject], <model>...",
    )


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise ValidationError(f"dataset file {path} does not exist", field="path", value=str(path))
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
        header = list(reader.fieldnames or [])
        rows = list(reader)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError(
            f"cannot read dataset {path}: {exc}; give a UTF-8 CSV file, optionally gzip-compressed",
            field="path",
            value=str(path),
        ) from exc
    return header, rows


def _routerbench_models(header: list[str]) -> tuple[list[str], list[str]]:
    cols = set(header)
    missing = [c for c in ("sample_id", "prompt", "eval_name") if c not in cols]
    models = [c for c in header if c and "|" not in c and f"{c}|model_response" in cols]
    if not models:
        missing.append("<model> with <model>|model_response")
    return (models if not missing else []), missing


def _routellm_models(header: list[str]) -> tuple[list[str], list[str]]:
    cols = set(header)
    missing = [] if "prompt" in cols else ["prompt"]
    models = [c for c in header if c and c != "prompt" and f"{c}_response" in cols]
    if not models:
        missing.append("<model> with <model>_response")
    return (models if not missing else []), missing


_OUTCOME_META = ("prompt", "subject", "eval_name", "sample_id", "id")
# Outcome-only files record no answer: a call is priced as the prompt plus a one-token answer (a choice letter).
OUTCOME_ONLY_ANSWER_TOKENS = 1


def _outcome_models(header: list[str]) -> list[str]:
    """Model columns of an outcomes-only file (RouteLLM's MMLU export): every column but the prompt and metadata."""
    if "prompt" not in header:
        return []
    return [c for c in header if c and c not in _OUTCOME_META and not c.endswith("_response")]


def _parse_outcomes(
    path: Path, rows: Iterable[dict[str, str]], models: list[str], resolver: ModelNameResolver
) -> list[EvalRecord]:
    """Correctness without answers: the records train and evaluate routers, and replay never serves them."""
    eval_name = _eval_name_from_file(path)
    records: list[EvalRecord] = []
    for row_no, row in enumerate(rows, start=2):
        prompt = row["prompt"]
        outcomes: dict[str, Outcome] = {}
        for name in models:
            model_id = resolver.model_id(name)
            cost = resolver.call_cost(model_id, prompt, "", output_tokens=OUTCOME_ONLY_ANSWER_TOKENS)
            outcomes[model_id] = Outcome(cell_correct(path, row_no, name, row[name]), cost, "", text_recorded=False)
        subject = row.get("subject") or ""
        records.append(EvalRecord(f"{eval_name}.{subject or 'all'}.{row_no - 2}", prompt,
                                  row.get("eval_name") or eval_name, outcomes))
    return records


def _parse_routerbench(
    path: Path, rows: Iterable[dict[str, str]], models: list[str], resolver: ModelNameResolver, *, first_row: int = 2
) -> list[EvalRecord]:
    records: list[EvalRecord] = []
    for row_no, row in enumerate(rows, start=first_row):
        prompt = cell_text(row["prompt"])
        outcomes: dict[str, Outcome] = {}
        for name in models:
            response = cell_text(row.get(f"{name}|model_response", ""))
            model_id = resolver.model_id(name)
            cost = cell_cost(path, row_no, f"{name}|total_cost", row.get(f"{name}|total_cost", ""))
            if cost is None:
                cost = resolver.call_cost(model_id, prompt, response)
            outcomes[model_id] = Outcome(cell_correct(path, row_no, name, row[name]), cost, response)
        records.append(EvalRecord(row["sample_id"] or f"{path.name}:{row_no}", prompt, row["eval_name"], outcomes))
    return records


def _parse_routellm(
    path: Path, rows: Iterable[dict[str, str]], models: list[str], resolver: ModelNameResolver, *, first_row: int = 2
) -> list[EvalRecord]:
    eval_name = _eval_name_from_file(path)
    records: list[EvalRecord] = []
    for row_no, row in enumerate(rows, start=first_row):
        prompt = row["prompt"]
        outcomes: dict[str, Outcome] = {}
        for name in models:
            response = row.get(f"{name}_response", "") or ""
            model_id = resolver.model_id(name)
            cost = resolver.call_cost(model_id, prompt, response)
            outcomes[model_id] = Outcome(cell_correct(path, row_no, name, row[name]), cost, response)
        records.append(EvalRecord(f"{eval_name}.{row_no - 2}", prompt, eval_name, outcomes))
    return records


def _eval_name_from_file(path: Path) -> str:
    """``gsm8k_dev.csv.gz`` -> ``gsm8k``: RouteLLM files name the benchmark only in the file name."""
    stem = path.name.split(".")[0]
    for suffix in ("_dev", "_train", "_test", "_val", "_eval", "_responses"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def eval_names(records: Iterable[EvalRecord]) -> Mapping[str, int]:
    """How many records each eval contributes, in first-seen order."""
    counts: dict[str, int] = {}
    for r in records:
        counts[r.eval_name] = counts.get(r.eval_name, 0) + 1
    return counts
