"""One convention for every command line: bad input exits 2 with one line naming the flag.

    generate_image.py: error: --steps: must be an integer from 1 to 4, got 9 (see --help)

Exit 1 when the run cannot finish though its input was fine, also with one line: the model cannot
load, or a file cannot be written (a full disk, a folder that turned read-only, a read-only model
cache). Every file is written whole or not at all, so a failed run leaves no partial file:

    generate_image.py: error: cannot write 'outputs/fox-7-1step-512x512.png': No space left on device;
    free some space or choose another --out

--help exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from sdturbo.errors import InvalidParameterError, ModelLoadError
from sdturbo.params import DEFAULT_SIDE, MAX_SEED, MAX_SIDE, MAX_STEPS, MIN_SIDE, MIN_STEPS, SIDE_MULTIPLE


class UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so `run` can print one line and return 2."""


EXIT_FAILED, EXIT_USAGE = 1, 2  # could not finish (model, disk); bad input


class CannotWrite(Exception):
    """A file could not be written; the message names it and what to do (exit 1)."""


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


@contextlib.contextmanager
def writing(folders: dict[str, Path]) -> Iterator[None]:
    """Turn a failed write in the block (a full or read-only disk, or any failure inside one of `folders`)
    into CannotWrite; `folders` maps how the user chose each output folder ("--out", "SDTURBO_CACHE_DIR")."""
    try:
        yield
    except OSError as err:
        inside = err.filename is not None and any(_inside(err.filename, f) for f in folders.values())
        if not inside and err.errno not in _DISK_FULL | {errno.EROFS}:
            raise
        raise cannot_write(err, folders) from None


def cannot_write(err: OSError, folders: dict[str, Path]) -> CannotWrite:
    """One line: the file (its folder, for a temporary name), the system's reason and what to do."""
    path = Path(err.filename) if err.filename else None
    where = "a file" if path is None else f"to {str(path.parent)!r}" if path.name.startswith(".") else repr(str(path))
    chosen_by = next((name for name, folder in folders.items() if path and _inside(path, folder)), None)
    other = None
    if chosen_by:
        other = f"choose another {chosen_by}" if chosen_by.startswith("--") else f"set {chosen_by} to another folder"
    fix = "free some space" if err.errno in _DISK_FULL else "make it writable" if err.errno in _READ_ONLY else None
    advice = " or ".join(part for part in (fix, other) if part)
    return CannotWrite(f"cannot write {where}: {err.strerror or err}" + (f"; {advice}" if advice else ""))


def _inside(path: str | Path, folder: Path) -> bool:
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(folder))


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
    """Parse `argv` and call `body`; bad input is one stderr line and exit 2, a model that cannot load or
    a file that cannot be written exit 1.

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
    except (ModelLoadError, CannotWrite) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as err:  # any other file-system failure: one line, never a traceback
        where = f"{err.filename!r}: " if err.filename else ""
        print(f"{parser.prog}: error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED


def fail(prog: str, message: str) -> int:
    """Print the one error line and return exit status 2."""
    print(f"{prog}: error: {message} (see --help)", file=sys.stderr)
    return EXIT_USAGE
