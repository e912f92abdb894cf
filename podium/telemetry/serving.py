"""Serving ``/metrics``: a small HTTP server for CLI and library runs, or an ASGI app for the gateway."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from prometheus_client import CollectorRegistry, make_asgi_app, start_http_server

from podium.core.errors import ConfigError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

DEFAULT_METRICS_PORT = 9464  # the port dashboards scrape: `curl http://localhost:9464/metrics`


@dataclass(slots=True)
class MetricsServer:
    """A running metrics endpoint. ``port`` is the bound port (useful when 0 was asked for)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_metrics_server(
    registry: CollectorRegistry, host: str = "127.0.0.1", port: int = DEFAULT_METRICS_PORT
) -> MetricsServer:
    """Serve ``registry`` at ``http://host:port/metrics`` from a daemon thread; close() stops it."""
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; "
            "set telemetry.metrics_port to a free port (0 picks one)",
            field="metrics_port",
            value=port,
        ) from exc
    return MetricsServer(host=host, port=server.server_address[1], _server=server, _thread=thread)


def metrics_asgi_app(registry: CollectorRegistry) -> Any:
    """An ASGI app answering with ``registry`` in the Prometheus text (or OpenMetrics) format; mount at /metrics."""
    return make_asgi_app(registry)
