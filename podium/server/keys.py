"""Virtual keys: Bearer auth against SHA-256 digests, per-key model allow-lists, rpm and tpm, per-key budgets."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podium.config.server import ServerSettings, VirtualKey
from podium.core.clock import Clock
from podium.core.errors import ConfigError
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest
from podium.resilience.ratelimit import Bucket, InProcessBackend, RateLimitBackend
from podium.server.errors import GatewayError, retry_after_headers

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.config.root import PodiumConfig

log = logging.getLogger("podium.server")
_VIRTUAL_PREFIX = "podium/"  # podium/auto, podium/cheapest, ...: strategies, not models


@dataclass(frozen=True, slots=True)
class TokenBooking:
    """The tokens a call took from its key's tpm bucket at admission."""

    bucket: Bucket
    tokens: int


def sha256_hex(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def gateway_config(config: PodiumConfig, settings: ServerSettings) -> PodiumConfig:
    """``config`` serving with ``settings``: the config folds the keys' budgets into ``ledger.budgets``
    (``PodiumConfig.with_server``); the gateway only enforces what the ledger section holds."""
    return config.with_server(settings)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class VirtualKeys:
    """Who is calling (from the Authorization header) and what they may do."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        env: Mapping[str, str],
        clock: Clock,
        limiter: RateLimitBackend | None = None,
    ) -> None:
        """``limiter`` holds the keys' rpm buckets: a shared one (Redis) makes each key's rpm global across
        replicas and workers; the default is this process's memory."""
        self._by_digest: dict[str, VirtualKey] = {}
        for key in settings.keys:
            self._by_digest[self._digest_of(key, env)] = key
        self._clock = clock
        self._limiter: RateLimitBackend = limiter or InProcessBackend()
        self._buckets = {k.id: Bucket(f"key:{k.id}", k.rpm, "rpm") for k in settings.keys if k.rpm is not None}
        self._token_buckets = {
            k.id: Bucket(f"key-tpm:{k.id}", k.tpm, "tpm") for k in settings.keys if k.tpm is not None
        }
        self.secret_envs = tuple(k.key_env for k in settings.keys if k.key_env)

    @staticmethod
    def _digest_of(key: VirtualKey, env: Mapping[str, str]) -> str:
        if key.key_sha256 is not None:
            return key.key_sha256
        assert key.key_env is not None
        value = env.get(key.key_env, "").strip()
        if not value:
            raise ConfigError(
                f"virtual key {key.id!r} reads its key from ${key.key_env}, which is not set; "
                f"export {key.key_env}=... or use key_sha256",
                field="server.keys.key_env",
                value=key.key_env,
            )
        return sha256_hex(value)

    @property
    def open(self) -> bool:
        return not self._by_digest

    def authenticate(self, authorization: str | None) -> VirtualKey | None:
        """The caller's key; None on an open gateway. Raises a 401 GatewayError for a missing or unknown key."""
        if self.open:
            return None
        token = bearer_token(authorization)
        if token is None:
            raise GatewayError(
                401, "missing API key: send `Authorization: Bearer <your Podium virtual key>`", code="invalid_api_key"
            )
        # A dict lookup by digest is safe from timing attacks: the digest of a guess says nothing about real keys.
        key = self._by_digest.get(sha256_hex(token))
        if key is not None:
            return key
        raise GatewayError(
            401, "invalid API key: it matches no virtual key configured on this gateway", code="invalid_api_key"
        )

    def check_model(self, key: VirtualKey | None, requested: str, resolved: str | None) -> None:
        """Refuse (403) a model outside the key's ``allowed_models``; entries may be globs such as ``openai:*``."""
        if key is None or key.allowed_models is None:
            return
        names = [n for n in (requested, resolved) if n]
        if any(fnmatch.fnmatchcase(n, pattern) for n in names for pattern in key.allowed_models):
            return
        raise GatewayError(
            403,
            f"virtual key {key.id!r} may not use model {requested!r}; it may use: {', '.join(key.allowed_models)}",
            "permission_error",
            "model_not_allowed",
            "model",
        )

    def concrete_allowed(self, key: VirtualKey | None, catalog: Catalog) -> list[str] | None:
        """Catalog ids a strategy may pick for this key, globs expanded against the catalog.

        None (any model) when the key has no allow-list or lists only ``podium/*`` virtual models; an empty list
        when its entries match no catalog model, so a strategy can never pick a model the key may not use.
        """
        if key is None or key.allowed_models is None:
            return None
        patterns = [name for name in key.allowed_models if not name.startswith(_VIRTUAL_PREFIX)]
        if not patterns:
            return None
        out: list[str] = []
        for pattern in patterns:
            if pattern in catalog:
                out.append(catalog.resolve(pattern))
            else:
                out += [s.id for s in catalog if any(fnmatch.fnmatchcase(n, pattern) for n in (s.id, *s.aliases))]
        return list(dict.fromkeys(out))

    def _now(self) -> float:
        # A shared backend compares instants across processes, so it needs wall-clock time, not monotonic.
        return self._clock.now().timestamp() if self._limiter.shared else self._clock.monotonic()

    async def admit(self, key: VirtualKey | None, request: ChatRequest | None = None) -> TokenBooking | None:
        """Take one request from the key's rpm bucket and the request's estimated tokens from its tpm bucket,
        both or neither; refuse with a 429 naming the limit, with Retry-After. The booking is settled to
        the tokens the answer really used with ``settle``."""
        if key is None:
            return None
        wanted: list[tuple[Bucket, float]] = []
        if (rpm := self._buckets.get(key.id)) is not None:
            wanted.append((rpm, 1.0))
        tpm = self._token_buckets.get(key.id)
        booked = 0
        if tpm is not None:  # the prompt estimate plus the answer's allowance, as the provider tpm limits book it
            tokens = estimate_request_tokens(request) + (request.max_tokens or 0) if request is not None else 1
            booked = max(1, min(tokens, tpm.limit))
        if tpm is not None:
            wanted.append((tpm, float(booked)))
        if not wanted:
            return None
        got = await self._limiter.reserve(wanted, (), self._now(), 0.0)
        if not got.admitted:
            bucket = tpm if tpm is not None and got.bucket == tpm.key else rpm
            assert bucket is not None
            unit = "tokens" if bucket is tpm else "requests"
            raise GatewayError(
                429,
                f"virtual key {key.id!r} is over its limit of {bucket.limit} {unit} per minute "
                f"(server.keys.{bucket.label}, Podium's own limit); retry after {got.wait:.1f}s",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers=retry_after_headers(got.wait),
            )
        return TokenBooking(tpm, booked) if tpm is not None else None

    async def settle(self, booking: TokenBooking | None, used_tokens: int) -> None:
        """Charge the key's tpm bucket the difference between the tokens booked and those the answer used."""
        if booking is None or used_tokens == booking.tokens:
            return
        await self._limiter.adjust(booking.bucket, float(used_tokens - booking.tokens), self._now())

    async def aclose(self) -> None:
        await self._limiter.aclose()


def open_gateway_warning(settings: ServerSettings, host: str) -> str | None:
    """The warning to log when the gateway lets anyone in, or None when it checks keys."""
    if not settings.open:
        return None
    if host in ("127.0.0.1", "localhost", "::1"):
        where = "only this machine can reach it"
    else:
        where = f"anyone who can reach {host} can spend your provider keys"
    return f"no virtual keys configured (server.keys): the gateway is open; {where}"
