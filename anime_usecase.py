"""Game and animation concept batches: `python anime_usecase.py` or `generate_anime_assets()`.

    from anime_usecase import generate_anime_assets
    manifest = generate_anime_assets(out_dir="anime_assets", per_category=4, steps=2, seed=0)

Writes one folder per category with PNGs (A1111 `parameters` chunk), a captioned contact sheet
per category and one for the run, and manifest.json. Reruns skip finished images.
Run `python anime_usecase.py --help` for the command line.
"""

import sys

from sdturbo.assets import generate_anime_assets
from sdturbo.cli.assets import build_parser, main

__all__ = ["build_parser", "generate_anime_assets", "main"]

if __name__ == "__main__":
    sys.exit(main())
