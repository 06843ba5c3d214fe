"""`python anime_usecase.py`: render the concept-art catalog into folders, a manifest and contact sheets."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sdturbo.assets import catalog, generate_anime_assets, prompts_of
from sdturbo.cli.args import SEED_RANGE, Parser, add_image_flags, as_number, run, writing
from sdturbo.domain.rules import default_rules

_FLAGS = {"out_dir": "--out", "per_category": "--per-category", "categories": "--categories"}


def build_parser() -> Parser:
    """The CLI's flags, each with help."""
    p = Parser(prog="anime_usecase.py", description="Generate an anime concept-art library.")
    p.add_argument("--categories", help="comma-separated categories (default: all; see --list)")
    # its upper bound depends on the categories chosen: generate_anime_assets checks it
    p.add_argument("--per-category", type=int, default=4, help="images per category (default 4)")
    add_image_flags(p, steps=2)
    p.add_argument(
        "--seed",
        type=as_number,
        default=0,
        help=f"base seed, {SEED_RANGE} (default 0); same seed and settings, same images",
    )
    p.add_argument("--out", default="anime_assets", help="output folder (default anime_assets/)")
    p.add_argument(
        "--style", default="anime", help=f"style preset: {', '.join(default_rules().styles)} (default anime)"
    )
    p.add_argument("--model", default=None, help="hub id, local folder or 'tiny' (default $SDTURBO_MODEL or sd-turbo)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--force", action="store_true", help="regenerate everything, replacing an existing run")
    p.add_argument("--list", action="store_true", help="print the categories and their prompts, then exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; 0 on success, 2 on bad arguments or a manifest of the wrong shape, 1 when the model cannot
    load or a file cannot be written."""
    return run(build_parser(), _render, argv, _FLAGS)


def _render(args: argparse.Namespace) -> int:
    if args.list:
        for name, spec in catalog().items():
            print(f"{name}: {spec['title']} ({len(prompts_of(name))} prompts)")
            for prompt in prompts_of(name):
                print(f"    {prompt}")
        return 0
    from sdturbo.config import Settings
    from sdturbo.studio import Studio

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    categories = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    studio = Studio(Settings.from_env(model=args.model, device=args.device))
    with writing({"--out": Path(args.out), "SDTURBO_CACHE_DIR": studio.settings.cache_dir}):
        manifest = generate_anime_assets(
            args.out,
            categories=categories,
            per_category=args.per_category,
            steps=args.steps,
            seed=args.seed,
            width=args.width,
            height=args.height,
            style=args.style,
            studio=studio,
            force=args.force,
        )
    s = manifest["summary"]
    noise = " (random weights: images are noise)" if studio.engine.source.is_random else ""
    print(
        f"{s['images']} images ({s['generated']} new, {s['skipped']} already done) in {s['seconds']:.1f} s, "
        f"{s['images_per_s']:.2f} images/s -> {args.out}/ (manifest.json, contact_sheet.png){noise}"
    )
    return 0
