"""Time and CPU the gateway adds to a call (`podium serve` and a fake upstream, each in its own process).

    python benchmarks/gateway.py [--requests 400] [--concurrency 1,10,50] [--workers 1] [--compare litellm]

Every Podium row runs with the ledger on (SQLite, a hard key budget), metrics, and virtual-key checks (key rpm);
``ledger off`` rows turn only the ledger off. Per row: requests/s, client-side p50/p95, added p50 over the same
request sent straight to the fake upstream, and server CPU per request (user+system time of the server process and
its children, from /proc, divided by the requests it served). ``--compare litellm`` adds LiteLLM's proxy when the
``litellm`` command is installed (it is optional; the row says so when it is not).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from podium.server.keys import sha256_hex

KEY = "sk-bench-0123456789"
CLIENT_KEY = "sk-podium-bench-client"
LITELLM_KEY = "sk-litellm-bench-5f0c8e2a9d4b7c1e3f6a8b0d2c4e6f81"  # its master key (it refuses to start without)
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User+system CPU of ``pid`` and all its live descendants (uvicorn workers are children)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        todo += [int(c) for c in children]
    return total


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], path: str = "/healthz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


_UPSTREAM = """
import sys, uvicorn
from podium.core.types import Usage
from podium.testing import FakeUpstream
fake = FakeUpstream(api_key=sys.argv[2])
fake.script("gpt-4o-mini", text="Paris is the capital of France.", usage=Usage(14, 8))
uvicorn.run(fake.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, **FAST)
"""


def _start_upstream() -> tuple[Any, str]:
    """The fake upstream in its own process, so it does not share a GIL with the load generator."""
    import importlib.util

    fast = {k: v for k, v in (("loop", "uvloop"), ("http", "httptools")) if importlib.util.find_spec(v) is not None}
    port = _free_port()
    code = f"FAST = {fast!r}\n" + _UPSTREAM
    proc = subprocess.Popen([sys.executable, "-c", code, str(port), KEY], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(base + "/v1/chat/completions", timeout=2)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the fake upstream did not start")


def _start_podium(upstream_url: str, workdir: Path, *, ledger: bool, workers: int, mode: str) -> tuple[Any, str]:
    config = {
        "providers": {"openai": {"base_url": upstream_url + "/v1"}},
        "orchestration": {"enabled": False},
        "resilience": {"fallback": {"enabled": False}},
        "ledger": {"enabled": ledger, "mode": mode},
        "server": {
            "keys": [
                {"id": "bench", "key_sha256": sha256_hex(CLIENT_KEY), "rpm": 10_000_000}
                | ({"budget_usd": "1000000"} if ledger else {})
            ]
        },
    }
    path = workdir / "podium.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "OPENAI_API_KEY": KEY, "HOME": str(workdir), "PODIUM_HOME": str(workdir / ".podium")}
    cmd = [sys.executable, "-m", "podium.cli.main", "serve", "--config", str(path), "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(base, proc)
    return proc, base


def _start_litellm(upstream_url: str, workdir: Path, exe: str | None) -> tuple[Any, str] | None:
    exe = exe or shutil.which("litellm")
    if exe is None:
        return None
    config = {
        "model_list": [
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": upstream_url + "/v1", "api_key": KEY},
            }
        ]
    }
    path = workdir / "litellm.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--config", str(path), "--port", str(port)],
        env={**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": LITELLM_KEY},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(base, proc, "/health/liveliness")
    return proc, base


@dataclass
class Row:
    name: str
    concurrency: int
    rps: float
    p50: float
    p95: float
    cpu_ms: float | None


async def _load(url: str, model: str, key: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    """``n`` requests over ``concurrency`` keep-alive connections, from a minimal HTTP/1.1 client: the load
    generator shares the machine, so it must cost far less CPU per request than what it measures."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"model": model, "messages": MESSAGES}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\nauthorization: Bearer {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    samples: list[float] = []
    left = n

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(request)
        status = await reader.readuntil(b"\r\n")
        headers = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in status:
            raise SystemExit(f"request failed: {status.decode().strip()}")
        length = int(headers.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)

    async def worker(warmup: int) -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(warmup):
                await one(reader, writer)
            await started.wait()
            while left > 0:
                left -= 1
                t0 = time.perf_counter()
                await one(reader, writer)
                samples.append((time.perf_counter() - t0) * 1000.0)
        finally:
            writer.close()

    started = asyncio.Event()
    tasks = [asyncio.create_task(worker(2)) for _ in range(concurrency)]
    await asyncio.sleep(0.2)  # let every connection warm up
    t_start = time.perf_counter()
    started.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t_start, samples


def _measure(name: str, url: str, model: str, key: str, pid: int | None, n: int, concurrency: int) -> Row:
    cpu0 = _cpu_seconds(pid) if pid else 0.0
    elapsed, samples = asyncio.run(_load(url, model, key, n, concurrency))
    cpu = (_cpu_seconds(pid) - cpu0) / len(samples) * 1000.0 if pid else None
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return Row(name, concurrency, len(samples) / elapsed, q[49], q[94], cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--ledger-mode", default="shared", choices=["shared", "process"])
    parser.add_argument("--no-ledger-off", action="store_true", help="skip the ledger-off rows")
    parser.add_argument("--compare", action="append", default=[], choices=["litellm"])
    parser.add_argument("--litellm-cmd", help="the litellm executable (default: litellm on PATH)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[Row] = []
    notes: list[str] = []
    upstream, upstream_url = _start_upstream()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(upstream.wait, 30)
        stack.callback(upstream.terminate)
        for c in levels:
            rows.append(_measure("upstream direct", upstream_url, "gpt-4o-mini", KEY, upstream.pid, args.requests, c))
        setups = [("podium, ledger on", True)] + ([] if args.no_ledger_off else [("podium, ledger off", False)])
        for label, ledger in setups:
            work = Path(tmp) / label.replace(" ", "_").replace(",", "")
            work.mkdir()
            proc, base = _start_podium(upstream_url, work, ledger=ledger, workers=args.workers, mode=args.ledger_mode)
            name = f"{label} ({args.ledger_mode}, {args.workers}w)" if ledger else f"{label} ({args.workers}w)"
            try:
                for c in levels:
                    rows.append(_measure(name, base, "openai:gpt-4o-mini", CLIENT_KEY, proc.pid, args.requests, c))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        if "litellm" in args.compare:
            started = _start_litellm(upstream_url, Path(tmp), args.litellm_cmd)
            if started is None:
                notes.append("litellm: not installed (pip install 'litellm[proxy]'), row skipped")
            else:
                proc, base = started
                try:
                    for c in levels:
                        rows.append(
                            _measure("litellm proxy", base, "gpt-4o-mini", LITELLM_KEY, proc.pid, args.requests, c)
                        )
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    direct = {r.concurrency: r for r in rows if r.name == "upstream direct"}
    table = Table(title=f"gateway under load: {args.requests} requests per row, fake upstream in its own process")
    for col in ("path", "conc.", "req/s", "p50 ms", "p95 ms", "added p50 ms", "server CPU ms/req"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in rows:
        added = "" if r.name == "upstream direct" else f"{r.p50 - direct[r.concurrency].p50:.2f}"
        cpu = "" if r.cpu_ms is None else f"{r.cpu_ms:.2f}"
        table.add_row(r.name, str(r.concurrency), f"{r.rps:.1f}", f"{r.p50:.2f}", f"{r.p95:.2f}", added, cpu)
    Console(width=150).print(table)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
