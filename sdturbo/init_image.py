"""Init images for image-to-image: read safely from bytes, turned upright, fitted to an allowed size.

No torch here: the web layer and the CLIs both call it before a request is built.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from sdturbo import params
from sdturbo.errors import InvalidParameterError, TooLarge

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # declared size: larger is refused before any pixel is decoded
DEFAULT_LONG_SIDE = 768  # an init image with no size asked for is fitted to at most this on its longer side


@dataclass(frozen=True)
class InitImage:
    """The fitted RGB image, the original's size and the part of it that was used (left, top, width, height)."""

    image: Image.Image
    original: tuple[int, int]
    crop: tuple[int, int, int, int]

    def to_dict(self) -> dict:
        left, top, width, height = self.crop
        return {
            "init": {"width": self.original[0], "height": self.original[1]},
            "crop": {"left": left, "top": top, "width": width, "height": height},
        }


def from_base64(text: str, field: str = "image") -> bytes:
    """The bytes of a base64 image (a `data:` URL prefix is fine), refused past MAX_BYTES before decoding."""
    if text.startswith("data:"):  # data:image/png;base64,<data>
        text = text.partition(",")[2]
    if len(text) > MAX_BYTES * 4 // 3 + 4:
        raise TooLarge(field, f"must be at most {MAX_BYTES // 2**20} MB")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterError(field, "is not valid base64 (send the file's bytes base64-encoded)") from None


def read(data: bytes, field: str = "image") -> Image.Image:
    """An upright RGB image from PNG, JPEG or WebP bytes; errors name `field` and say what is allowed."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidParameterError(field, "is empty; send a PNG, JPEG or WebP image")
    if len(data) > MAX_BYTES:
        raise TooLarge(field, f"must be at most {MAX_BYTES // 2**20} MB, got {len(data)} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if image.width * image.height > MAX_PIXELS:
                raise InvalidParameterError(
                    field, f"declares {image.width}x{image.height} pixels; at most {MAX_PIXELS // 10**6} megapixels"
                )
            image.load()
    except InvalidParameterError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InvalidParameterError(field, f"is too large an image to decode safely: {err}") from None
    except UnidentifiedImageError:
        raise InvalidParameterError(field, "must be a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt
        raise InvalidParameterError(field, f"is not a readable image (truncated or corrupt): {err}") from None
    return ImageOps.exif_transpose(image).convert("RGB")


def nearest_size(width: int, height: int, long_side: int = DEFAULT_LONG_SIDE) -> tuple[int, int]:
    """The allowed size (sides 256-1024 in multiples of 64) closest to `width` x `height`'s aspect ratio,
    its longer side at most `long_side`."""
    step, low = params.SIDE_MULTIPLE, params.MIN_SIDE
    scale = min(1.0, long_side / max(width, height))

    def side(value: float) -> int:
        return max(low, min(params.MAX_SIDE, round(value * scale / step) * step))

    return side(width), side(height)


def fit(image: Image.Image, size: tuple[int, int] | None = None) -> InitImage:
    """Scale `image` to cover `size` (default: its nearest allowed size) and centre-crop to it."""
    original = image.size
    width, height = size or nearest_size(*original)
    scale = max(width / original[0], height / original[1])
    crop_w, crop_h = round(width / scale), round(height / scale)
    left, top = (original[0] - crop_w) // 2, (original[1] - crop_h) // 2
    box = (left, top, left + crop_w, top + crop_h)
    fitted = image.resize((width, height), Image.Resampling.LANCZOS, box=box)
    return InitImage(fitted, original, (left, top, crop_w, crop_h))


def load(data: bytes, size: tuple[int, int] | None = None, field: str = "image") -> InitImage:
    return fit(read(data, field), size)
