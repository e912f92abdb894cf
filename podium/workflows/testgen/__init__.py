"""`podium testgen`: unit tests for a Python file, planned by the orchestrator and written by a cheap executor."""

from podium.workflows.testgen.analysis import (
    ClassInfo,
    FunctionInfo,
    ModuleAnalysis,
    analyze_file,
    analyze_source,
    cyclomatic_complexity,
)
from podium.workflows.testgen.sandbox import PytestOutcome, run_pytest
from podium.workflows.testgen.validation import (
    Check,
    ValidationReport,
    default_test_path,
    extract_code,
    static_checks,
    validate,
)
from podium.workflows.testgen.workflow import (
    GenerationOptions,
    GenerationResult,
    PlannedCall,
    ValidationAttempt,
    dry_run,
    generate_tests,
)

__all__ = [
    "Check",
    "ClassInfo",
    "FunctionInfo",
    "GenerationOptions",
    "GenerationResult",
    "ModuleAnalysis",
    "PlannedCall",
    "PytestOutcome",
    "ValidationAttempt",
    "ValidationReport",
    "analyze_file",
    "analyze_source",
    "cyclomatic_complexity",
    "default_test_path",
    "dry_run",
    "extract_code",
    "generate_tests",
    "run_pytest",
    "static_checks",
    "validate",
]
