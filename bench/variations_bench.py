"""Variations benchmark: n images in one request versus n requests one after another, on 127.0.0.1.

    python -m bench.variations_bench --model tiny --device cpu         # CPU smoke run
    python -m bench.variations_bench --model stabilityai/sd-turbo      # on a GPU machine

Starts `app.py` (library off, so only generation is timed) and, taking turns, times `/api/generate`
with n=4 against four n=1 requests, and the same for `/api/img2img`; then, in this process, stock
diffusers' pipelines on the same weights: one call of 4 images against 4 calls of 1. Prints one
Markdown table with the ratios.
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.serve_bench import post, start_server


def timed(fn, rounds: int) -> list[float]:
    fn(0)  # warm
    times = []
    for i in range(1, rounds + 1):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def init_png(side: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((side, side)).convert("RGB").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def served_rows(base: str, n: int, rounds: int, side: int) -> list[tuple[str, list[float], list[float]]]:
    """(name, one request of n, n requests of 1) for text-to-image and image-to-image."""
    text = {"prompt": "anime girl with a red umbrella", "width": side, "height": side, "steps": 1}
    image = {"prompt": "anime girl with a red umbrella", "image": init_png(side), "strength": 0.5, "steps": 2}
    rows = []
    for name, path, body in [("text-to-image", "/api/generate", text), ("image-to-image", "/api/img2img", image)]:
        together, apart = [], []
        for i in range(rounds + 1):  # taking turns: both see the same machine; round 0 warms
            started = time.perf_counter()
            assert post(f"{base}{path}", {**body, "seed": i * 100, "n": n}) == 200
            middle = time.perf_counter()
            for k in range(n):
                assert post(f"{base}{path}", {**body, "seed": i * 100 + k}) == 200
            if i:
                together.append((middle - started) * 1000)
                apart.append((time.perf_counter() - middle) * 1000)
        rows.append((f"server, {name}", together, apart))
    return rows


def stock_rows(model: str, device: str, n: int, rounds: int, side: int) -> list[tuple[str, list[float], list[float]]]:
    """Stock diffusers on the same weights: one call of n images against n calls of one."""
    import torch
    from diffusers import AutoPipelineForImage2Image
    from PIL import Image

    from sdturbo.config import Settings
    from sdturbo.generator import SDTurboGenerator

    engine = SDTurboGenerator(settings=Settings.from_env(model=model, device=device, library="off")).load().engine
    # from_pipe casts the shared modules to its dtype (float32 when none is given): keep the engine's
    text, image = engine.pipe, AutoPipelineForImage2Image.from_pipe(engine.pipe, dtype=engine.dtype)
    init = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    prompt = "anime girl with a red umbrella"

    def call(pipe, count, seed, **extra):
        generators = [torch.Generator("cpu").manual_seed(seed + k) for k in range(count)]
        with torch.inference_mode():
            pipe([prompt] * count, guidance_scale=0.0, generator=generators, **extra)

    t2i = {"num_inference_steps": 1, "width": side, "height": side}
    i2i = {"num_inference_steps": 2, "strength": 0.5}
    rows = []
    for name, pipe, extra in [("text-to-image", text, t2i), ("image-to-image", image, i2i)]:
        extra = {**extra, "image": [init] * n} if pipe is image else extra
        single = {**extra, "image": [init]} if pipe is image else extra
        together = timed(lambda i, p=pipe, e=extra: call(p, n, i, **e), rounds)
        apart = timed(lambda i, p=pipe, e=single: [call(p, 1, i + k, **e) for k in range(n)], rounds)
        rows.append((f"stock diffusers in-process, {name}", together, apart))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.variations_bench", description=__doc__)
    parser.add_argument("--model", default="tiny", help="model (default tiny)")
    parser.add_argument("--device", default="auto", help="device (default auto)")
    parser.add_argument("--n", type=int, default=4, help="variations per request (default 4)")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds (default 10)")
    parser.add_argument("--size", type=int, default=512, help="image side (default 512)")
    parser.add_argument("--port", type=int, default=5091, help="loopback port (default 5091)")
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="variations-bench-"))
    flags = ["--model", args.model, "--device", args.device, "--library", "off", "--max-batch", str(max(8, args.n))]
    server = start_server(args.port, flags, zero_cost=False, log_path=logs / "server.log")
    try:
        rows = served_rows(f"http://127.0.0.1:{args.port}", args.n, args.rounds, args.size)
    finally:
        server.terminate()
        server.wait(30)
    rows += stock_rows(args.model, args.device, args.n, args.rounds, args.size)
    print(
        f"# variations: model {args.model}, device {args.device}, n {args.n}, {args.size}x{args.size}, "
        f"{args.rounds} rounds, {time.strftime('%Y-%m-%d')}\n"
    )
    print(f"| run | 1 request of {args.n}, p50 ms | {args.n} requests of 1, p50 ms | speed-up |")
    print("|---|---|---|---|")
    for name, together, apart in rows:
        a, b = statistics.median(together), statistics.median(apart)
        print(f"| {name} | {a:.1f} | {b:.1f} | {b / a:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
