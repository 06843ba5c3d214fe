"""JSON API: Truss-compatible /predict, /api/generate, /api/validate, /api/config, /healthz."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import Blueprint, jsonify, request, url_for

from sdturbo import init_image
from sdturbo.batching import QueueFull
from sdturbo.errors import InvalidParameterError, NotFound, field_names
from sdturbo.metadata import FORMATS
from sdturbo.params import MAX_SIDE, MAX_VARIATIONS, check_count, check_seed, check_side
from sdturbo.schema import GenerationRequest
from sdturbo.studio import Kept, Served
from sdturbo.web.common import (
    b64,
    caller,
    entry_json,
    field,
    form_body,
    image_bytes,
    json_body,
    library,
    log_served,
    make_images,
    only,
    studio,
)

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)

GENERATE_FIELDS = ("prompt", "steps", "seed", "width", "height", "style", "format", "client_id", "live", "seq", "n")
UPSCALE_FIELDS = ("library_id", "strength", "steps", "format")
IMG2IMG_FIELDS = (*GENERATE_FIELDS, "image", "library_id", "init_sha256", "strength")
IMG2IMG_NUMBERS = ("steps", "seed", "width", "height", "n", "strength", "seq", "live", "library_id")  # in a form
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# low strength: the pick's composition stays and detail is redrawn at the larger size; 4 steps x 0.3
# leaves one denoising step (2 x 0.3 would leave none)
UPSCALE_STRENGTH, UPSCALE_STEPS = 0.3, 4
DEFAULT_FORMAT = "png"
LIVE_DEBOUNCE_MS = 150  # how long the page waits after a keystroke before a live request
_CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INTEGER_RE = re.compile(r"^\s*[+-]?[0-9]{1,6}\s*$")


@dataclass(frozen=True)
class Delivery:
    """How /api/generate answers, beside the image request itself."""

    format: str = DEFAULT_FORMAT
    client: str | None = None  # live mode: this client's newest request wins
    seq: int = 0  # the page's request counter, 0..2**32-1
    live: bool = False  # a live preview: the fast preview VAE, held until kept


def client_options() -> dict:
    """What the page and API clients may ask for (/api/config, and the page's template context)."""
    options = studio().options()
    return {
        **options,
        "defaults": {**options["defaults"], "format": DEFAULT_FORMAT},
        "formats": list(FORMATS),
        "live_debounce_ms": LIVE_DEBOUNCE_MS,
    }


# the routes that queue images: under overload they are refused before their body is even read
QUEUEING = {"api.predict", "api.generate", "api.img2img", "api.upscale", "openai.generations", "openai.edits",
            "openai.variations", "a1111.txt2img", "a1111.img2img"}  # fmt: skip


def shed_load():
    """503 at once while the queue is full: overflow costs the server almost nothing, so /healthz and the
    requests it can serve keep their threads and their share of the CPU."""
    if request.endpoint in QUEUEING and studio().worker.full:
        raise QueueFull(f"queue is full ({studio().settings.queue_size} jobs waiting)")


@bp.get("/healthz")
def healthz():
    health = studio().health()
    if health["status"] == "ok":
        return jsonify(health)
    return jsonify(health), 503, {"Retry-After": "5"}  # loading (or failed: the owner must act)


@bp.post("/predict")
def predict():
    """Baseten Truss sd-turbo contract: {"prompt", "num_steps"} -> {"result": base64 PNG, 512x512}; kept.

    As the truss does: the body is JSON whatever its Content-Type, and num_steps is read as int() reads
    it (2, 2.0, "2"), though not a fraction or a bool, which int() would quietly change."""
    body = json_body(force=True)
    only(body, ("prompt", "num_steps"))
    with field_names({"steps": "num_steps"}):
        steps = field(body, "num_steps", None, _whole_number)
        request = studio().prepare(field(body, "prompt"), steps=steps)  # width, height: 512
    (served,) = studio().submit_many([request], **caller())
    log_served(served)
    return jsonify(result=_encode(served, "png"))


@bp.post("/api/generate")
def generate():
    """One image (or `n` variations) with its parameters; out-of-domain prompts get 422 with suggestions."""
    body = json_body()
    only(body, GENERATE_FIELDS)
    delivery = _delivery(body)
    # live previews decode with the fast preview VAE when the server has one
    # the studio checks these (null or absent: its default)
    request = studio().prepare(
        field(body, "prompt"),
        **{name: body.get(name) for name in ("style", "steps", "seed", "width", "height")},
        preview=delivery.live,
    )
    return _serve(request, body, delivery)


@bp.post("/api/img2img")
def img2img():
    """Image-to-image from an uploaded image or a library image (docs/ITERATE.md); JSON or multipart."""
    body = form_body(IMG2IMG_NUMBERS) if request.files or request.form else json_body()
    only(body, IMG2IMG_FIELDS)
    delivery = _delivery(body)
    init = _init_image(body)
    request_ = studio().prepare(
        field(body, "prompt"),
        **{name: body.get(name) for name in ("style", "steps", "seed", "strength")},
        preview=delivery.live,
        init_image=init.image,
    )
    return _serve(request_, body, delivery, init.to_dict())


@bp.post("/api/upscale")
def upscale():
    """A library image made again at twice its size (capped at the size limit) by low-strength image-to-image."""
    body = json_body()
    only(body, UPSCALE_FIELDS)
    store = library()
    entry = store.get(_library_id(body["library_id"]) if "library_id" in body else field(body, "library_id"))
    record = entry.record
    size = init_image.nearest_size(record.width * 2, record.height * 2, long_side=MAX_SIDE)
    init = init_image.load(store.path(entry).read_bytes(), size)
    styled = record.style in studio().validator.styles
    request_ = studio().prepare(
        record.prompt if styled else record.effective_prompt,
        style=record.style if styled else "none",
        seed=record.seed,
        steps=body.get("steps", UPSCALE_STEPS),
        strength=body.get("strength", UPSCALE_STRENGTH),
        init_image=init.image,
    )
    return _serve(request_, {}, _delivery(body), {**init.to_dict(), "upscaled_from": entry.id})


def _serve(request_: GenerationRequest, body: dict, delivery: Delivery, extra: dict | None = None):
    """Run the request (or its `n` variations, one batch) and answer one image object, or {n, images}."""
    count = field(body, "n", 1, lambda v: check_count(v, "n", 1, MAX_VARIATIONS))
    made = make_images(request_, count, seeded=body.get("seed") is not None, client=delivery.client, seq=delivery.seq)
    images = [_image_json(r, s, delivery, extra or {}) for r, s in made]
    return jsonify(images[0] if count == 1 else {"n": count, "images": images})


def _image_json(request_: GenerationRequest, served: Served, delivery: Delivery, extra: dict) -> dict:
    r = served.result
    return {
        "image": _encode(served, delivery.format),
        "mime": FORMATS[delivery.format],
        "prompt": request_.user_prompt,
        "seed": r.seed,
        "steps": r.steps,
        "width": r.width,
        "height": r.height,
        "style": request_.style,
        "effective_prompt": r.prompt,
        "parameters": r.parameters,
        "model": r.model,
        "elapsed_ms": round(r.elapsed_ms, 1),
        "queue_ms": round(served.queue_ms, 1),
        "total_ms": round(served.total_ms, 1),
        "vae": r.vae,
        "batch_size": served.batch_size,
        **({"strength": r.strength} if r.strength is not None else {}),
        **({"replica": r.replica} if r.replica else {}),  # served over Ray Serve: which replica made it
        **extra,
        "library": _library_json(served.kept),
    }


def _delivery(body: dict) -> Delivery:
    live = field(body, "live", False, _check_bool)
    client = field(body, "client_id", None, _check_client)
    return Delivery(
        format=field(body, "format", DEFAULT_FORMAT, _check_format),
        client=client if live else None,
        seq=field(body, "seq", 0, lambda v: check_seed(v, "seq")),
        live=live,
    )


def _init_image(body: dict) -> init_image.InitImage:
    """The init image of an img2img body: `image` (bytes, or base64 text) or `library_id`, fitted to the size asked."""
    size = None
    if body.get("width") is not None or body.get("height") is not None:
        size = (check_side(body.get("width"), "width"), check_side(body.get("height"), "height"))
    sources = [name for name in ("image", "library_id", "init_sha256") if name in body]
    if len(sources) != 1:
        raise InvalidParameterError("image", "give one of image (base64 or a file), library_id or init_sha256")
    if "init_sha256" in body:  # the init image a library result was made from: make it again
        sha = body["init_sha256"]
        if not isinstance(sha, str) or not _SHA256_RE.match(sha):
            raise InvalidParameterError("init_sha256", "must be the 64 hex digits a library entry names")
        path = library().init_path(sha)
        if not path.is_file():
            raise NotFound(f"no init image {sha[:12]}… in the library")
        return init_image.load(path.read_bytes(), size, "init_sha256")
    if "library_id" in body:
        store = library()
        data = store.path(store.get(_library_id(body["library_id"]))).read_bytes()
        return init_image.load(data, size, "library_id")
    data = body["image"]
    if isinstance(data, str):
        data = init_image.from_base64(data, "image")
    elif not isinstance(data, bytes):
        raise InvalidParameterError("image", f"must be base64 text or a file, got {type(data).__name__}")
    return init_image.load(data, size)


def _library_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise InvalidParameterError("library_id", f"must be an image id of the library, got {value!r:.40}")
    return value


@bp.post("/api/validate")
def validate():
    """The validator's verdict alone (the page calls it while the user types); the same check as generate."""
    body = json_body()
    only(body, ("prompt", "style"))
    return jsonify(studio().check(field(body, "prompt"), body.get("style")).to_dict())


@bp.get("/api/config")
def config():
    """Limits, defaults, presets and model facts for clients."""
    return jsonify(**client_options(), model=studio().health())


def _whole_number(value):
    """An integer given as 2, 2.0 or "2"; anything else is returned as is, for the range check to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER_RE.match(value):
        return int(value)
    return value


def _check_format(value):
    if not isinstance(value, str) or value not in FORMATS:
        raise InvalidParameterError("format", f"must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


def _check_bool(value):
    if not isinstance(value, bool):
        raise InvalidParameterError("live", f"must be true or false, got {value!r}")
    return value


def _check_client(value):
    if not isinstance(value, str) or not _CLIENT_RE.match(value):
        raise InvalidParameterError("client_id", "must be 1-64 letters, digits, '-' or '_'")
    return value


def _encode(served: Served, fmt: str) -> str:
    """Base64 image, encoded here on the HTTP thread so the GPU worker never waits on zlib."""
    return b64(image_bytes(served, fmt))


def _library_json(kept: Kept) -> dict | None:
    """What became of the image (docs/LIBRARY.md): saved, held as a preview, not saved and why; None: library off."""
    if kept.entry is not None:
        entry = entry_json(kept.entry)
        return {"saved": True, "id": entry["id"], "url": entry["url"], "thumb": entry["thumb"], "entry": entry}
    if kept.preview_id is not None:
        keep_url = url_for("library.keep", preview_id=kept.preview_id)
        return {"saved": False, "preview_id": kept.preview_id, "keep_url": keep_url}
    if kept.error is not None:
        return {"saved": False, "error": studio().redact(kept.error)}
    return None
