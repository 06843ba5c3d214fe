"""Ray Serve against the single-process studio (issue 16): throughput at 16 clients, latency at 1 client.

    python -m bench.cluster_bench                                  # tiny model, CPU: in-process, 1 and 2 replicas
    python -m bench.cluster_bench --model stabilityai/sd-turbo --replicas 1,2,4,8 --size 512   # a multi-GPU host

Each configuration is a fresh server on 127.0.0.1 with the same web app: `app.py` (the engine in the
server's process) and `python -m sdturbo.cluster --replicas N` (the engine in N Serve replicas, one
per GPU where there are GPUs). After a warm-up it sends --single requests from one client one after
another (the latency Serve adds over the in-process path), then --clients concurrent clients of
--per-client requests each (throughput). Prints one Markdown table; ratios are against in-process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from bench.serve_bench import load, start_server, stop

ENV = {"SDTURBO_VALIDATOR_MODEL": "none", "SDTURBO_LIBRARY": "off", "RAY_USAGE_STATS_ENABLED": "0"}


def measure(name: str, target: list[str] | None, extra: list[str], args, port: int, logs: Path) -> dict:
    """Start one configuration, warm it up, run the single-client and the concurrent load, stop it."""
    with mock.patch.dict(os.environ, ENV):
        server = start_server(port, extra, False, logs / f"{name}.log", target=target)
    try:
        base = f"http://127.0.0.1:{port}"

        def prompt(client: int, i: int) -> str:
            return f"anime fox {client} {i}"

        load(base, args.clients, 1, prompt)  # warm-up: every replica has run a batch
        single = load(base, 1, args.single, prompt)
        many = load(base, args.clients, args.per_client, prompt)
        return {"name": name, "single": single, "many": many}
    finally:
        stop([server])
        time.sleep(2)  # the port and Ray's processes are freed


def table(rows: list[dict], args) -> str:
    base = rows[0]
    lines = [
        f"| configuration | 1 client p50 ms | vs in-process | {args.clients} clients images/s | vs in-process "
        f"| {args.clients} clients p95 ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        single, many = row["single"], row["many"]
        lines.append(
            f"| {row['name']} | {single['p50_ms']:.1f} | {single['p50_ms'] - base['single']['p50_ms']:+.1f} ms "
            f"| {many['images_per_s']:.1f} | {many['images_per_s'] / base['many']['images_per_s']:.2f}x "
            f"| {many['p95_ms']:.0f} | {many['statuses']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--replicas", default="1,2", help="comma list of replica counts to measure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=8)
    parser.add_argument("--single", type=int, default=30, help="requests of the one-client latency run")
    parser.add_argument("--port", type=int, default=5190)
    parser.add_argument("--cpus-per-replica", default="1", help="CPUs (and so torch threads) of each replica")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.replicas.split(",")]
    except ValueError:
        parser.error(f"--replicas: a comma list of whole numbers, got {args.replicas!r}")
    if not all(1 <= n <= 64 for n in counts) or not 1 <= args.clients <= 256:
        parser.error("--replicas: each from 1 to 64; --clients: from 1 to 256")
    logs = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    common = ["--model", args.model, "--device", args.device]
    rows = [measure("in-process (app.py)", None, common, args, args.port, logs)]
    for n in counts:
        target = ["-m", "sdturbo.cluster", "--replicas", str(n), "--cpus-per-replica", args.cpus_per_replica]
        rows.append(measure(f"Ray Serve, {n} replica{'s' * (n > 1)}", target, common, args, args.port + n, logs))
    when = time.strftime("%Y-%m-%d %H:%M")
    print(f"model {args.model}, {os.cpu_count()} CPUs, {args.cpus_per_replica} per replica, {when}, logs in {logs}\n")
    print(table(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
