"""JSON API: Truss-compatible /predict, /api/generate, /api/validate, /api/config, /healthz."""

from __future__ import annotations

import base64
import io
import logging
import re
from dataclasses import dataclass

from flask import Blueprint, jsonify, url_for

from sdturbo.errors import InvalidParameterError, field_names
from sdturbo.params import check_seed
from sdturbo.studio import Kept, Served
from sdturbo.web.common import entry_json, field, json_body, studio

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)

GENERATE_FIELDS = ("prompt", "steps", "seed", "width", "height", "style", "format", "client_id", "live", "seq")
FORMATS = {"png": "image/png", "jpeg": "image/jpeg"}
DEFAULT_FORMAT = "png"
LIVE_DEBOUNCE_MS = 150  # how long the page waits after a keystroke before a live request
_CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Delivery:
    """How /api/generate answers, beside the image request itself."""

    format: str = DEFAULT_FORMAT
    client: str | None = None  # live mode: this client's newest request wins
    seq: int = 0  # the page's request counter, 0..2**32-1


def client_options() -> dict:
    """What the page and API clients may ask for (/api/config, and the page's template context)."""
    options = studio().options()
    return {
        **options,
        "defaults": {**options["defaults"], "format": DEFAULT_FORMAT},
        "formats": list(FORMATS),
        "live_debounce_ms": LIVE_DEBOUNCE_MS,
    }


@bp.get("/healthz")
def healthz():
    health = studio().health()
    return jsonify(health), 200 if health["status"] == "ok" else 503


@bp.post("/predict")
def predict():
    """Baseten Truss sd-turbo contract: {"prompt", "num_steps"} -> {"result": base64 PNG, 512x512}; kept."""
    body = json_body()
    with field_names({"steps": "num_steps"}):
        request = studio().prepare(field(body, "prompt"), steps=body.get("num_steps"))  # width, height: 512
    served = studio().submit(request)
    _log_served(served)
    return jsonify(result=_encode(served, "png"))


@bp.post("/api/generate")
def generate():
    """One image with its parameters; out-of-domain prompts get 422 with suggestions."""
    body = json_body()
    unknown = sorted(set(body) - set(GENERATE_FIELDS))
    if unknown:
        raise InvalidParameterError(unknown[0], f"unknown field; allowed: {', '.join(GENERATE_FIELDS)}")
    live = field(body, "live", False, _check_bool)
    client = field(body, "client_id", None, _check_client)
    delivery = Delivery(
        format=field(body, "format", DEFAULT_FORMAT, _check_format),
        client=client if live else None,
        seq=field(body, "seq", 0, lambda v: check_seed(v, "seq")),
    )
    # live previews decode with the fast preview VAE when the server has one
    # the studio checks these (null or absent: its default)
    request = studio().prepare(
        field(body, "prompt"),
        **{name: body.get(name) for name in ("style", "steps", "seed", "width", "height")},
        preview=live,
    )
    served = studio().submit(request, client=delivery.client, seq=delivery.seq)
    _log_served(served)
    r = served.result
    return jsonify(
        image=_encode(served, delivery.format),
        mime=FORMATS[delivery.format],
        prompt=request.user_prompt,
        seed=r.seed,
        steps=r.steps,
        width=r.width,
        height=r.height,
        style=request.style,
        effective_prompt=r.prompt,
        parameters=r.parameters,
        model=r.model,
        elapsed_ms=round(r.elapsed_ms, 1),
        queue_ms=round(served.queue_ms, 1),
        total_ms=round(served.total_ms, 1),
        vae=r.vae,
        batch_size=served.batch_size,
        library=_library_json(served.kept),
    )


@bp.post("/api/validate")
def validate():
    """The validator's verdict alone (the page calls it while the user types); the same check as generate."""
    body = json_body()
    return jsonify(studio().check(field(body, "prompt"), body.get("style")).to_dict())


@bp.get("/api/config")
def config():
    """Limits, defaults, presets and model facts for clients."""
    return jsonify(**client_options(), model=studio().health())


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
    if fmt == "png":  # with the parameters chunks: the bytes the library saved, when it did
        data = served.kept.png or served.result.png_bytes(fast=True)
    else:
        buffer = io.BytesIO()
        served.result.image.save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
    return base64.b64encode(data).decode("ascii")


def _library_json(kept: Kept) -> dict | None:
    """What became of the image (docs/LIBRARY.md): saved, held as a preview, not saved and why; None: library off."""
    if kept.entry is not None:
        entry = entry_json(kept.entry)
        return {"saved": True, "id": entry["id"], "url": entry["url"], "thumb": entry["thumb"], "entry": entry}
    if kept.preview_id is not None:
        keep_url = url_for("library.keep", preview_id=kept.preview_id)
        return {"saved": False, "preview_id": kept.preview_id, "keep_url": keep_url}
    if kept.error is not None:
        return {"saved": False, "error": kept.error}
    return None


def _log_served(served: Served) -> None:
    r = served.result
    log.info(
        "generated seed=%d steps=%d %dx%d batch=%d queue=%.1fms total=%.1fms prompt=%.60r",
        r.seed,
        r.steps,
        r.width,
        r.height,
        served.batch_size,
        served.queue_ms,
        served.total_ms,
        r.prompt,
    )
