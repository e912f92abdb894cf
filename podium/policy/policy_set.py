"""A set of policies applied together: which models they allow, and what a call must not do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from podium.config.policy import Policy
from podium.core.errors import NoCandidateError, PolicyViolationError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest
from podium.policy.rules import RULES, CallFacts, Violation, latency_violation


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    """One policy's view of one model: allowed or not, and each rule it breaks."""

    policy: Policy
    scope: str
    violations: tuple[Violation, ...]

    @property
    def allowed(self) -> bool:
        return not self.violations


class PolicySet:
    """Policies that all apply to a call. HARD violations deny a model; SOFT ones are warnings."""

    def __init__(self, policies: Iterable[Policy] = (), *, scopes: Sequence[str] | None = None) -> None:
        self.policies: tuple[Policy, ...] = tuple(policies)
        self.scopes: tuple[str, ...] = tuple(scopes) if scopes is not None else ("global",) * len(self.policies)
        if len(self.scopes) != len(self.policies):
            raise ValueError(f"{len(self.policies)} policies but {len(self.scopes)} scopes")

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def __repr__(self) -> str:
        return f"PolicySet({', '.join(p.name for p in self.policies)})"

    def verdicts(self, spec: ModelSpec, request: ChatRequest | None = None) -> list[PolicyVerdict]:
        """Every policy's verdict on ``spec`` (for a call of ``request`` when given: per-task cost caps need it)."""
        facts = CallFacts.of(request)
        out = []
        for policy, scope in zip(self.policies, self.scopes, strict=True):
            found = []
            for rule, check in RULES.items():
                reason = check(policy, spec, facts)
                if reason is not None:
                    found.append(Violation(policy.name, rule, spec.id, reason, policy.hard, scope))
            out.append(PolicyVerdict(policy, scope, tuple(found)))
        return out

    def violations(self, spec: ModelSpec, request: ChatRequest | None = None) -> list[Violation]:
        return [v for verdict in self.verdicts(spec, request) for v in verdict.violations]

    def allows(self, spec: ModelSpec, request: ChatRequest | None = None) -> bool:
        """Whether no HARD policy denies ``spec``."""
        return not any(v.hard for v in self.violations(spec, request))

    def check(self, spec: ModelSpec, request: ChatRequest | None = None) -> list[Violation]:
        """Raise PolicyViolationError when a HARD policy denies ``spec``; else return the SOFT warnings."""
        found = self.violations(spec, request)
        hard = [v for v in found if v.hard]
        if hard:
            first = hard[0]
            more = f" (and {len(hard) - 1} more: {'; '.join(str(v) for v in hard[1:])})" if len(hard) > 1 else ""
            raise PolicyViolationError(
                f"{first}{more}; nothing was sent. Pick a model the policy allows "
                f"(`podium policy explain {spec.id}` shows why)",
                policy=first.policy,
                rule=first.rule,
                model=spec.id,
                violations=[v.to_dict() for v in hard],
            )
        return found

    def partition(
        self, specs: Iterable[ModelSpec], request: ChatRequest | None = None
    ) -> tuple[list[ModelSpec], dict[str, list[Violation]]]:
        """(models no HARD policy denies, denied model id -> its HARD violations)."""
        allowed: list[ModelSpec] = []
        denied: dict[str, list[Violation]] = {}
        for spec in specs:
            hard = [v for v in self.violations(spec, request) if v.hard]
            if hard:
                denied[spec.id] = hard
            else:
                allowed.append(spec)
        return allowed, denied

    def select(self, specs: Iterable[ModelSpec], request: ChatRequest | None = None) -> list[ModelSpec]:
        """The models no HARD policy denies; NoCandidateError saying why for each model when none is left."""
        allowed, denied = self.partition(specs, request)
        if not allowed:
            why = "; ".join(f"{model}: {violations[0]}" for model, violations in denied.items()) or "no candidates"
            raise NoCandidateError(
                f"every candidate model is ruled out by policy ({why}); relax a policy or add allowed models "
                "to `routing.candidates`",
                rejected={model: [v.to_dict() for v in vs] for model, vs in denied.items()},
            )
        return allowed

    def after_call(self, model: str, latency_ms: float) -> list[Violation]:
        """Rules only an answer can show (``max_latency_ms``); the call already happened, so these are warnings."""
        out = []
        for policy, scope in zip(self.policies, self.scopes, strict=True):
            reason = latency_violation(policy, model, latency_ms)
            if reason is not None:
                out.append(Violation(policy.name, "max_latency_ms", model, reason, False, scope))
        return out
