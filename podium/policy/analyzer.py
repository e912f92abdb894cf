"""Static checks of a set of policies against the catalog: contradictions (errors) and likely mistakes (warnings)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podium.catalog import Catalog
from podium.config.policy import Policy
from podium.core.model_spec import ModelSpec
from podium.policy.hierarchy import PolicyHierarchy
from podium.policy.policy_set import PolicySet
from podium.policy.rules import matches_model, provider_name


@dataclass(slots=True)
class AnalysisReport:
    """Errors: policies that can never be satisfied. Warnings: names that match nothing, duplicates, overlaps."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def is_clean(self) -> bool:
        return not self.errors and not self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {"errors": list(self.errors), "warnings": list(self.warnings), "clean": self.is_clean()}


class PolicyAnalyzer:
    """``PolicyAnalyzer.analyze(policies)``: what in these policies contradicts itself or the catalog."""

    @staticmethod
    def analyze(policies: PolicySet | Iterable[Policy], catalog: Catalog | None = None) -> AnalysisReport:
        if catalog is None:
            from podium.catalog import Catalog

            catalog = Catalog.bundled()
        pset = policies if isinstance(policies, PolicySet) else PolicySet(policies)
        models = [m for m in catalog.all() if not m.deprecated]
        report = AnalysisReport()
        _duplicates(pset, report)
        for policy, scope in zip(pset.policies, pset.scopes, strict=True):
            _unknown_names(policy, models, report)
            _overlaps(policy, models, report)
            _allows_nothing(policy, scope, models, report)
        _together(pset, models, report)
        return report

    @staticmethod
    def analyze_hierarchy(hierarchy: PolicyHierarchy, catalog: Catalog | None = None) -> AnalysisReport:
        """Analyze every set a call can get: global alone, and global with each team, job and key."""
        doc = hierarchy.document
        sets = [hierarchy.policies_for()]
        sets += [hierarchy.policies_for(team=t) for t in doc.team]
        sets += [hierarchy.policies_for(job=j) for j in doc.job]
        sets += [hierarchy.policies_for(key=k) for k in doc.key]
        merged = AnalysisReport()
        for pset in sets:
            found = PolicyAnalyzer.analyze(pset, catalog)
            merged.errors += [e for e in found.errors if e not in merged.errors]
            merged.warnings += [w for w in found.warnings if w not in merged.warnings]
        return merged


def _label(policy: Policy) -> str:
    return f"policy {policy.name!r}"


def _duplicates(pset: PolicySet, report: AnalysisReport) -> None:
    per_scope = Counter(zip(pset.scopes, (p.name for p in pset.policies), strict=True))
    for (scope, name), n in per_scope.items():
        if n > 1:
            report.errors.append(f"policy name {name!r} is used {n} times in {scope}; give each policy its own name")
    names = Counter(p.name for p in pset.policies)
    for name, n in names.items():
        scopes = sorted({s for s, p in zip(pset.scopes, pset.policies, strict=True) if p.name == name})
        if n > 1 and len(scopes) > 1:
            report.warnings.append(f"policy name {name!r} appears in several scopes ({', '.join(scopes)})")


def _unknown_names(policy: Policy, models: list[ModelSpec], report: AnalysisReport) -> None:
    providers = {m.provider for m in models}
    regions = {m.region.lower() for m in models}
    for key in ("allowed_providers", "denied_providers"):
        for name in getattr(policy, key) or ():
            if provider_name(name) not in providers:
                report.warnings.append(f"{_label(policy)}: {key} names unknown provider {name!r}")
    for key in ("allowed_models", "denied_models"):
        for pattern in getattr(policy, key) or ():
            if not any(matches_model(pattern, m) for m in models):
                report.warnings.append(f"{_label(policy)}: {key} entry {pattern!r} matches no known model")
    for region in policy.allowed_regions or ():
        if region not in regions:
            report.warnings.append(
                f"{_label(policy)}: allowed_regions names {region!r}, which no known model is in "
                f"(regions: {', '.join(sorted(regions))})"
            )


def _overlaps(policy: Policy, models: list[ModelSpec], report: AnalysisReport) -> None:
    if policy.allowed_providers is not None:
        both = sorted(set(map(provider_name, policy.allowed_providers)) & set(map(provider_name, policy.denied_providers)))
        if both:
            report.errors.append(f"{_label(policy)}: providers {', '.join(both)} are both allowed and denied")
    if policy.allowed_models is not None and policy.denied_models:
        same = sorted(set(policy.allowed_models) & set(policy.denied_models))
        allowed = [m for m in models if any(matches_model(p, m) for p in policy.allowed_models)]
        denied = [m.id for m in allowed if any(matches_model(p, m) for p in policy.denied_models)]
        if same:
            report.errors.append(f"{_label(policy)}: models {', '.join(same)} are both allowed and denied")
        elif allowed and len(denied) == len(allowed):
            report.errors.append(f"{_label(policy)}: every allowed model is also denied ({', '.join(denied)})")
        elif denied:
            report.warnings.append(f"{_label(policy)}: allowed_models and denied_models overlap on {', '.join(denied)}")


def _allows_nothing(policy: Policy, scope: str, models: list[ModelSpec], report: AnalysisReport) -> None:
    alone = PolicySet([policy], scopes=[scope])
    if any(not alone.violations(m) for m in models):
        return
    why = _why_nothing(policy, models)
    message = f"{_label(policy)} ({scope}) allows no known model: {why}"
    (report.errors if policy.hard else report.warnings).append(message)


def _why_nothing(policy: Policy, models: list[ModelSpec]) -> str:
    """Name the contradiction in the user's terms; fall back to the rules every model breaks."""
    base = PolicySet([policy.model_copy(update={"max_price_per_million_usd": None, "min_quality_tier": None,
                                                "min_quality_score": None})])
    listed = [m for m in models if not base.violations(m)]
    if policy.allowed_regions is not None and policy.allowed_providers is not None and not listed:
        return (f"no model of the allowed providers ({', '.join(policy.allowed_providers)}) is in the allowed regions "
                f"({', '.join(policy.allowed_regions)})")
    limit = policy.max_price_per_million_usd
    if limit is not None and listed:
        cheapest = min((max(m.input_per_million, m.output_per_million) for m in listed if m.priced), default=None)
        if cheapest is None or cheapest > limit:
            return f"max_price_per_million_usd ${limit} is below every allowed model's price (cheapest ${cheapest})"
    tier = policy.required_tier
    if tier is not None and listed:
        return f"minimum quality tier {tier!r} is above every allowed model"
    return "no model passes its allowed_regions / providers / models / training rules together"


def _together(pset: PolicySet, models: list[ModelSpec], report: AnalysisReport) -> None:
    hard = [(p, s) for p, s in zip(pset.policies, pset.scopes, strict=True) if p.hard]
    if len(hard) < 2:
        return
    each_allows = all(any(not PolicySet([p]).violations(m) for m in models) for p, _ in hard)
    combined = PolicySet([p for p, _ in hard], scopes=[s for _, s in hard])
    if each_allows and not any(combined.allows(m) for m in models):
        names = ", ".join(repr(p.name) for p, _ in hard)
        report.errors.append(f"hard policies {names} together allow no known model (each alone allows some)")
