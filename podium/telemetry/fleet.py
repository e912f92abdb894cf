"""Fleet metrics: the worker processes of ``podium serve --workers N`` share one Prometheus view.

prometheus-client's multiprocess mode keeps each process's counters, gauges and histograms in memory-mapped files
in one directory (``PROMETHEUS_MULTIPROC_DIR``, read when prometheus-client is first imported), and
``MultiProcessCollector`` sums those files on every scrape, so whichever worker answers ``/metrics`` reports the
whole fleet.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from podium.core.errors import ConfigError

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own switch; only `podium serve` sets it


def check_multiprocess(path: Path) -> None:
    """Refuse fleet metrics in a process whose prometheus-client keeps values in memory or writes elsewhere:
    its requests would be missing from every scrape."""
    writes_to = os.environ.get(MULTIPROC_DIR_ENV)
    if not getattr(values.ValueClass, "_multiprocess", False) or writes_to is None:
        raise ConfigError(
            f"fleet metrics in {path} need {MULTIPROC_DIR_ENV} set before prometheus_client is imported",
            field=MULTIPROC_DIR_ENV, value=writes_to,
        )  # fmt: skip
    if Path(writes_to).resolve() != path.resolve():
        raise ConfigError(
            f"fleet metrics read {path} but this process writes them to {writes_to} ({MULTIPROC_DIR_ENV})",
            field=MULTIPROC_DIR_ENV, value=writes_to,
        )  # fmt: skip


def fleet_registry(path: Path) -> CollectorRegistry:
    """A registry that sums the metric files of every worker in ``path`` each time it is collected."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))
    return registry


def mark_worker_dead(path: Path, pid: int | None = None) -> None:
    """Drop an exiting worker's ``live*`` gauges; its counters stay in the fleet's totals."""
    mark_process_dead(os.getpid() if pid is None else pid, str(path))


@contextlib.contextmanager
def fleet_metrics_dir(given: Path | None = None) -> Iterator[Path]:
    """The directory a fleet's workers write their metrics to, for the life of the fleet.

    ``given``: created if missing and cleared of a previous run's ``*.db`` files (prometheus-client requires a
    clean directory at start; other files are left alone) and kept afterwards. Otherwise a fresh temporary
    directory, removed when the fleet stops.
    """
    if given is None:
        owned = Path(tempfile.mkdtemp(prefix="podium-metrics-"))
        try:
            yield owned
        finally:
            shutil.rmtree(owned, ignore_errors=True)
        return
    given.mkdir(parents=True, exist_ok=True)
    for stale in given.glob("*.db"):
        stale.unlink(missing_ok=True)
    yield given
