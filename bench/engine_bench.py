"""Engine benchmark: stock diffusers versus our engine, in one run, printed as a Markdown table.

    python -m bench.engine_bench --random-full --optimize fast      # GPU: full-size SD-Turbo, random weights
    python -m bench.engine_bench --model stabilityai/sd-turbo         # GPU: the real model
    python -m bench.engine_bench --model tiny --quick                 # CPU smoke run (part of the tests)

Stock = the model card recipe: StableDiffusionPipeline, fp16 on CUDA (fp32 on CPU), default
attention, eager. Each figure is the median of --iters timed calls after warm-up, with CUDA
synchronised. Results are also written to OUT/engine_bench.md and OUT/engine_bench.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import diffusers
import torch

from sdturbo.config import Settings
from sdturbo.device import resolve_device, resolve_dtype
from sdturbo.engine import Engine, GenerationRequest
from sdturbo.loading import load_pipeline, resolve_source

FULL_ROWS = [(512, 1), (512, 2), (512, 4), (768, 2), (1024, 4)]  # the seed README's table
QUICK_ROWS = [(256, 1), (256, 2)]
FULL_BATCHES, QUICK_BATCHES = [1, 2, 4, 8, 16], [1, 2]


class Timer:
    """Median wall time of a callable, synchronising CUDA so GPU work is counted."""

    def __init__(self, device: torch.device, iters: int) -> None:
        self.device, self.iters = device, iters

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def ms(self, fn) -> float:
        fn()  # warm-up for this shape
        times = []
        for _ in range(self.iters):
            self.sync()
            started = time.perf_counter()
            fn()
            self.sync()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    def peak_gib(self, fn) -> float | None:
        if self.device.type != "cuda":
            return None
        torch.cuda.reset_peak_memory_stats(self.device)
        fn()
        return torch.cuda.max_memory_allocated(self.device) / 2**30


def stock_call(pipe, batch: int, side: int, steps: int):
    prompts = [f"anime fox spirit, lantern-lit alley {i}" for i in range(batch)]

    def call():
        generators = [torch.Generator("cpu").manual_seed(i) for i in range(batch)]
        return pipe(
            prompts, num_inference_steps=steps, guidance_scale=0.0, width=side, height=side, generator=generators
        ).images

    return call


def ours_call(engine: Engine, batch: int, side: int, steps: int):
    requests = [
        GenerationRequest(f"anime fox spirit, lantern-lit alley {i}", i, steps, side, side) for i in range(batch)
    ]
    return lambda: engine.generate(requests)


def split(pipe, timer: Timer, side: int) -> dict[str, float]:
    """Milliseconds per stage for one 1-step image: text encoder, UNet+scheduler, VAE decode, to-PIL."""
    device = pipe._execution_device
    stages: dict[str, float] = {}
    with torch.inference_mode():
        embeds = pipe.encode_prompt(["anime fox"], device, 1, False)[0]
        stages["text_encoder"] = timer.ms(lambda: pipe.encode_prompt(["anime fox"], device, 1, False))

        def unet():
            return pipe(
                prompt_embeds=embeds,
                num_inference_steps=1,
                guidance_scale=0.0,
                width=side,
                height=side,
                generator=[torch.Generator("cpu").manual_seed(0)],
                output_type="latent",
            ).images

        latents = unet()
        stages["unet"] = timer.ms(unet)
        vae = pipe.vae
        decoded = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        stages["vae_decode"] = timer.ms(lambda: vae.decode(latents / vae.config.scaling_factor, return_dict=False))
        stages["to_pil"] = timer.ms(lambda: pipe.image_processor.postprocess(decoded, output_type="pil"))
    return {k: round(v, 2) for k, v in stages.items()}


def measure(name: str, make_call, pipe, timer: Timer, rows, batches) -> dict:
    """The table rows, the batch sweep and the stage split for one implementation."""
    table = []
    for side, steps in rows:
        call = make_call(1, side, steps)
        table.append(
            {
                "size": side,
                "steps": steps,
                "ms_per_image": round(timer.ms(call), 2),
                "peak_vram_gib": timer.peak_gib(call),
            }
        )
    side = rows[0][0]
    sweep = []
    for batch in batches:
        ms = timer.ms(make_call(batch, side, 1))
        sweep.append({"batch": batch, "ms_per_batch": round(ms, 2), "images_per_s": round(batch * 1000 / ms, 2)})
    return {"name": name, "rows": table, "sweep": sweep, "split": split(pipe, timer, side)}


def measure_stock(settings: Settings, device: torch.device, timer: Timer, rows, batches) -> tuple[dict, dict]:
    """Stock diffusers, loaded as the model card says; it is freed when this returns."""
    started = time.perf_counter()
    pipe = load_pipeline(resolve_source(settings.model, settings.cache_dir), resolve_dtype("auto", device)).to(device)
    pipe.set_progress_bar_config(disable=True)
    load = {"stock_s": round(time.perf_counter() - started, 2)}
    return measure("stock", lambda b, s, n: stock_call(pipe, b, s, n), pipe, timer, rows, batches), load


def environment(device: torch.device, args: argparse.Namespace) -> dict:
    cpu = f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "device": gpu,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "command": "python -m bench.engine_bench " + " ".join(args.argv),
        "model": args.model,
        "optimize": args.optimize,
        "compile_mode": args.compile_mode,
        "dtype": args.dtype,
        "attention": args.attention,
    }


def markdown(env: dict, stock: dict, ours: dict, load: dict) -> str:
    lines = [
        f"# Engine benchmark, {env['date']}",
        "",
        f"Device: {env['device']} · torch {env['torch']} · diffusers {env['diffusers']} · model {env['model']}",
        f"Command: `{env['command']}` · our optimizations: `{env['optimize'] or 'none'}`",
        "",
        "| size | steps | stock ms/image | ours ms/image | speed-up | stock peak GiB | ours peak GiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, o in zip(stock["rows"], ours["rows"], strict=True):
        lines.append(
            f"| {s['size']}² | {s['steps']} | {s['ms_per_image']} | {o['ms_per_image']} | "
            f"{s['ms_per_image'] / o['ms_per_image']:.2f}× | {s['peak_vram_gib'] or 'n/a'} | "
            f"{o['peak_vram_gib'] or 'n/a'} |"
        )
    lines += [
        "",
        f"Batch sweep at {ours['rows'][0]['size']}², 1 step:",
        "",
        "| batch | stock ms/batch | stock images/s | ours ms/batch | ours images/s | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for s, o in zip(stock["sweep"], ours["sweep"], strict=True):
        lines.append(
            f"| {s['batch']} | {s['ms_per_batch']} | {s['images_per_s']} | {o['ms_per_batch']} | "
            f"{o['images_per_s']} | {s['ms_per_batch'] / o['ms_per_batch']:.2f}× |"
        )
    lines += ["", "Stage split, 1 image, 1 step (ms):", "", "| stage | stock | ours |", "|---|---|---|"]
    lines += [f"| {k} | {stock['split'][k]} | {ours['split'][k]} |" for k in stock["split"]]
    lines += [
        "",
        f"Load: stock {load['stock_s']} s; ours {load['ours_s']} s, of which warm-up/compile "
        f"{load['ours_warmup_s']} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="stabilityai/sd-turbo", help="hub id, folder, 'tiny' or 'random-full'")
    parser.add_argument("--random-full", action="store_true", help="full-size architecture, random weights")
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N, mps or cpu")
    parser.add_argument("--optimize", default="fast", help="our engine's optimizations (default: fast = all)")
    parser.add_argument("--dtype", default="auto", help="our engine's precision: auto, fp16, bf16 or fp32")
    parser.add_argument("--attention", default="auto", help="our engine's attention: auto, sdpa or xformers")
    parser.add_argument("--compile-mode", default="max-autotune", help="torch.compile mode for 'compile'")
    parser.add_argument("--iters", type=int, default=20, help="timed calls per figure (median)")
    parser.add_argument("--quick", action="store_true", help="small sizes and batches, 2 iterations: a smoke run")
    parser.add_argument("--out", type=Path, default=Path("docs/bench"), help="folder for engine_bench.md/.json")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.random_full:
        args.model = "random-full"
    if args.quick:
        args.iters = min(args.iters, 2)
    rows, batches = (QUICK_ROWS, QUICK_BATCHES) if args.quick else (FULL_ROWS, FULL_BATCHES)
    settings = Settings.from_env(
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        attention=args.attention,
        optimize=args.optimize,
        compile_mode=args.compile_mode,
        max_batch_size=max(batches),
    )
    engine = Engine(settings)
    # 1. stock diffusers alone on the device (its peak memory is its own)
    device = resolve_device(settings.device)
    timer = Timer(device, args.iters)
    stock, load = measure_stock(settings, device, timer, rows, batches)
    gc.collect()  # the stock pipeline is unreferenced now: free its memory before ours loads
    if device.type == "cuda":
        torch.cuda.empty_cache()
    # 2. our engine, with its warm-up (and compile) timed
    started = time.perf_counter()
    engine.load()
    warm = time.perf_counter()
    engine.warmup()
    load.update(ours_s=round(time.perf_counter() - started, 2), ours_warmup_s=round(time.perf_counter() - warm, 2))
    ours = measure("ours", lambda b, s, n: ours_call(engine, b, s, n), engine.pipe, timer, rows, batches)
    # 3. report
    env = environment(device, args)
    report = markdown(env, stock, ours, load)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engine_bench.md").write_text(report, encoding="utf-8")
    (args.out / "engine_bench.json").write_text(
        json.dumps({"environment": env, "load": load, "stock": stock, "ours": ours}, indent=2), encoding="utf-8"
    )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
