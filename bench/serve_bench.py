"""Server benchmark: sequential and concurrent load on 127.0.0.1, versus direct generate_batch.

    python -m bench.serve_bench --model tiny                 # CPU smoke run
    python -m bench.serve_bench --model stabilityai/sd-turbo  # on a GPU machine

Starts `app.py` in a subprocess (and a zero-cost-engine server to measure pure server overhead),
sends a bounded number of requests from client threads, and prints one Markdown table. Sequential
runs are made with the image library off and on (a fresh temporary library, never the user's), so
the table shows what keeping every image costs a request: the two servers of a pair run at once
and are asked in turns. Uses four consecutive ports from --port.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def post(url: str, body: dict, timeout: float = 300.0) -> int:
    """POST JSON and read the whole answer; only the status is kept (the load generator shares the
    CPU with the server here, so it does not parse ~1 MB of base64 per image)."""
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as err:
        err.read()
        return err.code


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def start_server(
    port: int,
    extra: list[str],
    zero_cost: bool,
    log_path: Path,
    timeout_s: float = 600.0,
    target: list[str] | None = None,
) -> subprocess.Popen:
    """Launch a server subprocess on 127.0.0.1:port (its output to `log_path`) and wait until /healthz is 200;
    `target`: the command after `python` (default app.py)."""
    target = target or (["-m", "bench.serve_bench", "--serve-zero-cost"] if zero_cost else ["app.py"])
    with log_path.open("wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, *target, "--port", str(port), *extra], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(
                f"server exited with {process.returncode}; last lines of {log_path}:\n" + "\n".join(tail)
            )
        try:
            if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("server did not become healthy in time")


def load(base: str, clients: int, per_client: int, prompt_of) -> dict:
    """`clients` threads each send `per_client` requests one after another; latency and throughput."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()

    def client(index: int) -> None:
        for i in range(per_client):
            body = {"prompt": prompt_of(index, i), "seed": index * 1000 + i}
            started = time.perf_counter()
            status = post(f"{base}/api/generate", body)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1

    before = get(f"{base}/healthz")[1].get("batch_sizes", {})
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    after = get(f"{base}/healthz")[1].get("batch_sizes", {})
    batches = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}
    return summary(latencies, statuses, wall, batches)


def alternating(bases: dict[str, str], count: int, prompt_of) -> dict[str, dict]:
    """`count` sequential requests to each server, taking turns request by request; latency per server."""
    latencies: dict[str, list[float]] = {name: [] for name in bases}
    statuses: dict[str, Counter] = {name: Counter() for name in bases}
    for i in range(count):
        for name, base in bases.items():
            started = time.perf_counter()
            statuses[name][post(f"{base}/api/generate", {"prompt": prompt_of(0, i), "seed": i})] += 1
            latencies[name].append((time.perf_counter() - started) * 1000)
    return {name: summary(latencies[name], statuses[name], sum(latencies[name]) / 1000, {"1": count}) for name in bases}


def summary(latencies: list[float], statuses: Counter, wall_s: float, batches: dict) -> dict:
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "statuses": dict(statuses),
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "images_per_s": statuses[200] / wall_s,
        "batch_sizes": batches,
    }


def stop(servers) -> None:
    for server in list(servers):
        server.terminate()
        server.wait(30)


def direct_throughput(generator, batch: int, iterations: int) -> float:
    """Images/s of `generate_batch` called directly, batches of `batch`, after one warm-up call."""
    prompts = [f"anime fox number {i}" for i in range(batch)]
    generator.generate_batch(prompts, seed=0)
    started = time.perf_counter()
    for i in range(iterations):
        generator.generate_batch(prompts, seed=i)
    return batch * iterations / (time.perf_counter() - started)


def serve_zero_cost(port: int, library: str) -> None:
    """A server whose engine returns a ready image at once: what is left is the server's own cost."""
    from PIL import Image

    from sdturbo.config import Settings
    from sdturbo.schema import GenerationResult
    from sdturbo.web import create_app

    gradient = Image.linear_gradient("L").resize((512, 512)).convert("RGB")  # smooth, like real pictures

    class ZeroCostEngine:
        loaded = True

        def load(self): ...

        def warmup(self):
            return 0.0

        def info(self):
            return {"model": "zero-cost", "label": "zero-cost", "device": "none", "dtype": "none"}

        def generate(self, requests):
            return [
                GenerationResult(
                    gradient, r.prompt, r.seed, r.steps, r.width, r.height, "zero-cost", 0.0, len(requests)
                )
                for r in requests
            ]

    app = create_app(Settings.from_env(port=port, library=library), engine=ZeroCostEngine(), background=False)
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


def row(name: str, r: dict) -> str:
    hist = ", ".join(f"{k}×{v}" for k, v in sorted(r["batch_sizes"].items(), key=lambda kv: int(kv[0])))
    return (
        f"| {name} | {r['requests']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['images_per_s']:.2f} | "
        f"{hist} | {r['statuses']} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="model for the real server (default tiny)")
    parser.add_argument("--device", default="auto", help="device for the server and the direct run")
    parser.add_argument("--port", type=int, default=5077, help="first of four loopback ports to use")
    parser.add_argument("--sequential", type=int, default=30, help="requests sent one after another")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--per-client", type=int, default=4, help="requests per concurrent client")
    parser.add_argument("--max-batch", type=int, default=8, help="server batch size")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="server batching wait")
    parser.add_argument("--optimize", default="", help="speed-ups for the server and the direct run (as app.py)")
    parser.add_argument(
        "--logs", type=Path, default=None, help="folder for the servers' output (default: a temp folder)"
    )
    parser.add_argument("--serve-zero-cost", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--library", default="off", help=argparse.SUPPRESS)  # the zero-cost server's
    args = parser.parse_args(argv)
    if args.serve_zero_cost:
        serve_zero_cost(args.port, args.library)
        return 0
    anime = lambda c, i: f"anime girl {c} with a red umbrella, take {i}"  # noqa: E731  decided by keywords
    neutral = lambda c, i: f"a lighthouse number {c}-{i} on a cliff in a storm"  # noqa: E731  needs embeddings
    logs = args.logs or Path(tempfile.mkdtemp(prefix="serve-bench-"))
    logs.mkdir(parents=True, exist_ok=True)
    rows = []
    # the library's cost: two servers, library off and on, started together and asked in turns, so
    # both see the same machine (separate runs on two cores differ by more than the cost measured)
    zero = {
        "off": start_server(args.port + 2, ["--library", "off"], True, logs / "zero-cost-server-off.log"),
        "on": start_server(
            args.port + 1, ["--library", str(logs / "library-zero-cost")], True, logs / "zero-cost-server.log"
        ),
    }
    try:
        bases = {"off": f"http://127.0.0.1:{args.port + 2}", "on": f"http://127.0.0.1:{args.port + 1}"}
        for name, run in alternating(bases, args.sequential, anime).items():
            rows.append(row(f"zero-cost engine, sequential, anime prompts, library {name}", run))
        neutral_run = load(bases["on"], 1, args.sequential, neutral)
        rows.append(row("zero-cost engine, sequential, neutral prompts, library on", neutral_run))
    finally:
        stop(zero.values())
    server_flags = [
        "--model",
        args.model,
        "--device",
        args.device,
        "--max-batch",
        str(args.max_batch),
        "--max-wait-ms",
        str(args.max_wait_ms),
        "--optimize",
        args.optimize,
    ]
    from sdturbo.config import Settings
    from sdturbo.generator import SDTurboGenerator

    # direct throughput right before and right after the served runs: a busy machine shifts both alike
    settings = Settings.from_env(
        model=args.model, device=args.device, max_batch_size=args.max_batch, optimize=args.optimize
    )
    direct_engine = SDTurboGenerator(settings=settings).load(True)
    iterations = max(3, args.per_client)
    direct_before = direct_throughput(direct_engine, args.max_batch, iterations)
    real = {
        "off": start_server(args.port + 3, [*server_flags, "--library", "off"], False, logs / "server-off.log"),
        "on": start_server(args.port, [*server_flags, "--library", str(logs / "library")], False, logs / "server.log"),
    }
    try:
        bases = {"off": f"http://127.0.0.1:{args.port + 3}", "on": f"http://127.0.0.1:{args.port}"}
        health = get(f"{bases['on']}/healthz")[1]
        sequential = alternating(bases, args.sequential, anime)
        stop([real.pop("off")])  # the concurrent run has the machine to itself
        concurrent = load(bases["on"], args.clients, args.per_client, anime)
    finally:
        stop(real.values())
    direct_after = direct_throughput(direct_engine, args.max_batch, iterations)
    direct = (direct_before + direct_after) / 2
    rows += [row(f"{args.model}, sequential, library {name}", run) for name, run in sequential.items()]
    rows.append(row(f"{args.model}, {args.clients} concurrent clients, library on", concurrent))
    print(
        f"# server benchmark: model {args.model}, device {args.device}, max_batch {args.max_batch}, "
        f"max_wait_ms {args.max_wait_ms}, optimize {health.get('optimizations') or 'none'}, "
        f"validator {health.get('validator')}, {time.strftime('%Y-%m-%d')}; server logs in {logs}\n"
    )
    print("| run | requests | p50 ms | p95 ms | images/s | batch sizes | HTTP statuses |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        f"\ndirect generate_batch({args.max_batch}): {direct:.2f} images/s "
        f"(before {direct_before:.2f}, after {direct_after:.2f}); "
        f"served/direct with {args.clients} clients: {concurrent['images_per_s'] / direct:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
