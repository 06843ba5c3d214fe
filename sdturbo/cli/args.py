"""One convention for every command line: bad input exits 2 with one line naming the flag.

    generate_image.py: error: --steps: must be an integer from 1 to 4, got 9 (see --help)

A model that cannot load exits 1 with the loader's explanation; --help exits 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sdturbo.errors import InvalidParameterError, ModelLoadError
from sdturbo.params import DEFAULT_SIDE, MAX_SEED, MAX_SIDE, MAX_STEPS, MIN_SIDE, MIN_STEPS, SIDE_MULTIPLE


class UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so `run` can print one line and return 2."""


class Parser(argparse.ArgumentParser):
    """argparse with errors raised as UsageError (no usage dump, no SystemExit)."""

    def error(self, message: str):
        raise UsageError(message)


def as_number(text: str) -> int | str:
    """An argparse type that only decodes: an integer, or the text itself for the request's check to
    refuse with the allowed range (the value is checked once, where the request is built)."""
    try:
        return int(text)
    except ValueError:
        return text


def as_float(text: str) -> float | str:
    """Like `as_number` for decimal values (--strength): a float, or the text for the check to refuse."""
    try:
        return float(text)
    except ValueError:
        return text


def checked(check: Callable[[object], object]) -> Callable[[str], object]:
    """An argparse type for a flag no request checks (--count, --batch-size): decode, then run the
    library's check, reusing its message."""

    def convert(text: str) -> object:
        try:
            return check(as_number(text))
        except InvalidParameterError as err:
            raise argparse.ArgumentTypeError(err.problem) from None

    return convert


def add_image_flags(p: argparse.ArgumentParser, steps: int | None, steps_default: str | None = None) -> None:
    """--steps, --width and --height, as every image-making CLI has them; the request checks them.

    `steps` None leaves the default to the request (`steps_default` says what it is, for the help)."""
    p.add_argument(
        "--steps",
        type=as_number,
        default=steps,
        help=f"denoising steps, {MIN_STEPS}-{MAX_STEPS} (default {steps_default or steps})",
    )
    for side in ("width", "height"):
        p.add_argument(
            f"--{side}",
            type=as_number,
            default=DEFAULT_SIDE,
            help=f"image {side}, {MIN_SIDE}-{MAX_SIDE} in multiples of {SIDE_MULTIPLE} (default {DEFAULT_SIDE})",
        )


SEED_RANGE = f"0-{MAX_SEED}"  # for --seed help texts


def run(
    parser: Parser,
    body: Callable[[argparse.Namespace], int],
    argv: list[str] | None = None,
    flags: dict[str, str] | None = None,
) -> int:
    """Parse `argv` and call `body`; bad input is one stderr line and exit 2, a model load error exit 1.

    `flags` maps library field names to the flag a user typed ({"num_inference_steps": "--steps"}).
    """
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        return fail(parser.prog, str(err))
    except SystemExit as exit_:  # --help, --version
        return int(exit_.code or 0)
    try:
        return body(args)
    except InvalidParameterError as err:
        return fail(parser.prog, err.as_flag(flags))
    except ModelLoadError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1


def fail(prog: str, message: str) -> int:
    """Print the one error line and return exit status 2."""
    print(f"{prog}: error: {message} (see --help)", file=sys.stderr)
    return 2
