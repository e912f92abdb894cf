"""`podium serve`: run the OpenAI-compatible gateway with uvicorn."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.context import cli_env, load_cli_config


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
        bool, typer.Option("--replay", help="Serve the bundled recorded answers: no provider keys needed, $0.")
    ] = False,
    hash_key: Annotated[
        bool,
        typer.Option("--hash-key", help="Read a virtual key on stdin, print its SHA-256 for server.keys, and exit."),
    ] = False,
) -> None:
    """Serve an OpenAI-compatible API: point any OpenAI SDK at http://HOST:PORT/v1 and use model podium/auto."""
    if hash_key:
        typer.echo(_hash_stdin())
        return
    import uvicorn

    from podium.server import create_app

    loaded = load_cli_config(ctx, config)
    cfg = loaded.config.model_copy(update={"mode": "replay"}) if replay else loaded.config
    settings = _server_settings(cfg, host, port)
    app = create_app(None, settings, config=cfg, env=cli_env())
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    mode = " (replay: recorded answers)" if cfg.mode == "replay" else ""
    typer.echo(
        f"Podium gateway{mode} on http://{shown}:{settings.port}/v1 — models: /v1/models, metrics: /metrics", err=True
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)


def _server_settings(cfg: Any, host: str | None, port: int | None) -> Any:
    """The ``server:`` section (defaults until the root config has one) with --host/--port applied."""
    from podium.config.server import ServerSettings

    settings = getattr(cfg, "server", None) or ServerSettings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    return ServerSettings.model_validate({**settings.model_dump(), **updates}) if updates else settings


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
