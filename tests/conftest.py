"""Suite-wide guards: no network beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from podium.testing import FakeUpstream

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if not isinstance(address, tuple) or not address:
        return True
    host = address[0]
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NonLoopbackNetworkError(RuntimeError):
    pass


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise NonLoopbackNetworkError(f"test tried to reach {address!r}; tests may only use loopback")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise NonLoopbackNetworkError(f"test tried to reach {address!r}; tests may only use loopback")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host not in (None, "localhost") and not _is_local((host.decode() if isinstance(host, bytes) else host,)):
        raise NonLoopbackNetworkError(f"test tried to resolve {host!r}; tests may only use loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the developer's own keys, config and ledger out of tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PODIUM_HOME", str(home / ".podium"))
    for var in list(__import__("os").environ):
        if var.endswith("_API_KEY") or var.startswith("PODIUM_") and var != "PODIUM_HOME":
            monkeypatch.delenv(var, raising=False)
    from podium.config.env_overrides import LEGACY_OVERRIDES, SEED_OVERRIDES

    for var in (*LEGACY_OVERRIDES, *SEED_OVERRIDES):  # seed 001/004 names the loader also reads
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[tuple[FakeUpstream, str]]:
    """The fake upstream on loopback and its base URL, accepting the requesting module's ``KEY``."""
    from podium.testing import FakeUpstream, serve

    fake = FakeUpstream(api_key=request.module.KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture()
def fake(served: tuple[FakeUpstream, str]) -> FakeUpstream:
    """``served``'s fake, with its scripts and recorded requests cleared."""
    served[0].reset()
    return served[0]


@pytest.fixture(scope="module")
def upstream(request: pytest.FixtureRequest) -> Iterator[FakeUpstream]:
    """The fake upstream on loopback (its URL as ``.base_url``), accepting the module's ``UPSTREAM_KEY`` or ``KEY``."""
    from podium.testing import FakeUpstream, serve

    fake = FakeUpstream(api_key=getattr(request.module, "UPSTREAM_KEY", None) or request.module.KEY)
    with serve(fake.app) as base_url:
        fake.base_url = base_url  # type: ignore[attr-defined]
        yield fake
