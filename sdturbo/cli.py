"""`python generate_image.py`: prompts in, PNGs with A1111 parameters out."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sdturbo.config import ATTENTIONS, DEVICES, DTYPES, Settings
from sdturbo.errors import InvalidParameterError, ModelLoadError
from sdturbo.metadata import slug
from sdturbo.params import MAX_BATCH, check_count, check_prompt, check_seed, check_side, check_steps

SAMPLE_PROMPTS = (
    "A serene mountain landscape at sunset",
    "A futuristic cityscape",
    "A cozy coffee shop interior",
    "A magical forest with glowing mushrooms",
)
# library parameter names -> the flag a CLI user typed
_FLAGS = {
    "num_inference_steps": "--steps",
    "prompts": "--prompt",
    "prompt": "--prompt",
    "max_batch_size": "--batch-size",
}


class _UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so main() can return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump, no SystemExit
        raise _UsageError(message)


def _arg(check: Callable[..., object], *, integer: bool = True) -> Callable[[str], object]:
    """An argparse type that runs one of the library's checks, reusing its message."""

    def convert(text: str) -> object:
        value: object = text
        if integer:
            # a non-number stays a string, which the check rejects with the allowed range
            with contextlib.suppress(ValueError):
                value = int(text)
        try:
            return check(value)
        except InvalidParameterError as err:
            raise argparse.ArgumentTypeError(err.problem) from None

    return convert


def build_parser() -> argparse.ArgumentParser:
    """The CLI's flags, each with help."""
    p = _Parser(prog="generate_image.py", description="Generate images with SD-Turbo (1-4 steps, no guidance).")
    p.add_argument(
        "--prompt",
        action="append",
        type=_arg(check_prompt, integer=False),
        help="prompt to render; repeat for several (default: four sample prompts)",
    )
    p.add_argument("--steps", type=_arg(check_steps), default=1, help="denoising steps, 1-4 (default 1)")
    p.add_argument(
        "--seed",
        type=_arg(check_seed),
        default=None,
        help="seed of the first image, 0-4294967295; image i uses seed+i (default: random, printed)",
    )
    p.add_argument(
        "--width",
        type=_arg(lambda v: check_side(v, "width")),
        default=512,
        help="image width, 256-1024 in multiples of 64 (default 512)",
    )
    p.add_argument(
        "--height",
        type=_arg(lambda v: check_side(v, "height")),
        default=512,
        help="image height, 256-1024 in multiples of 64 (default 512)",
    )
    p.add_argument(
        "--count",
        type=_arg(lambda v: check_count(v, "count")),
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
        type=_arg(lambda v: check_count(v, "batch-size")),
        default=None,
        help=f"most images per pipeline call, 1-{MAX_BATCH} (default 8)",
    )
    p.add_argument(
        "--optimize",
        default=None,
        help="opt-in speed-ups, comma-separated: channels_last, fuse_qkv, prompt_cache, uint8_decode, compile, "
        "or fast (all); default $SDTURBO_OPTIMIZE or none",
    )
    p.add_argument(
        "--style",
        default=None,
        help="style preset applied to each prompt: anime (default), cel, ghibli_like, chibi, mecha, "
        "manga_ink, watercolor, none",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return 0 on success, 2 on bad input, 1 when the model cannot load."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as err:
        return _fail(str(err))
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    _quiet_libraries()
    try:
        settings = Settings.from_env(
            model=args.model,
            device=args.device,
            dtype=args.dtype,
            attention=args.attention,
            max_batch_size=args.batch_size,
            style=args.style,
            optimize=args.optimize,
            compile_sizes=((args.width, args.height),),  # with compile: the one size this run makes
        )
        prompts = [p for p in (args.prompt or SAMPLE_PROMPTS) for _ in range(args.count)]
        seed = args.seed
        if seed is not None:
            check_seed(seed, count=len(prompts))
        _ensure_folder(args.out)
        effective = _in_domain(prompts, settings)
        if effective is None:
            return 2
        return _run(args, settings, list(zip(prompts, effective, strict=True)), seed)
    except InvalidParameterError as err:
        return _fail(err.as_flag(_FLAGS))
    except ModelLoadError as err:
        print(f"generate_image.py: error: {err}", file=sys.stderr)
        return 1


def _in_domain(prompts: list[str], settings: Settings) -> list[str] | None:
    """Effective (styled) prompts; None after explaining each out-of-domain prompt on stderr."""
    from sdturbo.domain import DomainValidator

    validator = DomainValidator(settings.validator_model)
    verdicts = {p: validator.validate(p, settings.style) for p in dict.fromkeys(prompts)}
    rejected = {p: v for p, v in verdicts.items() if not v.allowed}
    for prompt, verdict in rejected.items():
        print(
            f"generate_image.py: --prompt {prompt!r} is out of this tool's domain ({verdict.category}): "
            f"{'; '.join(verdict.reasons)}",
            file=sys.stderr,
        )
        for suggestion in verdict.suggestions:
            print(f"    try: --prompt {suggestion!r}", file=sys.stderr)
    return None if rejected else [verdicts[p].effective_prompt for p in prompts]


def _run(args: argparse.Namespace, settings: Settings, prompts: list[tuple[str, str]], seed: int | None) -> int:
    from tqdm import tqdm

    from sdturbo.generator import SDTurboGenerator
    from sdturbo.params import random_seed
    from sdturbo.schema import encode_pngs

    generator = SDTurboGenerator(settings=settings).load()
    engine = generator.engine
    print(
        f"model: {engine.source.location} on {engine.device}"
        + (" (random weights: images are noise, for testing only)" if engine.source.is_random else "")
    )
    seed = random_seed(len(prompts)) if seed is None else seed
    size, started = settings.max_batch_size, time.perf_counter()
    for offset in tqdm(range(0, len(prompts), size), desc="batches", unit="batch", disable=None):
        chunk = prompts[offset : offset + size]
        results = generator.generate_batch_results(
            [effective for _, effective in chunk], args.steps, seed + offset, args.width, args.height
        )
        for (prompt, _), result, data in zip(chunk, results, encode_pngs(results), strict=True):
            path = _write(result, data, args.out, prompt)
            tqdm.write(
                f"{path}  seed {result.seed}, {result.steps} step(s), {result.width}x{result.height}, "
                f"{result.elapsed_ms / result.batch_size:.0f} ms/image"
            )
    seconds = time.perf_counter() - started
    print(f"{len(prompts)} image(s) in {seconds:.2f} s ({len(prompts) / seconds:.1f} images/s) -> {args.out}")
    return 0


def _write(result, data: bytes, folder: Path, prompt: str) -> Path:
    """Save PNG `data` under a name made of the user's prompt and settings; never overwrite a different image."""
    stem = f"{slug(prompt, 60) or 'image'}-{result.seed}-{result.steps}step-{result.width}x{result.height}"
    path, n = folder / f"{stem}.png", 1
    while path.exists() and path.read_bytes() != data:
        n += 1
        path = folder / f"{stem}-{n}.png"
    path.write_bytes(data)
    return path


def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidParameterError("out", f"cannot create folder {str(folder)!r}: {err.strerror}") from None
    if not folder.is_dir():
        raise InvalidParameterError("out", f"{str(folder)!r} is not a folder")


def _fail(message: str) -> int:
    print(f"generate_image.py: error: {message} (see --help)", file=sys.stderr)
    return 2


def _quiet_libraries() -> None:
    """Our own progress bar and log lines replace diffusers'/transformers' per-load bars."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
