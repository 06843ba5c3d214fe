"""Captioned contact sheets: a grid of thumbnails with a header, so a run can be judged at a glance."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

THUMB = 192  # thumbnail width in pixels
COLUMNS = 4
MARGIN = 12
HEADER = 44  # header band height
CAPTION_LINES, LINE = 2, 15  # caption under each thumbnail
BACKGROUND, TEXT, MUTED = (17, 19, 24), (233, 235, 240), (163, 169, 182)


@dataclass(frozen=True)
class Tile:
    """One image on a sheet and its caption."""

    path: Path
    caption: str


def sheet_size(count: int, width: int, height: int, columns: int = COLUMNS) -> tuple[int, int]:
    """Pixel size of a sheet of `count` images of `width` x `height`."""
    cols = max(1, min(columns, count))
    rows = math.ceil(count / cols)
    cell_w, cell_h = THUMB, round(THUMB * height / width) + CAPTION_LINES * LINE + 6
    return MARGIN + cols * (cell_w + MARGIN), HEADER + rows * (cell_h + MARGIN) + MARGIN


def make_sheet(tiles: list[Tile], title: str, subtitle: str, width: int, height: int) -> Image.Image:
    """A dark sheet: title and subtitle on top, then thumbnails in rows with wrapped captions."""
    sheet = Image.new("RGB", sheet_size(len(tiles), width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((MARGIN, 8), title, fill=TEXT, font=ImageFont.load_default(size=16))
    draw.text((MARGIN, 27), subtitle, fill=MUTED, font=ImageFont.load_default(size=11))
    font = ImageFont.load_default(size=11)
    cols = max(1, min(COLUMNS, len(tiles)))
    thumb_h = round(THUMB * height / width)
    for i, tile in enumerate(tiles):
        x = MARGIN + (i % cols) * (THUMB + MARGIN)
        y = HEADER + (i // cols) * (thumb_h + CAPTION_LINES * LINE + 6 + MARGIN)
        with Image.open(tile.path) as image:
            sheet.paste(image.convert("RGB").resize((THUMB, thumb_h), Image.Resampling.LANCZOS), (x, y))
        lines = textwrap.wrap(tile.caption, width=32, max_lines=CAPTION_LINES, placeholder="…")
        for n, line in enumerate(lines):
            draw.text((x, y + thumb_h + 4 + n * LINE), line, fill=MUTED, font=font)
    return sheet
