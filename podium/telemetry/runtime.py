"""One process's telemetry, built from ``TelemetrySettings``: registry, metrics, event bus, tracer, exporters."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from prometheus_client import CollectorRegistry

from podium.config.telemetry import TelemetrySettings
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ConfigError
from podium.core.pipeline import Middleware
from podium.telemetry.call_metrics import PodiumMetrics
from podium.telemetry.events import EventBus
from podium.telemetry.exporters import build_exporters
from podium.telemetry.labels import LabelGuard
from podium.telemetry.metrics_events import MetricsEventSink
from podium.telemetry.metrics_middleware import MetricsMiddleware
from podium.telemetry.tracing import TRACER_NAME, configure_tracing
from podium.telemetry.tracing_middleware import TracingMiddleware
from podium.telemetry.workflow_metrics import WorkflowMetrics

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from podium.telemetry.serving import MetricsServer

log = logging.getLogger(__name__)


class Telemetry:
    """What the engine, gateway and CLI wire in: ``middlewares()``, ``bus`` (an EventSink) and ``/metrics``.

    Every part is injectable; nothing touches prometheus-client's global registry or OTel's global provider.
    ``fleet_dir``: this process is one worker of a fleet (``podium serve --workers N``) whose metric files are in
    that directory; ``/metrics`` and the exporters then report the whole fleet (see ``podium.telemetry.fleet``).
    """

    def __init__(
        self,
        settings: TelemetrySettings | None = None,
        *,
        registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
        clock: Clock = SYSTEM_CLOCK,
        fleet_dir: Path | None = None,
    ) -> None:
        self.settings = settings or TelemetrySettings()
        self.registry = registry if registry is not None else CollectorRegistry()
        self.fleet_dir = fleet_dir
        self.exposed = self.registry  # what /metrics and the exporters report
        if fleet_dir is not None:
            from podium.telemetry.fleet import check_multiprocess, fleet_registry

            check_multiprocess(fleet_dir)
            self.exposed = fleet_registry(fleet_dir)
        guard, mp = LabelGuard(self.settings.max_label_values), fleet_dir is not None
        self.calls = PodiumMetrics(self.registry, guard=guard, multiprocess=mp)
        self.workflows = WorkflowMetrics(self.registry, guard=guard, multiprocess=mp)
        self.bus = EventBus(clock=clock)
        self.bus.add_sink(MetricsEventSink(self.calls))
        self._owns_provider = tracer_provider is None and self.settings.tracing_enabled
        if self._owns_provider:
            tracer_provider = configure_tracing(self.settings)
        self.tracer_provider = tracer_provider
        self.exporters = build_exporters(self.settings.exporters)
        self.server: MetricsServer | None = None
        self._clock = clock
        self._exporting: asyncio.Task[None] | None = None  # the periodic export of ``export_interval_s``
        self._mounted = False  # an app (the gateway) serves /metrics: no second port

    def middlewares(self) -> list[Middleware]:
        """Tracing outermost (its span covers the metrics work), then metrics."""
        out: list[Middleware] = []
        if self.tracer_provider is not None:
            tracer = self.tracer_provider.get_tracer(TRACER_NAME)
            out.append(TracingMiddleware(tracer, capture_content=self.settings.capture_content))
        out.append(MetricsMiddleware(self.calls))
        return out

    def start_server(self) -> MetricsServer | None:
        """Serve /metrics on the configured host and port when ``metrics_enabled``; idempotent.

        Nothing is started once ``asgi_app()`` was mounted: that app already serves these metrics.
        """
        if self.server is None and self.settings.metrics_enabled and not self._mounted:
            from podium.telemetry.serving import start_metrics_server

            self.server = start_metrics_server(self.exposed, self.settings.metrics_host, self.settings.metrics_port)
        return self.server

    def asgi_app(self) -> Any:
        """The gateway mounts this at /metrics (and so ``start_server()`` opens no second port)."""
        from podium.telemetry.serving import metrics_asgi_app

        self._mounted = True
        return metrics_asgi_app(self.exposed)

    def export(self) -> None:
        """Run every configured exporter once (what ``export_metrics()`` did in the original telemetry tool)."""
        for exporter in self.exporters:
            exporter.export(self.exposed)

    def begin_run(self) -> None:
        """What every entry point does when its client starts: serve /metrics when enabled, and with
        ``export_interval_s`` run the exporters on that interval (on the injected clock) until ``end_run``.

        A busy port is logged (naming the port and ``telemetry.metrics_port``), not raised: the run still works.
        The periodic export runs on the event loop the client starts in; a client started outside one (the sync
        client) exports only when it closes.
        """
        try:
            self.start_server()
        except ConfigError as exc:
            log.warning("metrics endpoint not started: %s", exc)
        interval = self.settings.export_interval_s
        if interval is None or not self.exporters or self.exporting:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.info("telemetry.export_interval_s: no event loop running; the exporters run when the client closes")
            return
        self._exporting = loop.create_task(self._export_every(interval), name="podium-telemetry-export")

    @property
    def exporting(self) -> bool:
        """Whether the periodic export (``export_interval_s``) is running."""
        return self._exporting is not None and not self._exporting.done()

    async def _export_every(self, interval: float) -> None:
        while True:
            await self._clock.sleep(interval)
            try:
                self._export_logged()
            except Exception:  # a broken exporter must not end the periodic export of the others
                log.exception("telemetry.exporters: periodic export failed")

    def end_run(self) -> None:
        """What every entry point does when its client closes: stop the periodic export, then write the
        configured exporters once more. A file that cannot be written is logged and the other exporters still run.
        """
        if self._exporting is not None:
            self._exporting.cancel()  # it is parked in its sleep (the loop is running us): it never writes again
            self._exporting = None
        self._export_logged()

    def _export_logged(self) -> None:
        for exporter in self.exporters:
            try:
                exporter.export(self.exposed)
            except OSError as exc:
                target = getattr(exporter, "path", None) or type(exporter).__name__
                log.warning("telemetry.exporters: could not write metrics to %s: %s", target, exc.strerror or exc)

    def shutdown(self) -> None:
        """Stop the metrics server, end subscriptions, and flush spans of a provider built here; a fleet worker
        also drops its live gauges from the fleet's view."""
        if self.fleet_dir is not None:
            from podium.telemetry.fleet import mark_worker_dead

            mark_worker_dead(self.fleet_dir)
        if self.server is not None:
            self.server.close()
            self.server = None
        self.bus.close()
        if self._owns_provider and self.tracer_provider is not None:
            self._owns_provider = False  # once: the SDK warns on a second shutdown
            self.tracer_provider.shutdown()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
