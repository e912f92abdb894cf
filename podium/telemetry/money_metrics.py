"""USD totals kept as exact Decimals and turned into floats only when Prometheus collects them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from podium.core.money import ZERO


class DecimalTotals:
    """A registry collector for running USD sums, one per label set.

    ``kind="counter"`` exposes ``<name>_total`` (Prometheus convention); ``kind="gauge"`` exposes ``<name>`` as
    written. ``multiprocess=True`` (fleet metrics) also adds each amount, as a float, to a prometheus-client
    metric of the same name that the fleet's collector can sum across processes; ``value()`` stays this process's.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        kind: Literal["counter", "gauge"] = "counter",
        registry: CollectorRegistry | None = None,
        multiprocess: bool = False,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.kind = kind
        self._values: dict[tuple[str, ...], Decimal] = {}
        self._lock = threading.Lock()
        if not self.labelnames:
            self._values[()] = ZERO  # an unlabelled total is visible (as 0) from the start, like a Counter
        # A custom collector is invisible to the fleet's collector (it reads only prometheus-client's files).
        # Gauge kind: 'sum', as each process's share of a sum, kept after it exits.
        self._shared: Counter | Gauge | None = None
        if multiprocess and kind == "counter":
            self._shared = Counter(name, documentation, self.labelnames, registry=registry)
        elif multiprocess:
            self._shared = Gauge(name, documentation, self.labelnames, registry=registry, multiprocess_mode="sum")
        elif registry is not None:
            registry.register(self)

    def add(self, amount: Decimal, *labels: str) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")
        if amount < 0:
            raise ValueError(f"{self.name} only goes up; got {amount}")
        with self._lock:
            self._values[labels] = self._values.get(labels, ZERO) + amount
        if self._shared is not None:
            (self._shared.labels(*labels) if labels else self._shared).inc(float(amount))

    def value(self, *labels: str) -> Decimal:
        with self._lock:
            return self._values.get(labels, ZERO)

    def collect(self) -> Iterator[Metric]:
        family: Metric
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        else:
            family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            items = list(self._values.items())
        for labels, amount in items:
            family.add_metric(list(labels), float(amount))
        yield family

    def describe(self) -> Iterator[Metric]:
        """Names only, so the registry can refuse duplicates at registration time."""
        if self.kind == "counter":
            yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        else:
            yield GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
