"""Bounded load test on 127.0.0.1 (issue 15, "Proof"): overload, slow headers and hang-ups, per server.

    python -m bench.load_test                                  # both servers, tiny model, CPU
    python -m bench.load_test --server dev --clients 20 --slow 4 --hangups 10
    python -m bench.load_test --out docs/bench/cpu-load        # also writes <server>-<date>.md there

Starts the dev server (`app.py`) and/or gunicorn (`gunicorn -c gunicorn.conf.py "app:create_app()"`) on
the tiny model, keyword-only validation, library off, then runs three scenarios while a probe GETs
/healthz every 10 ms (so that its p99 is a percentile, not the slowest of a few dozen probes):
1. clients: --clients threads each POST /api/generate --per-client times, one after another, no pause
   (a rejected client asks again at once: the harshest polite-less load). Each client sends from its
   own loopback address (127.0.0.2, 127.0.0.3, ...) because the server's quota of waiting images is
   per address: from one address most requests would be 429s and the queue would never fill.
2. slow headers: --slow sockets send a request line, then one header byte per second for --slow-s.
3. hang-ups: --hangups raw POSTs, each closed unread within 0.4 s; then one normal POST is timed.
Prints one Markdown table and the targets per server; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import math
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from unittest import mock

from bench.serve_bench import ROOT, get, start_server, stop
from sdturbo.config import Settings

BODY = {"prompt": "anime fox spirit", "width": 256, "height": 256}
SERVER_ENV = {"SDTURBO_VALIDATOR_MODEL": "none", "SDTURBO_LIBRARY": "off", "SDTURBO_DEVICE": "cpu"}
HEALTHZ_P99_MS = 100.0
NORMAL_AFTER_HANGUPS_S = 5.0


def source(index: int) -> str:
    """The loopback address client `index` sends from: 127.0.0.2 upwards (wrapping after 250)."""
    return f"127.0.0.{2 + index % 250}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of `values`; NaN when empty."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def send(port: int, src: str, bound_s: float) -> tuple[int | str, float, str | None]:
    """One POST /api/generate from `src`: (status, or "hung" / "error"; seconds; its Retry-After header)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=bound_s, source_address=(src, 0))
    try:
        connection.request("POST", "/api/generate", json.dumps(BODY), {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started, response.getheader("Retry-After")
    except TimeoutError:  # no answer within the bound: what a user would call hung
        return "hung", time.perf_counter() - started, None
    except (OSError, http.client.HTTPException):  # refused, reset, or closed without an answer
        return "error", time.perf_counter() - started, None
    finally:
        connection.close()


@dataclasses.dataclass
class Tally:
    """Outcomes of the clients' requests, added from many threads."""

    outcomes: Counter = dataclasses.field(default_factory=Counter)
    seconds: list[float] = dataclasses.field(default_factory=list)
    without_retry_after: int = 0  # 503 and 504 answers lacking the header
    wall_s: float = 0.0  # from the first request sent to the last answer
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add(self, outcome: int | str, seconds: float, retry_after: str | None) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            self.seconds.append(seconds)
            self.without_retry_after += outcome in (503, 504) and retry_after is None

    def count(self, test) -> int:
        return sum(n for outcome, n in self.outcomes.items() if isinstance(outcome, int) and test(outcome))

    def columns(self) -> list[int]:
        """sent, 200, 4xx, 503, 504, other 5xx, hung, connection errors."""
        other_5xx = self.count(lambda s: s >= 500 and s not in (503, 504))
        fours = self.count(lambda s: 400 <= s < 500)
        sent, o = sum(self.outcomes.values()), self.outcomes
        return [sent, o[200], fours, o[503], o[504], other_5xx, o["hung"], o["error"]]


class Probe:
    """GETs /healthz every `every_s` while in a `with` block: latencies and failures.

    The probe runs in its own process: on the load test's 200 client threads' interpreter its own GIL waits
    would be counted as the server's latency (measured: a 240 ms probe there while the server answered in 6).
    """

    def __init__(self, port: int, every_s: float = 0.01):
        self.url, self.every_s = f"http://127.0.0.1:{port}/healthz", every_s
        self.ms: list[float] = []
        self.slow_at: list[float] = []  # seconds from the start at which a probe took over HEALTHZ_P99_MS
        self.failures = 0  # no answer in 10 s, a refused connection, or a status other than 200
        context = multiprocessing.get_context("spawn")
        self._stop, (self._results, sender) = context.Event(), context.Pipe(duplex=False)
        self._process = context.Process(target=_probe, args=(self.url, self.every_s, self._stop, sender), daemon=True)

    def __enter__(self) -> Probe:
        self._process.start()
        self._results.recv()  # "ready": the scenario starts only once the probe is probing
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.ms, self.slow_at, self.failures = self._results.recv()
        self._process.join()

    def summary(self) -> str:
        ms, at = self.ms, self.slow_at
        figures = f"{percentile(ms, 0.5):.1f} / {percentile(ms, 0.99):.1f} / {max(ms, default=math.nan):.1f} ms"
        slow = f", {len(at)} over {HEALTHZ_P99_MS:.0f} ms from +{at[0]:.1f} s to +{at[-1]:.1f} s" if at else ""
        return f"{figures} ({len(ms)} probes, {self.failures} failed{slow})"


def _probe(url: str, every_s: float, stop, results) -> None:
    """The probe process: GET `url` every `every_s` until `stop`, then send (ms, slow_at, failures)."""
    ms, slow_at, failures, begun = [], [], 0, time.perf_counter()
    results.send("ready")
    while not stop.wait(every_s):
        started = time.perf_counter()
        try:
            ok = get(url)[0] == 200
        except (OSError, ValueError):
            ok = False
        ms.append((time.perf_counter() - started) * 1000)
        failures += not ok
        if ms[-1] > HEALTHZ_P99_MS:
            slow_at.append(started - begun)
    results.send((ms, slow_at, failures))


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of process `pid` and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total_kb, pending = 0, [pid]
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        try:
            lines = Path(f"/proc/{current}/status").read_text().splitlines()
        except OSError:
            continue
        total_kb += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
    return total_kb / 1024


def clients(port: int, count: int, per_client: int, bound_s: float, duration_s: float) -> Tally:
    """`count` threads, each sending up to `per_client` requests one after another until `duration_s`."""
    tally, deadline = Tally(), time.monotonic() + duration_s

    def client(index: int) -> None:
        for _ in range(per_client):
            if time.monotonic() >= deadline:
                return
            tally.add(*send(port, source(index), bound_s))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.wall_s = time.perf_counter() - started
    return tally


@dataclasses.dataclass
class UserResult:
    """What one normal user saw: the first answer, and the last one after retrying on each Retry-After."""

    first: int | str
    first_s: float
    final: int | str
    final_s: float  # from the first request sent to the last answer
    attempts: int

    def __str__(self) -> str:
        served = f"{self.final} in {self.final_s:.2f} s"
        return served if self.attempts == 1 else f"{served} ({self.attempts} attempts; first {self.first})"


def normal_user(port: int, bound_s: float) -> UserResult:
    """A user at 127.0.0.1 POSTs /api/generate, and again after each Retry-After (as the page tells its user to),
    until an answer without one or `bound_s` seconds."""
    started, answers = time.perf_counter(), []
    while True:
        status, seconds, retry_after = send(port, "127.0.0.1", bound_s)
        answers.append((status, seconds))
        elapsed = time.perf_counter() - started
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        if wait is None or elapsed + wait > bound_s:
            return UserResult(*answers[0], status, elapsed, len(answers))
        time.sleep(wait)


def slow_headers(port: int, count: int, seconds: int, bound_s: float) -> dict:
    """`count` sockets trickle one header byte per second for `seconds`; a probe and one normal request
    run meanwhile. How many sockets the server dropped, and when the normal request was answered."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    for sock in sockets:
        sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    normal: list = []
    user = threading.Thread(target=lambda: normal.append(normal_user(port, bound_s)))
    dropped: set[int] = set()
    with Probe(port) as probe:
        for second in range(seconds):
            time.sleep(1)
            if second == 1:  # every slow socket is open and has sent bytes: now a normal user comes
                user.start()
            for index, sock in enumerate(sockets):
                try:
                    sock.sendall(b"a")
                except OSError:
                    dropped.add(index)
        user.join(bound_s)
    for sock in sockets:
        sock.close()
    unanswered = UserResult("hung", math.nan, "hung", math.nan, 1)
    return {"probe": probe, "dropped": len(dropped), "normal": normal[0] if normal else unanswered}


def hang_ups(port: int, count: int, bound_s: float) -> dict:
    """`count` POSTs on raw sockets, each closed unread 0.05-0.4 s after it was sent; then one normal POST."""
    payload = json.dumps(BODY).encode()
    head = "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    request = (head + f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    rng, opened = random.Random(15), []
    for index in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source(index), 0))
        sock.sendall(request)
        opened.append((time.monotonic() + rng.uniform(0.05, 0.4), sock))
    for close_at, sock in sorted(opened, key=lambda pair: pair[0]):
        time.sleep(max(0.0, close_at - time.monotonic()))
        sock.close()
    return {"normal": normal_user(port, bound_s)}


def settled_images(port: int, timeout_s: float = 60.0) -> int:
    """Images the server has generated (/healthz batch_sizes), once its queue is empty and the count still."""
    deadline, last = time.monotonic() + timeout_s, -1
    while True:
        health = get(f"http://127.0.0.1:{port}/healthz")[1]
        images = sum(int(size) * n for size, n in health.get("batch_sizes", {}).items())
        if (images == last and not health.get("queue_depth")) or time.monotonic() > deadline:
            return images
        last = images
        time.sleep(0.5)


def start_gunicorn(port: int, model: str, log_path: Path, timeout_s: float = 600.0) -> subprocess.Popen:
    """`gunicorn -c gunicorn.conf.py "app:create_app()"` on 127.0.0.1:port (as tests/net.py), healthy."""
    variables = {**SERVER_ENV, "SDTURBO_MODEL": model, "SDTURBO_HOST": "127.0.0.1", "SDTURBO_PORT": str(port)}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT,
            env={**os.environ, **variables},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return process
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"gunicorn did not become healthy (exit {process.poll()}); see {log_path}")


def start(server: str, port: int, model: str, logs: Path) -> subprocess.Popen:
    """The named server on 127.0.0.1:port, healthy; the dev server through serve_bench.start_server."""
    if server == "gunicorn":
        return start_gunicorn(port, model, logs / "gunicorn.log")
    flags = ["--model", model, "--device", "cpu", "--library", "off"]
    with mock.patch.dict(os.environ, SERVER_ENV):  # the child inherits: keyword-only validation, as gunicorn
        return start_server(port, flags, False, logs / "dev.log")


def run_server(server: str, port: int, args: argparse.Namespace, logs: Path) -> tuple[str, list[str]]:
    """All three scenarios against one server: its Markdown report and the targets it missed."""
    process = start(server, port, args.model, logs)
    started = time.perf_counter()
    try:
        send(port, "127.0.0.1", args.hang_s)  # a warm request first: "before" is a served server, not a cold one
        rss_before = rss_mb(process.pid)
        with Probe(port) as probe:
            tally = clients(port, args.clients, args.per_client, args.hang_s, args.duration_s)
        rss_clients = rss_mb(process.pid)
        slow = slow_headers(port, args.slow, args.slow_s, args.hang_s)
        images = settled_images(port)  # the hang-ups start on an idle server
        hung_up = hang_ups(port, args.hangups, args.hang_s)
        hung_up["ran"] = settled_images(port) - images - (hung_up["normal"].final == 200)
        figures = {"tally": tally, "probe": probe, "slow": slow, "hung_up": hung_up}
        figures["rss"] = (rss_before, rss_clients, rss_mb(process.pid))
    finally:
        try:
            stop([process])
        except subprocess.TimeoutExpired:
            process.kill()
    return report(server, args, figures, time.perf_counter() - started)


def targets(args: argparse.Namespace, f: dict) -> list[tuple[str, bool]]:
    """Each target of issue 15 with whether it was met."""
    tally, probe, slow, normal = f["tally"], f["probe"], f["slow"], f["hung_up"]["normal"]
    bad = tally.columns()[5:]  # other 5xx, hung, connection errors
    shed, room = tally.outcomes[503], Settings().queue_size + Settings().max_batch_size  # the servers' defaults
    overload = args.clients > room  # more clients than waiting + running places: some must be answered 503
    return [
        (
            f"{args.clients} clients: 503s ({shed}; {'some expected' if overload else 'none needed'}: "
            f"{room} places), every 503/504 with Retry-After ({tally.without_retry_after} without)",
            (shed > 0 or not overload) and tally.without_retry_after == 0,
        ),
        (f"{args.clients} clients: {bad[0]} other 5xx, {bad[1]} hung, {bad[2]} conn errors (all 0)", not any(bad)),
        (
            f"{args.clients} clients: /healthz p99 {percentile(probe.ms, 0.99):.1f} ms (≤ {HEALTHZ_P99_MS:.0f}), "
            f"{probe.failures} probes failed (0)",
            percentile(probe.ms, 0.99) <= HEALTHZ_P99_MS and not probe.failures,
        ),
        (
            f"{args.slow} slow-header connections: /healthz answered {len(slow['probe'].ms) - slow['probe'].failures}"
            f" of {len(slow['probe'].ms)} probes (all)",
            bool(slow["probe"].ms) and not slow["probe"].failures,
        ),
        (
            f"{args.hangups} hang-ups: a normal user got {normal} (200 in ≤ {NORMAL_AFTER_HANGUPS_S:.0f} s, "
            "retrying after Retry-After)",
            normal.final == 200 and normal.final_s <= NORMAL_AFTER_HANGUPS_S,
        ),
    ]


def report(server: str, args: argparse.Namespace, f: dict, wall_s: float) -> tuple[str, list[str]]:
    """The Markdown section of one server and the descriptions of the targets it missed."""
    tally, slow, hung_up, rss = f["tally"], f["slow"], f["hung_up"], f["rss"]
    counts, ms = " / ".join(map(str, tally.columns())), [s * 1000 for s in tally.seconds]
    rows = [
        ("clients", "sent / 200 / 4xx / 503 / 504 / other 5xx / hung / conn errors", counts),
        ("clients", "all outcomes", str(dict(tally.outcomes))),
        ("clients", "503 + 504 without Retry-After", str(tally.without_retry_after)),
        ("clients", "request p50 / p99 ms", f"{percentile(ms, 0.5):.0f} / {percentile(ms, 0.99):.0f}"),
        ("clients", "scenario wall time", f"{tally.wall_s:.1f} s"),
        ("clients", "/healthz p50 / p99 / max", f["probe"].summary()),
        ("clients", "server RSS before → after clients → after all, MB", " → ".join(f"{m:.0f}" for m in rss)),
        ("slow headers", "/healthz p50 / p99 / max", slow["probe"].summary()),
        ("slow headers", "slow sockets dropped by the server", f"{slow['dropped']} of {args.slow}"),
        ("slow headers", "a normal user's generate meanwhile", str(slow["normal"])),
        ("hang-ups", "a normal user's generate right after", str(hung_up["normal"])),
        ("hang-ups", "images still generated for hung-up requests", f"{hung_up['ran']} of {args.hangups}"),
    ]
    judged = targets(args, f)
    lines = [
        f"## {server}: model {args.model}, cpu, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"{args.clients} clients × {args.per_client}, {args.slow} slow sockets × {args.slow_s} s, "
        f"{args.hangups} hang-ups; {wall_s:.0f} s",
        "",
        "| scenario | measure | value |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        "Targets:",
        *(f"- {text}: {'met' if ok else 'NOT met'}" for text, ok in judged),
    ]
    return "\n".join(lines) + "\n", [f"{server}: {text}" for text, ok in judged if not ok]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["dev", "gunicorn", "both"], default="both", help="which server(s)")
    parser.add_argument("--model", default="tiny", help="model the server loads (default tiny)")
    parser.add_argument("--port", type=int, default=5177, help="loopback port (gunicorn uses the next one)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients, each from its own address")
    parser.add_argument("--per-client", type=int, default=3, help="requests each client sends, one after another")
    parser.add_argument("--duration-s", type=float, default=90.0, help="clients start no request after this")
    parser.add_argument("--hang-s", type=float, default=60.0, help="a request unanswered this long counts as hung")
    parser.add_argument("--slow", type=int, default=64, help="slow-header connections")
    parser.add_argument("--slow-s", type=int, default=10, help="seconds the slow connections trickle bytes")
    parser.add_argument("--hangups", type=int, default=100, help="requests closed unread within 0.4 s")
    parser.add_argument("--logs", type=Path, default=None, help="folder for server logs (default: a temp folder)")
    parser.add_argument("--out", type=Path, default=None, help="also write <server>-<date>.md into this folder")
    args = parser.parse_args(argv)
    for name in ("clients", "per_client", "slow", "hangups", "slow_s"):
        if not 1 <= getattr(args, name) <= 1000:
            parser.error(f"--{name.replace('_', '-')}: must be from 1 to 1000, got {getattr(args, name)}")
    logs = args.logs or Path(tempfile.mkdtemp(prefix="load-test-"))
    logs.mkdir(parents=True, exist_ok=True)
    missed = []
    for offset, server in enumerate(["dev", "gunicorn"] if args.server == "both" else [args.server]):
        text, misses = run_server(server, args.port + offset, args, logs)
        print(text + f"\nserver logs in {logs}\n", flush=True)
        missed += misses
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            command = " ".join(["python -m bench.load_test", *(sys.argv[1:] if argv is None else argv)])
            (args.out / f"{server}-{time.strftime('%Y-%m-%d')}.md").write_text(f"`{command}`\n\n{text}")
    print("All targets met." if not missed else "Targets missed:\n" + "\n".join(f"- {m}" for m in missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
