"""House guards: layering, the pinned public API, and the loopback-only network guard."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

import podium

ROOT = Path(podium.__file__).parent

# Lower number = lower layer. A module may import only from its own layer or a lower one.
# Peers in the same rank may not import each other unless listed in ALLOWED_PEERS.
RANKS: dict[str, int] = {
    "core": 0,
    "config": 1,
    "catalog": 2,
    "providers": 3,
    "resilience": 4,
    "ledger": 4,
    "telemetry": 4,
    "policy": 4,
    "routing": 5,
    "engine": 6,
    "workflows": 7,
    "testing": 7,
    "server": 8,
    "cli": 9,
}
ALLOWED_PEERS: set[tuple[str, str]] = set()


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "podium":
        return parts[1] if parts[1] in RANKS else None
    return None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def test_layers_import_only_downward() -> None:
    bad: list[str] = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent)
        here = _layer_of(".".join(rel.with_suffix("").parts))
        if here is None:
            continue
        for imp in _imports(path):
            there = _layer_of(imp)
            if there is None or there == here:
                continue
            if RANKS[there] > RANKS[here] or (RANKS[there] == RANKS[here] and (here, there) not in ALLOWED_PEERS):
                bad.append(f"{rel}: {here} imports {imp}")
    assert bad == [], "upward or sideways imports:\n" + "\n".join(bad)


def test_public_api_is_pinned() -> None:
    assert sorted(podium.__all__) == sorted(EXPECTED_ALL)
    for name in podium.__all__:
        assert getattr(podium, name) is not None


def test_network_guard_blocks_non_loopback() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(RuntimeError, match="loopback"):
            s.connect(("192.0.2.1", 443))
    finally:
        s.close()


EXPECTED_ALL = [
    "EmbeddingResult",
    "Feedback",
    "QualityPredictor",
    "CallMeta",
    "CompletionStream",
    "Podium",
    "SyncPodium",
    "AllAttemptsFailedError",
    "AuthenticationError",
    "BudgetExceededError",
    "ChatRequest",
    "Completion",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "MalformedResponseError",
    "Message",
    "MissingAPIKeyError",
    "ModelSpec",
    "PodiumError",
    "ProviderError",
    "RateLimitError",
    "ReplayMissError",
    "ServerError",
    "StreamChunk",
    "UnknownModelError",
    "Usage",
    "ValidationError",
    "__version__",
    "BadRequestError",
    "CircuitOpenError",
    "NoCandidateError",
    "PolicyViolationError",
    "UnknownPriceError",
    "UpstreamConnectionError",
    "UpstreamTimeoutError",
    "Catalog",
    "RoutedResult",
    "RoutingDecision",
]
