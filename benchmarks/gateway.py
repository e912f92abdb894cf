"""Time the gateway adds to a call (`podium serve` in its own process, the fake upstream on loopback). Prints a table.

    python benchmarks/gateway.py [--requests 500]

Rows: the same request sent straight to the fake upstream, then through the gateway (direct model, and streamed),
client-side p50/p95; then the gateway's own measure, podium_gateway_overhead_seconds (request time minus upstream
time, ledger and metrics included), read from /metrics with percentiles interpolated inside histogram buckets.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

KEY = "sk-bench-0123456789"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(send: Callable[[], None], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        send()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        send()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def _pcts(samples_ms: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return q[49], q[94], statistics.fmean(samples_ms)


def _histogram_quantiles(metrics_text: str, name: str) -> tuple[float, float, float, int]:
    """(p50, p95, mean) in ms and the count, interpolated linearly inside the buckets."""
    buckets: list[tuple[float, float]] = []
    total = count = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name:
            continue
        for s in family.samples:
            if s.name.endswith("_bucket"):
                buckets.append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_sum"):
                total = s.value
            elif s.name.endswith("_count"):
                count = s.value
    buckets.sort()

    def quantile(q: float) -> float:
        rank, prev_le, prev_n = q * count, 0.0, 0.0
        for le, n in buckets:
            if n >= rank:
                if le == float("inf"):
                    return prev_le * 1000.0
                share = (rank - prev_n) / (n - prev_n) if n > prev_n else 0.0
                return (prev_le + share * (le - prev_le)) * 1000.0
            prev_le, prev_n = le, n
        return prev_le * 1000.0

    mean = total / count * 1000.0 if count else 0.0
    return quantile(0.5), quantile(0.95), mean, int(count)


def _start_gateway(upstream_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = {
        "providers": {"openai": {"base_url": upstream_url + "/v1"}},
        "orchestration": {"enabled": False},
        "resilience": {"fallback": {"enabled": False}},
    }
    path = workdir / "podium.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "OPENAI_API_KEY": KEY, "HOME": str(workdir), "PODIUM_HOME": str(workdir / ".podium")}
    cmd = [sys.executable, "-m", "podium.cli.main", "serve", "--config", str(path), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the gateway did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    fake = FakeUpstream(api_key=KEY)
    fake.script("gpt-4o-mini", text="Paris is the capital of France.", usage=Usage(14, 8))
    rows: list[tuple[str, tuple[float, float, float]]] = []
    with serve(fake.app) as upstream_url, tempfile.TemporaryDirectory() as tmp:
        proc, gateway = _start_gateway(upstream_url, Path(tmp))
        try:
            with httpx.Client(headers={"authorization": f"Bearer {KEY}"}) as http:

                def call(url: str, model: str, stream: bool = False) -> Callable[[], None]:
                    body = {"model": model, "messages": MESSAGES, "stream": stream}
                    return lambda: http.post(url + "/v1/chat/completions", json=body).raise_for_status()

                n, w = args.requests, args.warmup
                rows.append(("upstream direct", _pcts(_timed(call(upstream_url, "gpt-4o-mini"), n, w))))
                rows.append(("via gateway", _pcts(_timed(call(gateway, "openai:gpt-4o-mini"), n, w))))
                rows.append(("upstream direct, stream", _pcts(_timed(call(upstream_url, "gpt-4o-mini", True), n, w))))
                rows.append(("via gateway, stream", _pcts(_timed(call(gateway, "openai:gpt-4o-mini", True), n, w))))
                metrics = http.get(gateway + "/metrics").text
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    p50, p95, mean, count = _histogram_quantiles(metrics, "podium_gateway_overhead_seconds")
    table = Table(title=f"gateway overhead, {args.requests} sequential requests per row")
    for col in ("path", "p50 ms", "p95 ms", "mean ms"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for name, (a, b, c) in rows:
        table.add_row(name, f"{a:.3f}", f"{b:.3f}", f"{c:.3f}")
    for label, direct, via in (("added by gateway", rows[0][1], rows[1][1]), ("added, stream", rows[2][1], rows[3][1])):
        table.add_row(label, *(f"{v - d:.3f}" for d, v in zip(direct, via, strict=True)))
    table.add_row(f"podium_gateway_overhead_seconds (n={count})", f"≈{p50:.3f}", f"≈{p95:.3f}", f"{mean:.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
