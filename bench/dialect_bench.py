"""What each API dialect costs a request: the studio's own /api/generate against Truss /predict, the
OpenAI images API and AUTOMATIC1111's txt2img, on one server, taking turns request by request.

    python -m bench.dialect_bench                        # zero-cost engine: the dialects' own cost
    python -m bench.dialect_bench --model tiny           # the tiny model on this machine's device
    python -m bench.dialect_bench --model stabilityai/sd-turbo   # on a GPU machine

Starts one server on 127.0.0.1 (library off), sends --count sequential requests to each endpoint in
turns (same prompt, seed and size everywhere: 512x512, 1 step, PNG) and prints a Markdown table with
each dialect's p50/p95 and its ratio to /api/generate.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.serve_bench import post, start_server, stop

PROMPT = "anime fox spirit in a lantern-lit shrine"
DIALECTS = {  # endpoint -> body for seed i: the same image asked for four ways
    "/api/generate": lambda i: {"prompt": PROMPT, "seed": i, "steps": 1},
    "/predict": lambda i: {"prompt": PROMPT, "num_steps": 1},
    "/v1/images/generations": lambda i: {"prompt": PROMPT, "seed": i, "size": "512x512", "quality": "low"},
    "/sdapi/v1/txt2img": lambda i: {"prompt": PROMPT, "seed": i, "steps": 1, "cfg_scale": 1, "sampler_name": "Euler"},
}


def measure(base: str, count: int) -> dict[str, dict]:
    """`count` sequential requests per endpoint, taking turns; latency per endpoint, in ms."""
    latencies: dict[str, list[float]] = {path: [] for path in DIALECTS}
    statuses: dict[str, Counter] = {path: Counter() for path in DIALECTS}
    for i in range(count):
        for path, body in DIALECTS.items():
            started = time.perf_counter()
            statuses[path][post(base + path, body(i))] += 1
            latencies[path].append((time.perf_counter() - started) * 1000)
    return {
        path: {
            "p50": statistics.median(values),
            "p95": sorted(values)[int(0.95 * (len(values) - 1))],
            "statuses": dict(statuses[path]),
        }
        for path, values in latencies.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="zero-cost", help="zero-cost (default), tiny, or a model for app.py")
    parser.add_argument("--device", default="auto", help="device for a real model")
    parser.add_argument("--port", type=int, default=5091, help="loopback port for the server")
    parser.add_argument("--count", type=int, default=40, help="requests per endpoint (1-1000)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 1000:
        parser.error(f"--count must be from 1 to 1000, got {args.count}")
    zero = args.model == "zero-cost"
    extra = ["--library", "off"] if zero else ["--model", args.model, "--device", args.device, "--library", "off"]
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(args.port, extra, zero, Path(folder) / "server.log")
        try:
            base = f"http://127.0.0.1:{args.port}"
            measure(base, 3)  # warm-up: first requests pay imports and caches
            results = measure(base, args.count)
        finally:
            stop([server])
    native = results["/api/generate"]["p50"]
    print(f"model {args.model}, {args.count} requests per endpoint, sequential, in turns, 512x512, 1 step, PNG\n")
    print("| endpoint | p50 ms | p95 ms | p50 / native | statuses |")
    print("|---|---|---|---|---|")
    for path, r in results.items():
        print(f"| `{path}` | {r['p50']:.1f} | {r['p95']:.1f} | {r['p50'] / native:.2f} | {r['statuses']} |")
    return 0 if all(set(r["statuses"]) == {200} for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
