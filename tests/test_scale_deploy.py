"""The production setup in deploy/ parses and agrees with itself: compose services, gateway config, scrape targets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from podium.config.root import PodiumConfig

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_file_has_two_gateways_postgres_redis_prometheus_grafana() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"gateway-1", "gateway-2", "postgres", "redis", "prometheus", "grafana"} <= set(services)
    for name in ("gateway-1", "gateway-2"):
        gw = services[name]
        assert gw["command"][:2] == ["podium", "serve"] and "--workers" in gw["command"]
        assert gw["build"]["dockerfile"] == "deploy/Dockerfile"
        assert {"postgres", "redis"} <= set(gw["depends_on"])
    for mounted in [v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if v.startswith("./")]:
        assert (DEPLOY / mounted).exists(), mounted


def test_gateway_config_is_valid_and_shares_state_across_replicas() -> None:
    config = PodiumConfig.from_mapping(yaml.safe_load((DEPLOY / "podium.yaml").read_text()))
    assert config.ledger.mode == "shared" and config.ledger.url.startswith("postgresql://")
    assert config.resilience.limiter_backend == "redis" and config.resilience.redis_url.startswith("redis://")
    assert config.server.keys[0].key_env and config.server.keys[0].rpm


def test_prometheus_scrapes_every_gateway() -> None:
    prom = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {"gateway-1:4000", "gateway-2:4000"}
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    proc = subprocess.run([promtool, "check", "config", str(DEPLOY / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
