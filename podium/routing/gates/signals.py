"""Live quality signals a provider can return with an answer, which recorded data lacks: the answer's token log
probabilities (the logprob gate) and several answers sampled in one call (the consistency gate).

A cascade asks a gated step for these only when the gate is on and the model's provider offers them
(podium.providers.features); otherwise the gate reports that it was skipped and does not fail.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, replace

from podium.core.types import ChatRequest, Completion
from podium.providers.features import LOGPROBS, SAMPLES
from podium.routing.gates.answers import answer_kind, comparable_answer
from podium.routing.gates.checks import GateResult

# OpenAI reports -9999 for a token outside its top 20: count such a token as very unlikely, not as a certain
# failure that one token among hundreds could force.
LOGPROB_FLOOR = -20.0


@dataclass(frozen=True, slots=True)
class SignalSettings:
    """The live gates' thresholds (``routing.logprob_threshold`` and friends)."""

    logprob_threshold: float = 0.6
    consistency_samples: int = 3
    consistency_threshold: float = 0.6
    verify_timeout_s: float = 10.0


def skipped(name: str, why: str) -> GateResult:
    """A gate that could not judge this answer: it passes, marked not applicable, with the reason."""
    return GateResult(True, name, None, why, applicable=False)


def samples_wanted(request: ChatRequest, gates: Collection[str], settings: SignalSettings) -> int:
    """How many answers the gated call should sample: the consistency gate's ``n`` for a closed answer (choice,
    number, code, JSON), two for the verify gate's math check, else one."""
    kind = answer_kind(request)
    wanted = 1
    if "consistency" in gates and kind is not None:
        wanted = settings.consistency_samples
    if "verify" in gates and kind == "number":
        wanted = max(wanted, 2)
    return wanted


def signal_request(
    request: ChatRequest, gates: Collection[str], features: Collection[str], settings: SignalSettings
) -> ChatRequest:
    """``request`` as a gated step sends it: with logprobs when the logprob gate is on and the provider returns
    them, with ``n`` samples when a sampling gate wants several and the provider samples in one call."""
    changes: dict[str, object] = {}
    if "logprob" in gates and LOGPROBS in features and not request.logprobs:
        changes["logprobs"] = True
    wanted = samples_wanted(request, gates, settings)
    if wanted > 1 and SAMPLES in features and (request.n or 1) < wanted:
        changes["n"] = wanted
    return replace(request, **changes) if changes else request  # type: ignore[arg-type]


def mean_token_probability(logprobs: tuple[float, ...]) -> float:
    """exp(mean token logprob): the geometric-mean probability of the answer's tokens."""
    return math.exp(sum(max(LOGPROB_FLOOR, lp) for lp in logprobs) / len(logprobs))


def logprob_gate(request: ChatRequest, completion: Completion, *, threshold: float) -> GateResult:
    """Fails when the geometric-mean token probability of the answer is below ``threshold``."""
    if completion.logprobs is None:
        return skipped("logprob", f"no logprobs from this provider ({completion.provider})")
    if not completion.logprobs:
        return skipped("logprob", "the answer has no tokens to score")
    p = mean_token_probability(completion.logprobs)
    mean = math.log(p) if p > 0 else LOGPROB_FLOOR
    detail = f"mean token probability {p:.2f} (mean logprob {mean:.2f} over {len(completion.logprobs)} tokens)"
    if p >= threshold:
        return GateResult(True, "logprob", p, f"{detail} >= {threshold:.2f}")
    return GateResult(False, "logprob", p, f"low confidence: {detail} < {threshold:.2f}")


def _label(request: ChatRequest, key: str) -> str:
    kind = answer_kind(request)
    return {"code": "the same code", "json": "the same JSON"}.get(kind or "", f"answer {key}")


def consistency_gate(request: ChatRequest, completion: Completion, *, threshold: float) -> GateResult:
    """Self-consistency over the answers sampled in one call: the most common answer must be shared by at least
    ``threshold`` of the samples, and be the answer given."""
    if answer_kind(request) is None:
        return skipped("consistency", "free-form answers are not compared")
    samples = completion.samples or ()
    if len(samples) < 2:
        return skipped("consistency", "only one answer came back; no samples to compare")
    keys = [comparable_answer(request, s) for s in samples]
    counted = Counter(k for k in keys if k is not None)
    if not counted:
        return GateResult(False, "consistency", 0.0, f"none of the {len(samples)} samples states an answer")
    top, votes = counted.most_common(1)[0]
    share = votes / len(samples)
    agree = f"{votes}/{len(samples)} samples agree on {_label(request, top)}"
    if share < threshold:
        return GateResult(False, "consistency", share, f"{agree} ({share:.2f} < {threshold:.2f})")
    if keys[0] != top:
        return GateResult(False, "consistency", share, f"the answer is not the majority one ({agree})")
    return GateResult(True, "consistency", share, f"{agree} ({share:.2f} >= {threshold:.2f})")
