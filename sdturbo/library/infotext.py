"""AUTOMATIC1111's "parameters" PNG text (infotext), read the way A1111's PNG Info reads it.

Follows `parse_generation_parameters` in A1111's `modules/infotext_utils.py` (commit c19d044, v1.10),
without its UI extras (styles, hires and inpaint defaults, settings to skip). Unlike A1111, "Size"
stays one field ("512x768"); `Infotext.size` splits it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# A1111's re_param_code and re_imagesize, verbatim
PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
IMAGE_SIZE = re.compile(r"^(\d+)x(\d+)$")
# what a failed PARAM match looked at before failing: whitespace, then the run of key characters
KEY_RUN = re.compile(r"\s*(?:\w[\w \-/]*)?")
NEGATIVE = "Negative prompt:"
MIN_SETTINGS = 3  # a last line with fewer `key: value` pairs is part of the prompt


@dataclass(frozen=True)
class Infotext:
    """The prompts and the settings line of one infotext."""

    prompt: str  # may contain newlines
    negative_prompt: str  # "" when absent
    fields: dict[str, str]  # the settings line: keys as written, values unquoted

    def get_int(self, key: str) -> int | None:
        """int(fields[key]), or None when the key is absent or its value is not an integer."""
        try:
            return int(self.fields[key])
        except (KeyError, ValueError):
            return None

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) from "Size: 512x768", or None when absent or malformed."""
        match = IMAGE_SIZE.match(self.fields.get("Size", ""))
        try:
            return (int(match[1]), int(match[2])) if match else None
        except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
            return None


def parse_parameters(text: str) -> Infotext:
    """Parse infotext: prompt lines, then "Negative prompt: ..." lines, then a settings line."""
    if not isinstance(text, str):
        raise TypeError(f"infotext must be a str, got {type(text).__name__}")
    *lines, last = text.strip().split("\n")
    pairs = settings_pairs(last)
    if len(pairs) < MIN_SETTINGS:
        lines.append(last)
        pairs = []
    prompt, negative = _prompts(lines)
    return Infotext(prompt, negative, _fields(pairs))


def settings_pairs(line: str) -> list[tuple[str, str]]:
    """PARAM.findall(line) in linear time (findall itself is quadratic: 57 s on a 100 kB line of words).

    A failed match fails on its key: the run of key characters after the whitespace does not end in
    ":". Every start inside that run fails the same way, or (after spaces only) matches as its end
    would, so the next start worth trying is the run's end.
    """
    pairs, pos = [], 0
    while pos < len(line):
        match = PARAM.match(line, pos)
        if match:
            pairs.append(match.groups())
            pos = match.end()
        else:
            pos = max(KEY_RUN.match(line, pos).end(), pos + 1)
    return pairs


def _prompts(lines: list[str]) -> tuple[str, str]:
    """(prompt, negative prompt): lines from the first "Negative prompt:" on are the negative one."""
    prompt: list[str] = []
    negative: list[str] = []
    target = prompt
    for line in lines:
        line = line.strip()
        if line.startswith(NEGATIVE):
            target = negative
            line = line[len(NEGATIVE) :].strip()
        if line or target:  # A1111 adds nothing to a prompt before its first non-empty line
            target.append(line)
    return "\n".join(prompt), "\n".join(negative)


def _fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Settings by key; a later duplicate wins, and an empty value drops its key, as in A1111."""
    # (A1111 drops it by accident: its value[0] raises IndexError, which it catches and prints)
    return {key: _unquote(value) for key, value in pairs if value}


def _unquote(value: str) -> str:
    """A1111's unquote: a "..." value is a JSON string; one that is not valid JSON stays as written."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
