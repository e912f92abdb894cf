"""The app builder: an architecture decision first, then a checked, resumable project."""

from podium.workflows.app.advisor import (
    APP_TYPES,
    ArchitectureAdvisor,
    ArchitectureDecision,
    app_type_name,
    detect_app_type,
)
from podium.workflows.app.builder import AppBuilder, AppBuildResult

__all__ = [
    "APP_TYPES",
    "AppBuildResult",
    "AppBuilder",
    "ArchitectureAdvisor",
    "ArchitectureDecision",
    "app_type_name",
    "detect_app_type",
]
