"""`podium serve`: run the OpenAI-compatible gateway with uvicorn."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from podium.cli.context import cli_env, load_cli_config
from podium.cli.flags import reject_blank

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.config.server import ServerSettings


def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default: server.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on (default: server.port, 4000).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: the root --config or search path).")
    ] = None,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="Serve the bundled recorded answers: no provider keys or network needed. Each answer is charged its "
            "recorded cost to the ledger and budgets.",
        ),
    ] = False,
    hash_key: Annotated[
        bool,
        typer.Option("--hash-key", help="Read a virtual key on stdin, print its SHA-256 for server.keys, and exit."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1,
            help="Worker processes sharing the port (one core each). Budgets stay exact (ledger.mode: shared); "
            "set resilience.limiter_backend: redis so key and provider rate limits count across workers.",
        ),
    ] = 1,
    metrics_dir: Annotated[
        Path | None,
        typer.Option(
            "--metrics-dir", envvar="PODIUM_METRICS_DIR",
            help="With --workers N > 1: where the workers keep their metric files so /metrics reports the whole "
            "fleet (its *.db files are cleared at start). Default: a temporary directory removed on exit.",
        ),
    ] = None,
) -> None:
    """Serve an OpenAI-compatible API: point any OpenAI SDK at http://HOST:PORT/v1 and use model podium/auto."""
    if hash_key:
        typer.echo(_hash_stdin())
        return
    reject_blank(
        "--host", host, field="server.host", valid="an address of this machine, e.g. 127.0.0.1",
        hint="give an address of this machine, e.g. 127.0.0.1 (or 0.0.0.0 for all)",
    )  # fmt: skip
    import uvicorn

    from podium.server import create_app

    loaded = load_cli_config(ctx, config)
    cfg = loaded.config.model_copy(update={"mode": "replay"}) if replay else loaded.config
    settings = _server_settings(cfg, host, port)
    check_bindable(settings.host, settings.port)  # before the banner, and before the app opens its ledger
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    mode = " (replay: recorded answers)" if cfg.mode == "replay" else ""
    fast = _fast_server_options()
    if workers > 1:
        _check_workers(cfg, workers)
        spec = {"config": str(loaded.path) if loaded.path else None, "replay": replay, "host": host, "port": port}
        banner = (
            f"Podium gateway{mode} on http://{shown}:{settings.port}/v1 with {workers} workers — "
            "models: /v1/models, metrics: /metrics (the whole fleet)"
        )
        _serve_workers(spec, settings, workers=workers, metrics_dir=metrics_dir, banner=banner, options=fast)
        return
    if metrics_dir is not None:
        typer.echo("warning: --metrics-dir is for --workers N > 1; one process serves its own metrics", err=True)
    app = create_app(None, settings, config=cfg, env=cli_env())
    typer.echo(
        f"Podium gateway{mode} on http://{shown}:{settings.port}/v1 — models: /v1/models, metrics: /metrics", err=True
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False, **fast)


_WORKER_SPEC_ENV = "PODIUM_SERVE_WORKER_SPEC"


def _serve_workers(
    spec: dict[str, Any], settings: ServerSettings, *, workers: int, metrics_dir: Path | None, banner: str,
    options: dict[str, str],
) -> None:  # fmt: skip
    """Run ``workers`` uvicorn processes on one port; they share one metrics directory for the life of the fleet."""
    import uvicorn

    from podium.telemetry.fleet import MULTIPROC_DIR_ENV, fleet_metrics_dir

    with fleet_metrics_dir(metrics_dir) as fleet_dir:
        # Each worker is its own process (uvicorn spawns it, inheriting this environment) and builds the app from
        # the same spec; prometheus-client in each reads MULTIPROC_DIR_ENV on import and writes its files there.
        os.environ[MULTIPROC_DIR_ENV] = str(fleet_dir)
        os.environ[_WORKER_SPEC_ENV] = json.dumps({**spec, "metrics_dir": str(fleet_dir)})
        typer.echo(banner, err=True)
        uvicorn.run(
            "podium.cli.serve:worker_app", factory=True, workers=workers, host=settings.host, port=settings.port,
            log_level="info", access_log=False, **options,
        )  # fmt: skip


def worker_app() -> Any:
    """The app of one ``--workers`` process, built from the spec the parent left in the environment."""
    from podium.config import load_config
    from podium.server import create_app

    spec = json.loads(os.environ[_WORKER_SPEC_ENV])
    loaded = load_config(spec["config"], env=cli_env())
    cfg = loaded.config.model_copy(update={"mode": "replay"}) if spec["replay"] else loaded.config
    settings = _server_settings(cfg, spec["host"], spec["port"])
    return create_app(None, settings, config=cfg, env=cli_env(), fleet_metrics_dir=Path(spec["metrics_dir"]))


def _check_workers(cfg: PodiumConfig, workers: int) -> None:
    """Refuse what cannot work across processes; warn about limits that would count per worker."""
    from podium.core.errors import ConfigError

    ledger = cfg.ledger
    if ledger.enabled and ledger.mode == "process":
        raise ConfigError(
            f"--workers {workers} needs ledger.mode: shared; ledger.mode: process allows one writing process",
            field="ledger.mode", value="process", valid=["shared"],
        )  # fmt: skip
    if cfg.resilience.limiter_backend != "redis":
        typer.echo(
            f"warning: resilience.limiter_backend is memory, so key rpm and provider rate limits count per worker "
            f"(each of the {workers} allows the full limit); set limiter_backend: redis and redis_url to share them",
            err=True,
        )


def _fast_server_options() -> dict[str, str]:
    """uvloop and httptools when installed (podium[fast]): less CPU per request than asyncio and h11."""
    import importlib.util

    options: dict[str, str] = {}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options


def _server_settings(cfg: PodiumConfig, host: str | None, port: int | None) -> ServerSettings:
    """The ``server:`` section (defaults until the root config has one) with --host/--port applied."""
    import pydantic

    from podium.cli.errors import flag_error
    from podium.config.server import ServerSettings

    settings = getattr(cfg, "server", None) or ServerSettings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if not updates:
        return settings
    try:
        return ServerSettings.model_validate({**settings.model_dump(), **updates})
    except pydantic.ValidationError as exc:
        raise flag_error(exc, ServerSettings, section="server", flags={"host": "--host", "port": "--port"}) from None


def check_bindable(host: str, port: int) -> None:
    """Bind and close a socket on every address ``host`` resolves to, as uvicorn will (SO_REUSEADDR on POSIX,
    IPv6 sockets v6-only), so a taken port is one line before anything starts rather than a log after startup."""
    from podium.core.errors import PodiumError, ValidationError

    if port == 0:
        return  # the system picks a free port
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValidationError(
            f"host {host!r} cannot be resolved ({exc.strerror}); give --host an address of this machine, e.g. 127.0.0.1",
            field="server.host", value=host,
        ) from None
    for family, kind, proto, _name, address in dict.fromkeys(addresses):
        with socket.socket(family, kind, proto) as sock:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise PodiumError(_bind_problem(exc, host, port), host=host, port=port) from None


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; pick another with --port"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port} on {host} (ports below 1024 need root); pick another with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; use e.g. 127.0.0.1 or 0.0.0.0 with --host"
    return f"cannot listen on port {port} on {host}: {exc.strerror or exc}"


def _hash_stdin() -> str:
    from podium.core.errors import ValidationError
    from podium.server.keys import sha256_hex

    key = sys.stdin.read().strip()
    if not key:
        raise ValidationError(
            "--hash-key reads the key on stdin, but stdin was empty; try: "
            'printf %s "$MY_KEY" | podium serve --hash-key',
            field="stdin",
            value="",
        )
    return sha256_hex(key)


def register(root_app: typer.Typer) -> None:
    """Mount as the single command ``podium serve``."""
    root_app.command("serve")(serve_command)
