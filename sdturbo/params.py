"""Limits of every generation parameter and the checks that enforce them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from sdturbo.errors import InvalidParameterError

MIN_STEPS, MAX_STEPS = 1, 4  # SD-Turbo is distilled for 1-4 steps
MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE = 256, 1024, 64  # latents are H/8 and the UNet halves them 3x
MAX_SEED = 2**32 - 1  # the seed range A1111 and ComfyUI users know
MAX_PROMPT_CHARS = 1000
MAX_BATCH = 64
DEFAULT_STEPS, DEFAULT_SIDE = 1, 512  # what a request gets when it names no steps or size
MIN_STRENGTH, MAX_STRENGTH = 0.1, 1.0  # image-to-image: how far from the init image
DEFAULT_STRENGTH, DEFAULT_IMG2IMG_STEPS = 0.5, 2  # the SD-Turbo model card's image-to-image setting
MAX_VARIATIONS = 8  # images one request may ask for (n)
# sizes offered by the page: square, 3:2 and 16:9 both ways (any multiple of 64 in range is accepted)
PRESET_SIZES = ((512, 512), (768, 512), (512, 768), (768, 768), (1024, 576), (576, 1024), (1024, 1024))


_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # not \t \n \r


def _as_int(field: str, value: object, allowed: str) -> int:
    # bool is an int subclass; True as a step count is a bug, not a request
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(field, f"must be an integer {allowed}, got {value!r}")
    return value


def check_steps(value: object, field: str = "num_inference_steps") -> int:
    """Return the step count if it is an integer from 1 to 4."""
    allowed = f"from {MIN_STEPS} to {MAX_STEPS}"
    steps = _as_int(field, value, allowed)
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise InvalidParameterError(field, f"must be an integer {allowed}, got {steps}")
    return steps


def check_side(value: object, field: str) -> int:
    """Return a width or height if it is a multiple of 64 from 256 to 1024."""
    allowed = f"from {MIN_SIDE} to {MAX_SIDE} in multiples of {SIDE_MULTIPLE}"
    side = _as_int(field, value, allowed)
    if not MIN_SIDE <= side <= MAX_SIDE or side % SIDE_MULTIPLE:
        raise InvalidParameterError(field, f"must be an integer {allowed}, got {side}")
    return side


def check_seed(value: object, field: str = "seed", count: int = 1) -> int:
    """Return a seed if it and the `count - 1` seeds after it fit in 0..2**32-1."""
    allowed = f"from 0 to {MAX_SEED}"
    seed = _as_int(field, value, allowed)
    if not 0 <= seed <= MAX_SEED:
        raise InvalidParameterError(field, f"must be an integer {allowed}, got {seed}")
    if seed + count - 1 > MAX_SEED:
        raise InvalidParameterError(
            field, f"{seed} is too large for {count} images: image i uses seed + i, which must stay <= {MAX_SEED}"
        )
    return seed


def check_prompt(value: object, field: str = "prompt") -> str:
    """Return the prompt if it is a non-blank string of at most 1000 characters, without control characters
    (newlines and tabs are fine) or lone surrogates: those break the tokenizer, and the PNG text."""
    if not isinstance(value, str):
        raise InvalidParameterError(field, f"must be a string, got {type(value).__name__}")
    check_printable(value, field)
    if not value.strip():
        raise InvalidParameterError(field, "must not be empty or only whitespace")
    if len(value) > MAX_PROMPT_CHARS:
        raise InvalidParameterError(field, f"must be at most {MAX_PROMPT_CHARS} characters, got {len(value)}")
    return value


def check_printable(value: str, field: str) -> str:
    """Return `value` if it has no control character (newlines and tabs are fine) and no lone surrogate:
    text that breaks the tokenizer, UTF-8 encoding and the PNG text chunks."""
    bad = _UNPRINTABLE.search(value)
    if bad:
        what = "a lone surrogate (half of a UTF-16 pair)" if "\ud800" <= bad[0] <= "\udfff" else "a control character"
        raise InvalidParameterError(
            field, f"contains {what}, U+{ord(bad[0]):04X} at character {bad.start() + 1}; remove it"
        )
    return value


def check_prompts(value: object, field: str = "prompts") -> list[str]:
    """Return a list of valid prompts; a bare string is refused (it would iterate characters)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidParameterError(field, f"must be a list of prompt strings, got {type(value).__name__}")
    if not value:
        raise InvalidParameterError(field, "must contain at least one prompt")
    return [check_prompt(p, f"{field}[{i}]") for i, p in enumerate(value)]


def check_count(value: object, field: str, low: int = 1, high: int = MAX_BATCH) -> int:
    """Return a count if it is an integer from `low` to `high`."""
    allowed = f"from {low} to {high}"
    count = _as_int(field, value, allowed)
    if not low <= count <= high:
        raise InvalidParameterError(field, f"must be an integer {allowed}, got {count}")
    return count


def random_seed(count: int = 1) -> int:
    """A fresh seed such that seed + count - 1 is still a valid seed."""
    return secrets.randbelow(MAX_SEED - count + 2)


def check_strength(value: object, steps: int, field: str = "strength") -> float:
    """Return the image-to-image strength if it is a number from 0.1 to 1.0 that leaves at least one
    denoising step: diffusers runs int(steps * strength) of the `steps`."""
    allowed = f"a number from {MIN_STRENGTH:g} to {MAX_STRENGTH:g}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not MIN_STRENGTH <= value <= MAX_STRENGTH:
        raise InvalidParameterError(field, f"must be {allowed}, got {value!r}")
    if int(steps * value) < 1:
        least = 1 / steps
        raise InvalidParameterError(
            field,
            f"{value:g} with {steps} step(s) leaves no denoising step (steps x strength must be at least 1): "
            f"use strength {least:.2g} or more with {steps} step(s), or more steps (e.g. 2 steps at 0.5)",
        )
    return float(value)
