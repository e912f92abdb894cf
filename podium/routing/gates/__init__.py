"""Quality gates a cascade runs on each answer before deciding whether to escalate."""

from podium.routing.gates.answers import (
    answer_kind,
    choice_letters,
    code_language,
    comparable_answer,
    extract_choice,
    extract_code,
    extract_number,
    normalized_answer,
    response_text,
)
from podium.routing.gates.checks import (
    GateResult,
    agreement_gate,
    code_gate,
    confidence,
    final_answer_gate,
    format_gate,
    hedging_gate,
    json_gate,
    predicted_gate,
)
from podium.routing.gates.judge import judge_gate, judge_request, parse_judge_score
from podium.routing.gates.schema import schema_errors
from podium.routing.gates.signals import SignalSettings, consistency_gate, logprob_gate
from podium.routing.gates.verify import verify_gate

__all__ = [
    "GateResult",
    "SignalSettings",
    "agreement_gate",
    "answer_kind",
    "choice_letters",
    "code_gate",
    "code_language",
    "comparable_answer",
    "confidence",
    "consistency_gate",
    "extract_choice",
    "extract_code",
    "extract_number",
    "final_answer_gate",
    "format_gate",
    "hedging_gate",
    "json_gate",
    "judge_gate",
    "judge_request",
    "logprob_gate",
    "normalized_answer",
    "parse_judge_score",
    "predicted_gate",
    "response_text",
    "schema_errors",
    "verify_gate",
]
