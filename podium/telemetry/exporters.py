"""Metric exporters: a console table, a JSON file, and a Prometheus textfile for node_exporter."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import write_to_textfile
from prometheus_client.core import Metric

from podium.config.telemetry import ExporterSettings

if TYPE_CHECKING:
    from rich.console import Console


class Collectable(Protocol):
    def collect(self) -> Iterable[Metric]: ...


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The metric families of a registry at one moment; itself collectable, so every exporter accepts it."""

    families: tuple[Metric, ...]

    @classmethod
    def of(cls, source: Collectable) -> MetricsSnapshot:
        return source if isinstance(source, MetricsSnapshot) else cls(tuple(source.collect()))

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": [
                {
                    "name": f.name,
                    "type": f.type,
                    "help": f.documentation,
                    "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in _samples(f)],
                }
                for f in self.families
            ]
        }

    def value(self, sample_name: str, **labels: str) -> float | None:
        """The value of one sample (e.g. ``value("orchestration_workflows_total")``), or None when absent."""
        for family in self.families:
            for s in family.samples:
                if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return None


def _samples(family: Metric) -> list[Any]:
    # ``*_created`` samples are creation timestamps, noise in a report.
    return [s for s in family.samples if not s.name.endswith("_created")]


class ConsoleExporter:
    """Prints every sample as a rich table (on stderr by default, so ``--json`` output on stdout stays parseable)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console

    def export(self, source: Collectable) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Podium metrics")
        table.add_column("metric")
        table.add_column("labels")
        table.add_column("value", justify="right")
        for family in MetricsSnapshot.of(source).families:
            for s in _samples(family):
                labels = ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                table.add_row(s.name, labels, f"{s.value:g}")
        (self.console or Console(stderr=True)).print(table)


class JSONExporter:
    """Writes ``{"metrics": [{name, type, help, samples: [{name, labels, value}]}]}`` to ``path`` atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def export(self, source: Collectable) -> None:
        data = json.dumps(MetricsSnapshot.of(source).to_dict(), indent=2, sort_keys=True)
        _atomic_write(self.path, data)


class PrometheusTextfileExporter:
    """Writes the Prometheus text format to ``path`` (name it ``*.prom`` for node_exporter's textfile collector)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def export(self, source: Collectable) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(self.path), MetricsSnapshot.of(source))  # type: ignore[arg-type]


PrometheusExporter = PrometheusTextfileExporter  # the name the original telemetry tool used

Exporter = ConsoleExporter | JSONExporter | PrometheusTextfileExporter


def build_exporters(settings: Sequence[ExporterSettings]) -> list[Exporter]:
    """The exporters ``telemetry.exporters`` asks for, in order."""
    out: list[Exporter] = []
    for s in settings:
        if s.kind == "console":
            out.append(ConsoleExporter())
        elif s.kind == "json":
            out.append(JSONExporter(str(s.path)))
        else:
            out.append(PrometheusTextfileExporter(str(s.path)))
    return out


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
