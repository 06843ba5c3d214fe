"""Game and animation concept batches: `python anime_usecase.py` or `generate_anime_assets()`.

    from anime_usecase import generate_anime_assets
    manifest = generate_anime_assets(out_dir="anime_assets", per_category=4, steps=2, seed=0)

Writes one folder per category with PNGs (A1111 `parameters` chunk), a captioned contact sheet
per category and one for the run, and manifest.json. Reruns skip finished images.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sdturbo.assets import catalog, generate_anime_assets, prompts_of
from sdturbo.errors import InvalidParameterError, ModelLoadError

__all__ = ["generate_anime_assets", "main"]

_FLAGS = {"out_dir": "--out", "per_category": "--per-category", "categories": "--categories"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anime_usecase.py", description="Generate an anime concept-art library.")
    p.add_argument("--categories", help="comma-separated categories (default: all; see --list)")
    p.add_argument("--per-category", type=int, default=4, help="images per category (default 4)")
    p.add_argument("--steps", type=int, default=2, help="denoising steps, 1-4 (default 2)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0); same seed and settings, same images")
    p.add_argument("--width", type=int, default=512, help="image width, 256-1024 in multiples of 64 (default 512)")
    p.add_argument("--height", type=int, default=512, help="image height, 256-1024 in multiples of 64 (default 512)")
    p.add_argument("--out", default="anime_assets", help="output folder (default anime_assets/)")
    p.add_argument("--style", default="anime", help="style preset (default anime)")
    p.add_argument("--model", default=None, help="hub id, local folder or 'tiny' (default $SDTURBO_MODEL or sd-turbo)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--force", action="store_true", help="regenerate everything, replacing an existing run")
    p.add_argument("--list", action="store_true", help="print the categories and their prompts, then exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; 0 on success, 2 on bad arguments, 1 when the model cannot load."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.list:
        for name, spec in catalog().items():
            print(f"{name}: {spec['title']} ({len(prompts_of(name))} prompts)")
            for prompt in prompts_of(name):
                print(f"    {prompt}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    categories = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    try:
        from sdturbo.generator import SDTurboGenerator

        generator = SDTurboGenerator(model=args.model, device=args.device)
        manifest = generate_anime_assets(
            args.out,
            categories,
            args.per_category,
            args.steps,
            args.seed,
            args.width,
            args.height,
            args.style,
            generator,
            force=args.force,
        )
    except InvalidParameterError as err:
        print(f"anime_usecase.py: error: {err.as_flag(_FLAGS)}", file=sys.stderr)
        return 2
    except ModelLoadError as err:
        print(f"anime_usecase.py: error: {err}", file=sys.stderr)
        return 1
    s = manifest["summary"]
    noise = " (random weights: images are noise)" if generator.is_random_model else ""
    print(
        f"{s['images']} images ({s['generated']} new, {s['skipped']} already done) in {s['seconds']:.1f} s, "
        f"{s['images_per_s']:.2f} images/s -> {args.out}/ (manifest.json, contact_sheet.png){noise}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
