"""Fleet metrics: worker processes write prometheus-client's multiprocess files; one registry sums them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from podium.core.errors import ConfigError
from podium.telemetry import MetricsSnapshot, Telemetry
from podium.telemetry.fleet import MULTIPROC_DIR_ENV, fleet_metrics_dir, fleet_registry

# One worker: the env var is set before prometheus_client is imported, as `podium serve --workers N` arranges.
WORKER = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from pathlib import Path
    from podium.core.types import Completion, Usage
    from podium.telemetry import Telemetry

    cost, scope_left, exit_cleanly = Decimal(sys.argv[2]), Decimal(sys.argv[3]), sys.argv[4] == "exit"
    telemetry = Telemetry(fleet_dir=Path(sys.argv[1]))
    for _ in range(3):
        done = Completion("ok", "openai:gpt-4o-mini", "openai", Usage(10, 5), cost)
        telemetry.calls.record_completion(done, model="openai:gpt-4o-mini", provider="openai", strategy=None)
    telemetry.calls.set_breaker_state("openai", "openai:gpt-4o-mini", "open" if exit_cleanly else "half_open")
    telemetry.calls.set_budget_remaining("key:team-a", scope_left)
    if exit_cleanly:
        telemetry.shutdown()
    """
)


def _worker(fleet_dir: Path, cost: str, left: str, how: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, MULTIPROC_DIR_ENV: str(fleet_dir)}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(fleet_dir), cost, left, how], env=env)


def test_one_registry_sums_every_workers_counters_and_chooses_per_gauge(tmp_path: Path) -> None:
    assert _worker(tmp_path, "0.000125", "7.5", "exit").wait(timeout=60) == 0
    assert _worker(tmp_path, "0.0000075", "7.25", "stay").wait(timeout=60) == 0  # reports the budget last
    snap = MetricsSnapshot.of(fleet_registry(tmp_path))
    labels = {"model": "openai:gpt-4o-mini"}
    assert snap.value("podium_requests_total", **labels, status="ok") == 6
    assert snap.value("podium_tokens_total", **labels, direction="input") == 60
    assert snap.value("podium_request_latency_seconds_count", **labels) == 6
    assert snap.value("podium_cost_usd_total", **labels) == pytest.approx(float(3 * Decimal("0.0001325")), rel=1e-12)
    # livemax: the worker that shut down (breaker open) marked itself dead; the one still "live" was half-open.
    assert snap.value("podium_breaker_state", provider="openai", **labels) == 1
    # mostrecent: the budget the second worker reported last.
    assert snap.value("podium_budget_remaining_usd", scope="key:team-a") == 7.25


def test_fleet_metrics_refuse_a_process_that_keeps_them_in_memory(tmp_path: Path) -> None:
    assert MULTIPROC_DIR_ENV not in os.environ  # the test process: prometheus_client's in-memory values
    with pytest.raises(ConfigError, match=MULTIPROC_DIR_ENV):
        Telemetry(fleet_dir=tmp_path)


def test_one_process_serves_its_own_registry_and_writes_no_files(tmp_path: Path) -> None:
    telemetry = Telemetry()
    assert telemetry.exposed is telemetry.registry and telemetry.fleet_dir is None
    telemetry.calls.cost.add(Decimal("0.1"), "m")
    assert telemetry.calls.cost.value("m") == Decimal("0.1")
    assert MetricsSnapshot.of(telemetry.exposed).value("podium_cost_usd_total", model="m") == 0.1


def test_an_owned_metrics_dir_is_removed_and_a_given_one_is_cleared_of_stale_files(tmp_path: Path) -> None:
    with fleet_metrics_dir() as owned:
        (owned / "counter_1.db").write_bytes(b"")
    assert not owned.exists()
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_99.db").write_bytes(b"stale")
    (given / "README").write_text("mine", encoding="utf-8")
    with fleet_metrics_dir(given) as used:
        assert used == given and sorted(p.name for p in given.iterdir()) == ["README"]
    assert given.exists()
