"""Web studio: `python app.py` serves the page and JSON API on http://127.0.0.1:5000.

Production: `gunicorn -c gunicorn.conf.py "app:create_app()"` (see gunicorn.conf.py).
"""

from __future__ import annotations

import argparse
import sys

from sdturbo.cli.args import Parser, run
from sdturbo.config import Settings
from sdturbo.web import create_app
from sdturbo.web.serving import serve

__all__ = ["create_app", "main"]


def build_parser() -> Parser:
    """The server's flags, each with help; every default comes from Settings.from_env()."""
    p = Parser(prog="app.py", description="SD-Turbo anime studio web server")
    p.add_argument("--host", help="address to listen on (default $SDTURBO_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default $SDTURBO_PORT or 5000)")
    p.add_argument("--model", help="hub id, local folder or 'tiny' (default $SDTURBO_MODEL or stabilityai/sd-turbo)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default $SDTURBO_DEVICE or auto)")
    p.add_argument("--max-batch", type=int, help="most requests run together (default $SDTURBO_MAX_BATCH or 8)")
    p.add_argument(
        "--max-wait-ms",
        type=float,
        help="how long the worker waits to fill a batch (default $SDTURBO_MAX_WAIT_MS or 5)",
    )
    p.add_argument("--style", help="default style preset (default $SDTURBO_STYLE or anime)")
    p.add_argument("--preview-vae", help="fast decoder for live mode: tiny (madebyollin/taesd), a hub id or folder")
    p.add_argument("--optimize", help="speed-ups, e.g. fast or channels_last,uint8_decode (default $SDTURBO_OPTIMIZE)")
    p.add_argument(
        "--compile-sizes",
        help="with compile: sizes warmed at every batch bucket, e.g. 512x512,768x768; others run eager "
        "(default $SDTURBO_COMPILE_SIZES or 512x512)",
    )
    p.add_argument(
        "--library",
        help="folder of the image library, or off (default $SDTURBO_LIBRARY or ~/.local/share/sdturbo/library)",
    )
    p.add_argument(
        "--library-retain",
        help="unstarred images the library keeps, newest first: all or a number "
        "(default $SDTURBO_LIBRARY_RETAIN or all)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build the app and serve it with Flask's threaded server; exit 2 on a bad flag."""
    return run(build_parser(), _serve, argv, {"max_batch_size": "--max-batch"})


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        model=args.model,
        device=args.device,
        max_batch_size=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        style=args.style,
        optimize=args.optimize,
        compile_sizes=args.compile_sizes,
        preview_vae=args.preview_vae,
        library=args.library,
        library_retain=args.library_retain,
    )
    return serve(create_app(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
