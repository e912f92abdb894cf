"""The OpenAI-compatible gateway: ``create_app`` builds the ASGI app that ``podium serve`` runs."""

from podium.server.app import create_app
from podium.server.chat import VIRTUAL_MODELS
from podium.server.errors import GatewayError
from podium.server.keys import gateway_config, sha256_hex

__all__ = ["VIRTUAL_MODELS", "GatewayError", "create_app", "gateway_config", "sha256_hex"]
