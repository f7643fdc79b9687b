"""Latency per reply of `gastown serve`, as an agent harness sees it (the official openai client).

    GASTOWN_DATA_DIR=.gastown python benchmarks/bench_serve.py [--role polecat] [--requests 40]
        [--max-tokens 96] [--port 8011]

Starts `python -m gastown_assets serve` on 127.0.0.1 for the data dir's fleet manifest (make demo
writes it), then asks it, one request at a time, to continue held-out decision contexts of the
role (the last messages before each trained tool call of `datasets/<role>/val.jsonl`, a stable
sample as eval_report's replay draws it), once with the role's adapter and once with `base`.
Prints wall time per reply (client side: HTTP, rendering, generation) at p50 and p95, the
share of replies that came back as a parsed tool call, and completion tokens per reply.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gastown_assets.datasets.checks import read_rows  # noqa: E402
from gastown_assets.evaluation.replay import _percentile, decision_points, sample  # noqa: E402
from gastown_assets.settings import Settings  # noqa: E402


def start(port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gastown_assets", "serve", "--port", str(port), "--watch-s", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout_s: float = 900) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gastown serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    sys.exit(f"gastown serve not ready after {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="polecat")
    parser.add_argument("--requests", type=int, default=40, help="decision contexts, each asked of both models")
    parser.add_argument("--max-tokens", type=int, default=96, help="as eval.max_new_tokens")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()

    from openai import OpenAI

    settings = Settings.from_env()
    val = settings.store.stage(settings.store.uri(f"datasets/{args.role}/val.jsonl"))
    points = sample(decision_points(read_rows(val)), args.requests)
    port = args.port or _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_serve_{port}.log"
    started = time.perf_counter()
    proc = start(port, log)
    try:
        wait_ready(proc, url, log)
        print(
            f"server ready in {time.perf_counter() - started:.1f} s; {len(points)} held-out {args.role} "
            f"decision contexts, max_tokens {args.max_tokens}, load average {os.getloadavg()[0]:.1f}"
        )
        client = OpenAI(base_url=url, api_key="not-checked", timeout=900, max_retries=0)
        served = [m.id for m in client.models.list().data]
        if args.role not in served:
            sys.exit(f"{args.role} is not served ({', '.join(served)}): no promoted adapter in the manifest")
        rows = {}
        for model in (args.role, "base"):
            times, tokens, calls = [], [], 0
            for p in points:
                t = time.perf_counter()
                r = client.chat.completions.create(model=model, messages=p.context, max_tokens=args.max_tokens)
                times.append(time.perf_counter() - t)
                tokens.append(r.usage.completion_tokens)
                calls += bool(r.choices[0].message.tool_calls)
            times.sort()
            rows[model] = (
                statistics.median(times),
                _percentile(times, 0.95),
                calls / len(points),
                statistics.median(tokens),
                r.system_fingerprint,
            )
        print(f"{'model':<10} {'p50 s':>7} {'p95 s':>7} {'tool calls':>10} {'tokens p50':>10}  version")
        for model, (p50, p95, share, tok, version) in rows.items():
            print(f"{model:<10} {p50:>7.2f} {p95:>7.2f} {share:>10.0%} {tok:>10.0f}  {version}")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        print(json.dumps({m: {"p50_s": round(v[0], 3), "p95_s": round(v[1], 3)} for m, v in rows.items()}))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
