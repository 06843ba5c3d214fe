"""Settings from an uploaded PNG: ours (the `sdturbo` chunk) or any AUTOMATIC1111-style `parameters` text.

Only the PNG's header and the text chunks before its image data are read, never its pixels: a
decompression bomb costs nothing here. (Every writer this reads, ours and A1111's, puts its text
chunks before the image data.)
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

from sdturbo import params
from sdturbo.errors import InvalidParameterError, TooLarge
from sdturbo.library.infotext import parse_parameters
from sdturbo.library.record import CHUNK, ImageRecord

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class NoSettings(ValueError):
    """The PNG carries no generation settings this tool can read."""


def read_png_info(data: bytes, styles: dict[str, str]) -> dict:
    """{"source", "parameters", "settings", "fields", "warnings"} of a PNG (see docs/LIBRARY.md)."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidParameterError("file", "must be a PNG file; the upload was empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge("file", f"must be at most {MAX_UPLOAD_BYTES // 2**20} MB, got {len(data)} bytes")
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidParameterError("file", "must be a PNG file (its first bytes are not a PNG signature)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # pixels are never decoded
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                info = dict(image.info)
    except Image.DecompressionBombError as err:
        raise InvalidParameterError("file", f"is too large an image to read: {err}") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise InvalidParameterError("file", f"is not a readable PNG: {err}") from None
    parameters = info.get("parameters")
    parameters = parameters if isinstance(parameters, str) else None
    if isinstance(info.get(CHUNK), str):
        try:
            record = ImageRecord.from_json(info[CHUNK])
        except ValueError:
            pass  # damaged or from a newer version: read its A1111 text below
        else:
            return _ours(record, parameters, styles)
    if not parameters:
        raise NoSettings(
            "this PNG carries no generation settings: it has no 'parameters' text (AUTOMATIC1111 and this "
            "studio write one); images re-saved by editors or chat apps usually lose it"
        )
    return _a1111(parameters)


def _ours(record: ImageRecord, parameters: str | None, styles: dict[str, str]) -> dict:
    warnings_ = []
    style = record.style
    if style not in styles:
        warnings_.append(f"style {style!r} is not on this server; using the styled prompt with style 'none'")
        style, prompt = "none", record.effective_prompt
    else:
        prompt = record.prompt
    if len(prompt) > params.MAX_PROMPT_CHARS:
        warnings_.append(_too_long(prompt))
    settings = {
        "prompt": prompt,
        "style": style,
        "steps": record.steps,
        "seed": record.seed,
        "width": record.width,
        "height": record.height,
        "strength": record.strength,  # image-to-image; its init image is in the library (init_sha256)
    }
    return {
        "source": "sdturbo",
        "parameters": parameters or record.parameters,
        "settings": settings,
        "fields": {"Model": record.model, **({"VAE": record.vae} if record.vae else {})},
        "warnings": warnings_,
    }


def _a1111(parameters: str) -> dict:
    text = parse_parameters(parameters)
    notes: list[str] = []
    settings: dict = {"prompt": text.prompt.strip(), "style": "none", "steps": None, "seed": None}
    settings |= {"width": None, "height": None}
    if not settings["prompt"]:
        notes.append("the PNG's parameters have no prompt")
    if len(settings["prompt"]) > params.MAX_PROMPT_CHARS:
        notes.append(_too_long(settings["prompt"]))
    steps = text.get_int("Steps")
    if steps is not None and params.MIN_STEPS <= steps <= params.MAX_STEPS:
        settings["steps"] = steps
    elif steps is not None:
        notes.append(
            f"Steps {steps} is outside SD-Turbo's {params.MIN_STEPS}-{params.MAX_STEPS}; the form keeps its own steps"
        )
    seed = text.get_int("Seed")
    if seed is not None and 0 <= seed <= params.MAX_SEED:
        settings["seed"] = seed
    elif seed is not None:
        notes.append(f"Seed {seed} is outside 0-{params.MAX_SEED}; a random seed is used")
    if text.size is not None:
        try:
            settings["width"] = params.check_side(text.size[0], "width")
            settings["height"] = params.check_side(text.size[1], "height")
        except InvalidParameterError as err:
            settings["width"] = settings["height"] = None
            notes.append(
                f"Size {text.size[0]}x{text.size[1]} cannot be made here ({err.problem}); the form keeps its size"
            )
    settings["strength"] = _strength(text.fields.get("Denoising strength"), notes)
    if text.negative_prompt:
        notes.append("the negative prompt is not used: SD-Turbo runs without guidance (CFG scale 0)")
    sampler, cfg = text.fields.get("Sampler"), text.fields.get("CFG scale")
    if (sampler and sampler != "Euler") or (cfg and cfg not in ("0", "0.0", "1", "1.0")):
        notes.append(
            f"sampler {sampler or '?'} at CFG scale {cfg or '?'} differs from SD-Turbo's Euler at 0: "
            "the same settings make a different picture"
        )
    return {
        "source": "a1111",
        "parameters": parameters,
        "settings": settings,
        "fields": dict(text.fields),
        "warnings": notes,
    }


def _too_long(prompt: str) -> str:
    return (
        f"the prompt is {len(prompt)} characters; this studio takes at most {params.MAX_PROMPT_CHARS}: "
        "shorten it before generating"
    )


def _strength(value: str | None, notes: list[str]) -> float | None:
    """A1111's "Denoising strength" (img2img) when it is one this studio can use with some step count."""
    if value is None:
        return None
    try:
        strength = float(value)
    except ValueError:
        notes.append(f"Denoising strength {value!r} is not a number")
        return None
    if not params.MIN_STRENGTH <= strength <= params.MAX_STRENGTH:
        notes.append(f"Denoising strength {value} is outside {params.MIN_STRENGTH:g}-{params.MAX_STRENGTH:g}")
        return None
    return strength
