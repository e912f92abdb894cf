"""What `--max-cost` refused and how to make the call fit: the worst case assumes the model's whole output
allowance, so the way out is usually `--max-tokens N`, with N computed here."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from podium.core.errors import BudgetExceededError, PodiumError, plain_usd
from podium.core.model_spec import ModelSpec
from podium.core.tokens import request_token_bound
from podium.core.types import ChatRequest


class CallCapError(PodiumError):
    """`--max-cost` refused the call before anything was sent; the message says which output allowance to ask for."""


def explained_cap_error(
    exc: BudgetExceededError, request: ChatRequest, lookup: Callable[[str], ModelSpec | None], max_cost: Decimal | None
) -> PodiumError:
    """``exc`` (a per-call cap, ``--max-cost`` or configured, refused a call) with the model it refused, its assumed
    output allowance and a ``--max-tokens`` that fits; ``exc`` itself when the refused model is not known."""
    spec = lookup(exc.model) if exc.scope == "call" and exc.model is not None else None
    if spec is None:
        return exc
    prompt = request_token_bound(request)
    samples = request.n or 1
    fits = _most_tokens(spec, prompt, samples, exc.limit)
    allowance = (f"the {request.max_tokens:,} output tokens --max-tokens allows" if request.max_tokens is not None
                 else f"its full output allowance ({spec.max_output_tokens:,} tokens)")  # fmt: skip
    cap, raise_it = (("--max-cost", "raise --max-cost") if exc.limit == max_cost
                     else ("the per-call budget", "raise the per-call budget"))  # fmt: skip
    head = (f"{cap} ({plain_usd(exc.limit)}) refused {spec.id}: its worst case, {plain_usd(exc.requested)}, "
            f"assumes it writes {allowance}")  # fmt: skip
    if fits:
        advice = f"add --max-tokens {fits} (or fewer) to fit, or {raise_it}"
    else:
        advice = f"even the prompt alone could cost more; {raise_it}"
    return CallCapError(f"{head}; {advice}", limit=exc.limit, requested=exc.requested, model=spec.id)


def _most_tokens(spec: ModelSpec, prompt: int, samples: int, limit: Decimal) -> int | None:
    """The largest output allowance whose worst case stays within ``limit`` (0: none does; None: no price)."""
    low, high = 0, spec.max_output_tokens
    if spec.worst_case_cost(prompt, 1, samples=samples) is None:
        return None
    while low < high:  # worst case grows with the allowance: find the last one that fits
        mid = (low + high + 1) // 2
        cost = spec.worst_case_cost(prompt, mid, samples=samples)
        if cost is not None and cost <= limit:
            low = mid
        else:
            high = mid - 1
    return low - low % 100 if low >= 1000 else low  # a round number reads as advice, not as arithmetic
