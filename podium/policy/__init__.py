"""Governance policies: which models may serve a call (regions, training on outputs, providers, models, price,
quality), scoped globally or per team, job or key, plus a static analyzer for policy files."""

from podium.config.policy import EnforcementMode, Policy, PolicyDocument, PolicySettings
from podium.policy.analyzer import AnalysisReport, PolicyAnalyzer
from podium.policy.hierarchy import PolicyHierarchy, load_policy_file
from podium.policy.policy_set import PolicySet, PolicyVerdict
from podium.policy.rules import RULES, Violation

__all__ = [
    "RULES",
    "AnalysisReport",
    "EnforcementMode",
    "Policy",
    "PolicyAnalyzer",
    "PolicyDocument",
    "PolicyHierarchy",
    "PolicySet",
    "PolicySettings",
    "PolicyVerdict",
    "Violation",
    "load_policy_file",
]
