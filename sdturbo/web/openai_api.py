"""The OpenAI images API (/v1/images/generations, /edits, /variations) over the studio (docs/COMPAT.md).

Each view turns OpenAI's wire format into the studio's one request (`Studio.prepare`); the images
come from the same batcher and are kept in the same library as the page's.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass

from flask import Blueprint, jsonify, url_for

from sdturbo import init_image, metadata
from sdturbo.errors import InvalidParameterError
from sdturbo.library import LibraryError
from sdturbo.library.infotext import parse_parameters
from sdturbo.library.pnginfo import NoSettings, read_png_info
from sdturbo.params import MAX_PROMPT_CHARS, MAX_VARIATIONS, check_count, check_side
from sdturbo.schema import GenerationRequest
from sdturbo.studio import Served
from sdturbo.web.common import (
    Problem,
    b64,
    field,
    form_body,
    image_bytes,
    json_body,
    json_error,
    make_images,
    only,
    studio,
)

bp = Blueprint("openai", __name__, url_prefix="/v1")

COMMON_FIELDS = ("n", "size", "response_format", "model", "user", "seed", "steps")
OUTPUT_FIELDS = ("quality", "output_format", "output_compression", "background", "stream", "partial_images")
GENERATION_FIELDS = ("prompt", *COMMON_FIELDS, *OUTPUT_FIELDS, "style", "moderation")
EDIT_FIELDS = ("image", "image[]", "prompt", *COMMON_FIELDS, *OUTPUT_FIELDS, "strength", "mask", "input_fidelity")
VARIATION_FIELDS = ("image", *COMMON_FIELDS, "strength", "prompt")
# quality -> steps ("auto": the mode's default); image-to-image needs steps x strength >= 1, so its
# cheapest quality is its default 2 steps (1 step at the default strength 0.5 would draw nothing)
QUALITY_STEPS = {"low": 1, "standard": 1, "medium": 2, "hd": 4, "high": 4}
EDIT_QUALITY_STEPS = {"low": 2, "standard": 2, "medium": 3, "hd": 4, "high": 4}
FORM_NUMBERS = ("n", "seed", "steps", "strength", "output_compression", "stream", "partial_images")
DALLE_STYLES = ("vivid", "natural")  # DALL-E 3's tone: accepted, no effect here
VARIATION_PROMPT = "anime illustration"  # a variation of an image that carries no prompt of its own
_SIZE_RE = re.compile(r"^([0-9]{1,5})x([0-9]{1,5})$")


@dataclass(frozen=True)
class Output:
    """How the images are answered: the OpenAI fields beside the image request itself."""

    n: int
    size: tuple[int, int] | None  # None: the mode's default (512x512; edits: the image's nearest size)
    url: bool  # response_format "url": the library's address instead of base64
    format: str  # png, jpeg, webp
    quality: int  # JPEG/WebP quality
    steps: int | None  # from `steps`, else `quality`; None: the mode's default


@bp.post("/images/generations")
def generations():
    """Text to image(s), JSON in and out."""
    body = json_body()
    only(body, GENERATION_FIELDS)
    out = _output(body)
    field(body, "moderation", None, lambda v: _one_of("moderation", v, ("auto", "low")))
    style = field(body, "style", None, lambda v: None if v in DALLE_STYLES else v)
    width, height = out.size or (None, None)
    request_ = studio().prepare(
        field(body, "prompt"), style=style, steps=out.steps, seed=body.get("seed"), width=width, height=height
    )
    return _answer(request_, out, seeded=body.get("seed") is not None)


@bp.post("/images/edits")
def edits():
    """Image-to-image from one uploaded image (multipart); a mask (inpainting) is refused."""
    body = form_body(FORM_NUMBERS, files=("image", "image[]", "mask"))
    only(body, EDIT_FIELDS)
    if "mask" in body:
        raise InvalidParameterError("mask", "is not supported: this studio does not inpaint; send the image alone")
    out = _output(body, EDIT_QUALITY_STEPS)
    field(body, "input_fidelity", None, lambda v: _one_of("input_fidelity", v, ("low", "high")))
    init = init_image.load(_image(body), out.size)
    request_ = studio().prepare(
        field(body, "prompt"),
        steps=out.steps,
        seed=body.get("seed"),
        strength=body.get("strength"),
        init_image=init.image,
    )
    return _answer(request_, out, seeded=body.get("seed") is not None)


@bp.post("/images/variations")
def variations():
    """Variations of one uploaded image: image-to-image with its own prompt (from its settings) or `prompt`."""
    body = form_body(FORM_NUMBERS)
    only(body, VARIATION_FIELDS)
    out = _output(body, EDIT_QUALITY_STEPS)
    data = _image(body)
    init = init_image.load(data, out.size)
    prompt, style = (body["prompt"], None) if body.get("prompt") is not None else _own_prompt(data)
    request_ = studio().prepare(
        prompt,
        style=style,
        steps=out.steps,
        seed=body.get("seed"),
        strength=body.get("strength"),
        init_image=init.image,
    )
    return _answer(request_, out, seeded=body.get("seed") is not None)


def _answer(request_: GenerationRequest, out: Output, *, seeded: bool):
    made = make_images(request_, out.n, seeded=seeded)
    served = [s for _, s in made]
    response = jsonify(
        created=int(time.time()),
        data=[_datum(s, out) for s in served],
        output_format=out.format,
        size=f"{served[0].result.width}x{served[0].result.height}",
    )
    response.headers["X-SDTurbo-Model"] = served[0].result.model
    return response


def _datum(served: Served, out: Output) -> dict:
    """One item of `data`: the image (base64 or URL), the prompt the model drew, and the studio's extras."""
    entry = served.kept.entry
    if out.url:
        if entry is None:  # the library is on (checked first), so the save itself failed
            raise LibraryError(served.kept.error or "the image was not saved, so it has no URL")
        image = {"url": url_for("library.image", entry_id=entry.id, _external=True)}
    else:
        data = image_bytes(served, out.format, out.quality)
        image = {"b64_json": b64(data)}
    r = served.result
    return {
        **image,
        "revised_prompt": r.prompt,
        "seed": r.seed,
        "steps": r.steps,
        "model": r.model,
        "library_id": entry.id if entry else None,
    }


def _output(body: dict, quality_steps: dict[str, int] = QUALITY_STEPS) -> Output:
    """The answer's shape from the OpenAI fields common to all three endpoints; refuses what cannot be."""
    field(body, "model", None, lambda v: _text("model", v))
    field(body, "user", None, lambda v: _text("user", v))
    field(body, "background", None, lambda v: _one_of("background", v, ("auto", "opaque")))
    if field(body, "stream", False, lambda v: _one_of("stream", v, (False, True))):
        raise InvalidParameterError("stream", "is not supported: images arrive whole, in tens of milliseconds")
    field(body, "partial_images", None, lambda v: _one_of("partial_images", v, (0,)))
    url = field(body, "response_format", "b64_json", lambda v: _one_of("response_format", v, ("b64_json", "url")))
    fmt = field(body, "output_format", "png", lambda v: _one_of("output_format", v, tuple(metadata.FORMATS)))
    if url == "url" and studio().settings.library is None:
        raise InvalidParameterError("response_format", "url needs the library, and this server runs with --library off")
    if url == "url" and fmt != "png":
        raise InvalidParameterError("output_format", "with response_format url the library's PNG is served; use png")
    quality = field(body, "quality", "auto", lambda v: _one_of("quality", v, ("auto", *quality_steps)))
    steps = body.get("steps")
    if steps is not None and quality != "auto":
        raise InvalidParameterError("quality", "give quality or steps, not both")
    return Output(
        n=field(body, "n", 1, lambda v: check_count(v, "n", 1, MAX_VARIATIONS)),
        size=field(body, "size", None, _size),
        url=url == "url",
        format=fmt,
        quality=field(body, "output_compression", metadata.DEFAULT_QUALITY, _compression),
        steps=steps if steps is not None else quality_steps.get(quality),
    )


def _image(body: dict) -> bytes:
    names = [name for name in ("image", "image[]") if name in body]
    if len(names) != 1 or not isinstance(body[names[0]], bytes):
        raise InvalidParameterError("image", "send one image file (PNG, JPEG or WebP) as the multipart field 'image'")
    return body[names[0]]


def _own_prompt(data: bytes) -> tuple[str, str | None]:
    """(prompt, style) an image was made with, from its settings; else the neutral variation prompt."""
    if data.startswith(b"\x89PNG"):
        try:
            settings = read_png_info(data, studio().validator.styles)["settings"]
        except (NoSettings, InvalidParameterError):
            return VARIATION_PROMPT, "none"
        prompt, style = settings["prompt"], settings.get("style", "none")
    else:
        text = metadata.read_parameters(io.BytesIO(data))  # JPEG and WebP: EXIF UserComment
        prompt, style = (parse_parameters(text).prompt if text else ""), "none"
    if not prompt.strip():
        return VARIATION_PROMPT, "none"
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidParameterError(
            "image", f"its own prompt is {len(prompt)} characters, more than {MAX_PROMPT_CHARS}: send a `prompt`"
        )
    return prompt, style


def _size(value) -> tuple[int, int] | None:
    if value == "auto":
        return None
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise InvalidParameterError("size", "")
        return check_side(int(match[1]), "size"), check_side(int(match[2]), "size")
    except InvalidParameterError:
        raise InvalidParameterError(
            "size", f"must be 'WxH' with each side from 256 to 1024 in multiples of 64 (e.g. '512x512'), got {value!r}"
        ) from None


def _compression(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidParameterError("output_compression", f"must be an integer from 0 to 100, got {value!r}")
    return value


def _one_of(name: str, value, allowed: tuple):
    if isinstance(value, bool) != isinstance(allowed[0], bool) or value not in allowed:
        raise InvalidParameterError(name, f"must be one of {', '.join(map(repr, allowed))}, got {value!r:.60}")
    return value


def _text(name: str, value) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise InvalidParameterError(name, f"must be a string of at most 256 characters, got {value!r:.60}")
    return value


def answer_problem(problem: Problem):
    """An error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}; 422 reads as 400."""
    status = 400 if problem.status == 422 else problem.status
    message, extra = problem.message, {}
    if problem.code == "out_of_domain":
        suggestions = problem.extra.get("suggestions") or []
        reasons = "; ".join(problem.extra.get("reasons") or [])
        message = f"{message}: {reasons}." + (" Try: " + " | ".join(suggestions) if suggestions else "")
        extra = {"suggestions": suggestions, "category": problem.extra.get("category")}
    code = {
        "out_of_domain": "content_policy_violation",
        "too_large": "file_too_large",
        "unauthorized": "invalid_api_key",
        "invalid_parameter": None,
    }.get(problem.code, problem.code)
    body = {
        "message": message,
        "type": "server_error" if status >= 500 else "invalid_request_error",
        "param": problem.field,
        "code": code,
        **extra,
    }
    return json_error(status, {"error": body}, problem.retry_after)
