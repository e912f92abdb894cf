"""The gateway's ASGI app: OpenAI-compatible routes over a Podium client, plus /metrics and /healthz."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from podium.config.server import ServerSettings, VirtualKey
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.pipeline import CallMeta
from podium.server.api_routes import NOT_FOUND_HANDLERS, api_routes
from podium.server.chat import TASK_TYPE_HEADER, VIRTUAL_MODELS, ChatService, Target
from podium.server.errors import GatewayError, scrubbed_traceback, to_gateway_error
from podium.server.fast_path import ASGIApp, GatewayApp, HasHeaders, Receive, Scope, Send, dump_json, parse_json
from podium.server.feedback import feedback_route
from podium.server.keys import TokenBooking, VirtualKeys, bearer_token, gateway_config, open_gateway_warning
from podium.server.openai_request import TAGS_HEADER, ParsedChat, call_tags, parse_chat_request, refuse_unhonoured
from podium.telemetry.tracing import TRACER_NAME, TraceRequests, record_request_model

if TYPE_CHECKING:
    from podium.config.root import PodiumConfig
    from podium.engine import Podium
    from podium.resilience.ratelimit import RateLimitBackend
    from podium.telemetry import Telemetry

log = logging.getLogger("podium.server")
_SECRET_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
_MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words


class _Endpoint:
    """Wraps a bare ASGI callable so Starlette's Route serves it as an app, not as a request handler."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


class Admitted(NamedTuple):
    """An admitted call: the service and target that answer it, its meta, and its key's tpm booking."""

    chat: ChatService
    target: Target
    meta: CallMeta
    booking: TokenBooking | None


class Gateway:
    """The app's state: the engine client (built in the lifespan unless injected), keys, telemetry and clock."""

    def __init__(
        self,
        client: Podium | None,
        settings: ServerSettings,
        *,
        config: PodiumConfig | None,
        telemetry: Telemetry,
        clock: Clock,
        env: Mapping[str, str],
        home: Path | None,
        mode: str,
        owns_telemetry: bool = False,
    ) -> None:
        self.settings = settings
        self._owns_telemetry = owns_telemetry  # built by create_app: shut down (spans flushed) when the app stops
        self.keys = VirtualKeys(settings, env=env, clock=clock, limiter=_key_limiter(config, client))
        self.telemetry = telemetry
        self.clock = clock
        self._config, self._env, self._home, self._mode = config, env, home, mode
        self._owns_client = client is None
        self._secrets = self._secret_values(env)
        self.chat: ChatService | None = None if client is None else self._service(client)

    def _secret_values(self, env: Mapping[str, str]) -> tuple[str, ...]:
        names = set(self.keys.secret_envs)
        names.update(n for n in env if n.upper().endswith(_SECRET_SUFFIXES))
        return tuple(v for n in names if len(v := env.get(n, "")) >= _MIN_SECRET_CHARS)

    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def _service(self, client: Podium) -> ChatService:
        return ChatService(
            client,
            clock=self.clock,
            observe_overhead=self.telemetry.calls.observe_gateway_overhead,
            secrets=self.secrets,
            task_table=self._config.routing.task_table if self._config is not None else (),
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            if self.chat is not None:
                yield
                return
            from podium.engine import Podium

            assert self._config is not None, "create_app loads a config whenever it builds the client"
            client = Podium.from_config(
                self._config,
                env=self._env,
                home=self._home,
                telemetry=self.telemetry,
                clock=self.clock,
            )
            self.chat = self._service(client)
            try:
                yield
            finally:
                self.chat = None
                await client.aclose()
        finally:
            await self.keys.aclose()
            if self._owns_telemetry:
                self.telemetry.shutdown()

    def service(self) -> ChatService:
        if self.chat is None:
            raise GatewayError(503, "the gateway is starting or stopping; retry shortly", "server_error", "not_ready")
        return self.chat

    def error_response(
        self, exc: BaseException, request: HasHeaders, render: Callable[[GatewayError], Any] = GatewayError.body
    ) -> JSONResponse:
        token = bearer_token(request.headers.get("authorization")) or ""
        secrets = self._secrets + ((token,) if len(token) >= _MIN_SECRET_CHARS else ())
        err = to_gateway_error(exc, secrets)
        if err.status == 500:  # unexpected: log the traceback, scrubbed (exc_info would print it raw)
            log.warning("%s %s\n%s", err.status, err.message, scrubbed_traceback(exc, secrets).rstrip())
        elif err.status > 500:
            log.warning("%s %s", err.status, err.message)
        return JSONResponse(render(err), status_code=err.status, headers=err.headers)

    # -- routes ---------------------------------------------------------------------------------------------------

    async def admitted(self, request: HasHeaders, key: VirtualKey | None, parsed: ParsedChat) -> Admitted:
        """What every chat-shaped endpoint checks before calling: the model, the options it honours, the task type,
        the key's models and limits; and the call's meta (key, team, user, tags) and its key tpm booking."""
        chat = self.service()
        record_request_model(parsed.model)
        target = chat.target(parsed.model)
        refuse_unhonoured(parsed.request, target.model, chat.client.catalog)
        task_type = chat.task_type(request.headers.get(TASK_TYPE_HEADER), parsed)
        self.keys.check_model(key, parsed.model, target.model)
        booking = await self.keys.admit(key, parsed.request)
        who: dict[str, Any] = {"key": key.id, "team": key.team, "user": key.user} if key is not None else {}
        allowed = self.keys.concrete_allowed(key, chat.client.catalog)
        if allowed is not None:  # strategies' candidates and fallbacks alike stay within the key's models
            who["model_allowed"] = frozenset(allowed).__contains__
        meta = CallMeta(task_type=task_type, tags=call_tags(parsed.tags, request.headers.get(TAGS_HEADER)), **who)
        meta.user = meta.user or parsed.request.user  # a key's own user wins over the one the body names
        return Admitted(chat, target, meta, booking)

    async def chat_reply(
        self, request: HasHeaders, read_body: Callable[[], Awaitable[object]]
    ) -> Response | tuple[bytes, dict[str, str]]:
        """A chat completion: the JSON answer and its headers, or a Response (a stream, or an error)."""
        started = self.clock.monotonic()
        try:
            key = self.keys.authenticate(request.headers.get("authorization"))
            parsed = parse_chat_request(await read_body())
            chat, target, meta, booking = await self.admitted(request, key, parsed)
            if parsed.stream:
                settle = partial(self.keys.settle, booking) if booking is not None else None
                frames, headers = await chat.open_stream(parsed, target, meta, started, on_usage=settle)
                return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
            answer = await chat.answer(parsed, target, meta)
            await self.keys.settle(booking, answer.usage.total_tokens)
            body, headers = chat.render(answer, started)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an OpenAI-shaped error response
            return self.error_response(exc, request)
        return dump_json(body), headers

    async def chat_completions(self, request: Request) -> Response:
        reply = await self.chat_reply(request, partial(_json_body, request, self.settings.max_body_bytes))
        if isinstance(reply, Response):
            return reply
        payload, headers = reply
        return Response(payload, media_type="application/json", headers=headers)

    async def list_models(self, request: Request) -> Response:
        try:
            key = self.keys.authenticate(request.headers.get("authorization"))
            catalog = self.service().client.catalog
            specs = catalog.all()
            if self._mode == "replay":  # only recorded models can answer; listing the rest would promise calls that fail
                recorded = self._recorded_models()
                specs = [spec for spec in specs if spec.id in recorded]
            entries = [_model_entry(name, "podium") for name in VIRTUAL_MODELS]
            entries += [_model_entry(spec.id, spec.provider) for spec in specs]
            if key is not None and key.allowed_models is not None:
                entries = [e for e in entries if _allowed(self.keys, key, e["id"])]
        except Exception as exc:  # noqa: BLE001
            return self.error_response(exc, request)
        return JSONResponse({"object": "list", "data": entries})

    def _recorded_models(self) -> frozenset[str]:
        """The models the replay data answers for (the `providers.replay` file when one is configured)."""
        from podium.providers.replay import ReplayProvider

        providers = getattr(self._config, "providers", None) or {}
        return frozenset(ReplayProvider.from_settings(providers.get("replay")).models)

    async def get_model(self, request: Request) -> Response:
        name = request.path_params["model"]
        try:
            key = self.keys.authenticate(request.headers.get("authorization"))
            if name in VIRTUAL_MODELS:
                entry = _model_entry(name, "podium")
            else:
                spec = self.service().client.catalog.get(name)
                entry = _model_entry(spec.id, spec.provider)
            self.keys.check_model(key, name, entry["id"])
        except Exception as exc:  # noqa: BLE001
            return self.error_response(exc, request)
        return JSONResponse(entry)

    async def healthz(self, request: Request) -> Response:
        ready = self.chat is not None
        return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)


def _key_limiter(config: PodiumConfig | None, client: Podium | None) -> RateLimitBackend | None:
    """The keys' rpm backend: the one ``resilience.limiter_backend`` names, so rpm is global across replicas."""
    from podium.resilience.ratelimit import backend_for

    cfg = config if config is not None else getattr(client, "config", None)
    resilience = getattr(cfg, "resilience", None)
    return None if resilience is None else backend_for(resilience)


def _model_entry(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


def _allowed(keys: VirtualKeys, key: VirtualKey | None, model_id: str) -> bool:
    try:
        keys.check_model(key, model_id, model_id)
    except GatewayError:
        return False
    return True


async def _json_body(request: Request, max_bytes: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise GatewayError(
            413,
            f"request body of {declared} bytes is over the limit of {max_bytes} (server.max_body_bytes)",
            code="request_too_large",
        )
    raw = await request.body()
    if len(raw) > max_bytes:
        raise GatewayError(
            413,
            f"request body is over the limit of {max_bytes} bytes (server.max_body_bytes)",
            code="request_too_large",
        )
    return parse_json(raw)


def create_app(
    client: Podium | None = None,
    settings: ServerSettings | None = None,
    *,
    config: PodiumConfig | None = None,
    telemetry: Telemetry | None = None,
    clock: Clock = SYSTEM_CLOCK,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    mode: str | None = None,
    fleet_metrics_dir: Path | None = None,
) -> Starlette:
    """The gateway as an ASGI app.

    Inject ``client`` (a Podium built from a config whose ``server.keys`` are these keys, or from ``gateway_config``,
    so key budgets apply) and the ``telemetry`` it uses;
    otherwise the lifespan builds the client from ``config`` (loaded from the usual places when None) and closes it.
    ``mode="replay"`` limits strategies to models with a recorded answer to the prompt. ``fleet_metrics_dir``: this
    app is one worker of ``podium serve --workers N`` and its /metrics reports the fleet (for telemetry built here).
    """
    settings = settings or ServerSettings()
    env = os.environ if env is None else env
    if client is None and config is None:
        from podium.config.root import load_config

        config = load_config(env=env).config
    if config is not None:  # its ledger section then holds every key budget the gateway enforces
        config = gateway_config(config, settings)
    owns_telemetry = telemetry is None
    if telemetry is None:
        from podium.telemetry import Telemetry

        telemetry_settings = config.telemetry if config is not None else None
        telemetry = Telemetry(telemetry_settings, clock=clock, fleet_dir=fleet_metrics_dir)
    mode = mode or (config.mode if config is not None else "live")
    gw = Gateway(client, settings, config=config, telemetry=telemetry, clock=clock, env=env, home=home, mode=mode,
                 owns_telemetry=owns_telemetry)
    if (warning := open_gateway_warning(settings, settings.host)) is not None:
        log.warning(warning)
    routes = [
        Route(path, gw.chat_completions, methods=["POST"]) for path in ("/v1/chat/completions", "/chat/completions")
    ]
    routes += api_routes(gw, _json_body)
    routes += [
        Route("/v1/models", gw.list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", gw.get_model, methods=["GET"]),
        Route("/healthz", gw.healthz, methods=["GET"]),
        feedback_route(gw),
        Route("/metrics", _Endpoint(telemetry.asgi_app())),
    ]
    provider = getattr(telemetry, "tracer_provider", None)
    tracing = Middleware(TraceRequests, tracer=provider.get_tracer(TRACER_NAME) if provider is not None else None)
    app = GatewayApp(routes=routes, lifespan=gw.lifespan, exception_handlers=NOT_FOUND_HANDLERS, middleware=[tracing])
    app.gateway, app.fast = gw, provider is None
    app.state.gateway = gw
    return app
