"""`python generate_image.py`: prompts in, PNGs with A1111 parameters out."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

from sdturbo import init_image
from sdturbo.cli.args import SEED_RANGE, Parser, add_image_flags, as_float, as_number, checked, run, writing
from sdturbo.config import ATTENTIONS, DEVICES, DTYPES, Optimization, Settings
from sdturbo.domain.rules import default_rules
from sdturbo.errors import InvalidParameterError
from sdturbo.metadata import slug, write_atomically
from sdturbo.params import (
    DEFAULT_IMG2IMG_STEPS,
    DEFAULT_STRENGTH,
    MAX_BATCH,
    MAX_STRENGTH,
    MIN_STRENGTH,
    check_count,
    check_seed,
    check_side,
    random_seed,
)
from sdturbo.schema import GenerationRequest
from sdturbo.studio import OutOfDomain, Studio

SAMPLE_PROMPTS = (
    "A serene mountain landscape at sunset",
    "A futuristic cityscape",
    "A cozy coffee shop interior",
    "A magical forest with glowing mushrooms",
)
# library parameter names -> the flag a CLI user typed
_FLAGS = {
    "steps": "--steps",
    "prompt": "--prompt",
    "max_batch_size": "--batch-size",
    "compile_sizes width": "--width",  # with --optimize compile, the run's size is its compile size
    "compile_sizes height": "--height",
}


def build_parser() -> argparse.ArgumentParser:
    """The CLI's flags, each with help."""
    p = Parser(prog="generate_image.py", description="Generate images with SD-Turbo (1-4 steps, no guidance).")
    p.add_argument(
        "--prompt", action="append", help="prompt to render; repeat for several (default: four sample prompts)"
    )
    add_image_flags(p, steps=None, steps_default=f"1; {DEFAULT_IMG2IMG_STEPS} with --init-image")
    p.add_argument(
        "--init-image",
        type=Path,
        default=None,
        help="image-to-image: start from this PNG, JPEG or WebP (turned upright, scaled to cover --width x "
        "--height and centre-cropped)",
    )
    p.add_argument(
        "--strength",
        type=as_float,
        default=None,
        help=f"with --init-image: how far from it, {MIN_STRENGTH:g}-{MAX_STRENGTH:g}; steps x strength must be "
        f"at least 1 (default {DEFAULT_STRENGTH:g})",
    )
    p.add_argument(
        "--seed",
        type=as_number,
        default=None,
        help=f"seed of the first image, {SEED_RANGE}; image i uses seed+i (default: random, printed)",
    )
    p.add_argument(
        "--count",
        type=checked(lambda v: check_count(v, "count")),
        default=1,
        help=f"images per prompt, 1-{MAX_BATCH} (default 1)",
    )
    p.add_argument("--out", type=Path, default=Path("outputs"), help="output folder (default outputs/)")
    p.add_argument(
        "--model",
        default=None,
        help="hub id, local diffusers folder, or 'tiny' (random test model, images are noise); "
        "default $SDTURBO_MODEL or stabilityai/sd-turbo",
    )
    p.add_argument("--device", default=None, help=f"one of {DEVICES} (default $SDTURBO_DEVICE or auto)")
    p.add_argument("--dtype", default=None, help=f"one of {', '.join(DTYPES)} (default auto: fp16 on GPU, fp32 on CPU)")
    p.add_argument("--attention", default=None, help=f"one of {', '.join(ATTENTIONS)} (default auto)")
    p.add_argument(
        "--batch-size",
        type=checked(lambda v: check_count(v, "batch-size")),
        default=None,
        help=f"most images per pipeline call, 1-{MAX_BATCH} (default 8)",
    )
    p.add_argument(
        "--optimize",
        default=None,
        help=f"opt-in speed-ups, comma-separated: {', '.join(Optimization.FAST.labels)}, "
        "or fast (all); default $SDTURBO_OPTIMIZE or none",
    )
    p.add_argument(
        "--style",
        default=None,
        help=f"style preset applied to each prompt: {', '.join(default_rules().styles)} "
        "(default $SDTURBO_STYLE or anime)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return 0 on success, 2 on bad input or an out-of-domain prompt, 1 when the model cannot load
    or a file cannot be written."""
    return run(build_parser(), _generate, argv, _FLAGS)


def _generate(args: argparse.Namespace) -> int:
    _quiet_libraries()
    settings = Settings.from_env(
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        attention=args.attention,
        max_batch_size=args.batch_size,
        style=args.style,
        optimize=args.optimize,
    )
    if Optimization.COMPILE in settings.optimize:  # compile exactly the one size this run makes
        settings = dataclasses.replace(settings, compile_sizes=((args.width, args.height),))
    prompts = [p for p in (args.prompt or SAMPLE_PROMPTS) for _ in range(args.count)]
    seed = random_seed(len(prompts)) if args.seed is None else check_seed(args.seed, count=len(prompts))
    _ensure_folder(args.out)
    studio = Studio(settings)
    requests = _prepare(studio, args, prompts, seed)
    if requests is None:
        return 2
    with writing({"--out": args.out, "SDTURBO_CACHE_DIR": settings.cache_dir}):  # the cache: random models
        return _render(studio, requests, args.out)


def _prepare(studio: Studio, args: argparse.Namespace, prompts: list[str], seed: int) -> list | None:
    """Image i of the run as a checked request with seed + i; None after explaining each out-of-domain prompt."""
    requests, rejected = [], {}
    init = _init(args)
    for i, prompt in enumerate(prompts):
        if prompt in rejected:  # --count repeats a prompt: one verdict is enough
            continue
        try:
            requests.append(
                studio.prepare(
                    prompt,
                    steps=args.steps,
                    seed=seed + i,
                    width=args.width,
                    height=args.height,
                    init_image=init,
                    strength=args.strength,
                )
            )
        except OutOfDomain as err:
            rejected[prompt] = err.verdict
    for prompt, verdict in rejected.items():
        message = f"--prompt {prompt!r} is out of this tool's domain ({verdict.category}): {'; '.join(verdict.reasons)}"
        print(f"generate_image.py: error: {message}", file=sys.stderr)
        for suggestion in verdict.suggestions:
            print(f"    try: --prompt {suggestion!r}", file=sys.stderr)
    return None if rejected else requests


def _init(args: argparse.Namespace):
    """The --init-image fitted to --width x --height, or None; errors name the flag."""
    if args.init_image is None:
        if args.strength is not None:
            raise InvalidParameterError("strength", "is for image-to-image: give --init-image too")
        return None
    try:
        data = args.init_image.read_bytes()
    except OSError as err:
        raise InvalidParameterError("init_image", f"cannot read {str(args.init_image)!r}: {err.strerror}") from None
    size = (check_side(args.width, "width"), check_side(args.height, "height"))
    return init_image.load(data, size, "init_image").image


def _render(studio: Studio, requests: list[GenerationRequest], out: Path) -> int:
    from tqdm import tqdm

    from sdturbo.schema import encode_pngs

    engine = studio.load().engine
    print(
        f"model: {engine.source.location} on {engine.device}"
        + (" (random weights: images are noise, for testing only)" if engine.source.is_random else "")
    )
    size, started = studio.settings.max_batch_size, time.perf_counter()
    for offset in tqdm(range(0, len(requests), size), desc="batches", unit="batch", disable=None):
        chunk = requests[offset : offset + size]
        results = studio.run(chunk)
        for request, result, data in zip(chunk, results, encode_pngs(results), strict=True):
            path = _write(result, data, out, request.user_prompt)
            tqdm.write(
                f"{path}  seed {result.seed}, {result.steps} step(s), {result.width}x{result.height}, "
                f"{result.elapsed_ms / result.batch_size:.0f} ms/image"
            )
    seconds = time.perf_counter() - started
    print(f"{len(requests)} image(s) in {seconds:.2f} s ({len(requests) / seconds:.1f} images/s) -> {out}")
    return 0


def _write(result, data: bytes, folder: Path, prompt: str) -> Path:
    """Save PNG `data` under a name made of the user's prompt and settings, whole or not at all; never
    overwrite a different image."""
    stem = f"{slug(prompt, 60) or 'image'}-{result.seed}-{result.steps}step-{result.width}x{result.height}"
    path, n = folder / f"{stem}.png", 1
    while path.exists():
        if path.read_bytes() == data:  # this very image, from an earlier run
            return path
        n += 1
        path = folder / f"{stem}-{n}.png"
    return write_atomically(path, data)


def _ensure_folder(folder: Path) -> None:
    """Create --out and check that files can be made in it, before the model loads."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidParameterError("out", f"cannot create folder {str(folder)!r}: {err.strerror}") from None
    if not folder.is_dir():
        raise InvalidParameterError("out", f"{str(folder)!r} is not a folder")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        raise InvalidParameterError("out", f"cannot write to folder {str(folder)!r}: {err.strerror}") from None


def _quiet_libraries() -> None:
    """Our own progress bar and log lines replace diffusers'/transformers' per-load bars."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
