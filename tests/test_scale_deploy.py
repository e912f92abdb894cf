"""The production setup in deploy/ parses and agrees with itself and the README: compose services, gateway config,
scrape targets; and the gateway config, run as two real replicas, holds one rate limit and writes one ledger."""

from __future__ import annotations

import concurrent.futures as cf
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from test_ledger_support import pg_url  # noqa: F401 - fixture
from test_scale_support import (
    REDIS_URL,
    WIRE_MODEL,
    client_key,
    pg_engine,
    post,
    redis_ok,  # noqa: F401 - fixture
    start_replicas,
    unique,
)

from podium.config.root import PodiumConfig
from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


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


def test_readme_shows_the_gateway_config_the_replicas_load() -> None:
    readme = (ROOT / "README.md").read_text()
    after = readme.split("`deploy/podium.yaml` is the gateway config every replica loads", 1)[1]
    block = after.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block) == yaml.safe_load((DEPLOY / "podium.yaml").read_text())


def test_compose_comments_point_at_files_that_exist() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    named = [word.strip("().,") for word in text.split() if word.strip("().,").endswith((".md", ".yaml", ".yml"))]
    for name in named:
        assert (ROOT / name).exists() or (DEPLOY / name).exists(), name


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(240)
def test_deploy_config_as_two_replicas_holds_one_rpm_and_one_ledger(
    tmp_path: Path, pg_url: str, redis_ok: None  # noqa: F811
) -> None:
    """deploy/podium.yaml as compose runs it (two replicas, --workers 2 each), with only the addresses changed to this
    machine's Postgres, Redis and a fake provider, and the key's rpm scaled from 600 to 6 so a test can reach it."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    command = compose["services"]["gateway-1"]["command"]
    workers = int(command[command.index("--workers") + 1].removeprefix("${PODIUM_WORKERS:-").rstrip("}"))
    config = yaml.safe_load((DEPLOY / "podium.yaml").read_text())
    key = unique("deploy")
    entry = config["server"]["keys"][0]
    entry.update(id=key, rpm=6)
    config["server"].pop("host")  # the replicas listen on loopback, on ports of their own
    config["ledger"]["url"] = pg_url
    config["resilience"].update(redis_url=REDIS_URL, cache={"enabled": True, "url": REDIS_URL[:-1] + "1"})
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=Usage(14, 8))
    with serve(fake.app) as upstream_url:
        config["providers"] = {"openai": {"base_url": upstream_url + "/v1"}}
        env = {entry["key_env"]: client_key(key)}
        a, b = start_replicas(tmp_path, [config, config], workers=workers, extra_env=env)

        def ask(i: int) -> int:  # a prompt new to the shared cache, which outlives the test
            messages = [{"role": "user", "content": f"What is the capital of France? ({key} {i})"}]
            return post((a.base_url, b.base_url)[i % 2], key, messages=messages).status_code

        try:
            started = time.monotonic()
            with cf.ThreadPoolExecutor(6) as pool:
                codes = list(pool.map(ask, range(18)))
        finally:
            a.stop()
            b.stop()
    refilled = int((time.monotonic() - started) / 10.0)  # GCRA gives one request back every 10 s at rpm 6
    assert 6 <= codes.count(200) <= 6 + refilled and codes.count(200) + codes.count(429) == 18, codes
    assert fake.count(WIRE_MODEL) == codes.count(200)
    calls = sa.table("ledger_calls", sa.column("key"), sa.column("status"))
    engine = pg_engine(pg_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(calls.c.status).where(calls.c.key == key)).scalars().all()
    finally:
        engine.dispose()
    assert sorted(rows) == ["ok"] * codes.count(200), rows  # both replicas' answers in the one ledger
