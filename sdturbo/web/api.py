"""JSON API: Truss-compatible /predict, /api/generate, /api/validate, /api/config, /healthz."""

from __future__ import annotations

import base64
import io
import logging
import re

from flask import Blueprint, current_app, jsonify, request

from sdturbo.batching import BatchFailed, JobExpired, JobSuperseded, QueueFull
from sdturbo.domain import Verdict
from sdturbo.errors import InvalidParameterError
from sdturbo.params import (
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_SIDE,
    MIN_STEPS,
    SIDE_MULTIPLE,
    check_prompt,
    check_seed,
    check_side,
    check_steps,
)
from sdturbo.web.studio import NotReady, Served

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)

GENERATE_FIELDS = ("prompt", "steps", "seed", "width", "height", "style", "format", "client_id", "live", "seq")
FORMATS = {"png": "image/png", "jpeg": "image/jpeg"}
SIZES = ((512, 512), (768, 512), (512, 768), (768, 768), (1024, 576), (576, 1024), (1024, 1024))
_CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REQUIRED = object()


def studio():
    return current_app.extensions["sdturbo"]


@bp.get("/healthz")
def healthz():
    health = studio().health()
    return jsonify(health), 200 if health["status"] == "ok" else 503


@bp.post("/predict")
def predict():
    """Baseten Truss sd-turbo contract: {"prompt", "num_steps"} -> {"result": base64 PNG, 512x512}."""
    body = _json_body()
    prompt = _field(body, "prompt", check_prompt)
    steps = _field(body, "num_steps", lambda v: check_steps(v, "num_steps"), 1)
    verdict = studio().validate(prompt, studio().settings.style)
    if not verdict.allowed:
        return _out_of_domain(verdict)
    served = studio().generate(verdict.effective_prompt, steps, None, 512, 512)
    _log_served(served)
    return jsonify(result=_encode(served, "png"))


@bp.post("/api/generate")
def generate():
    """One image with its parameters; out-of-domain prompts get 422 with suggestions."""
    body = _json_body()
    unknown = sorted(set(body) - set(GENERATE_FIELDS))
    if unknown:
        raise InvalidParameterError(unknown[0], f"unknown field; allowed: {', '.join(GENERATE_FIELDS)}")
    prompt = _field(body, "prompt", check_prompt)
    steps = _field(body, "steps", lambda v: check_steps(v, "steps"), 1)
    seed = _field(body, "seed", check_seed, None)
    width = _field(body, "width", lambda v: check_side(v, "width"), 512)
    height = _field(body, "height", lambda v: check_side(v, "height"), 512)
    style = _field(body, "style", _check_style, studio().settings.style)
    fmt = _field(body, "format", _check_format, "png")
    live = _field(body, "live", _check_bool, False)
    client = _field(body, "client_id", _check_client, None)
    seq = _field(body, "seq", lambda v: check_seed(v, "seq"), 0)  # the page's request counter: 0..2**32-1
    verdict = studio().validate(prompt, style)
    if not verdict.allowed:
        return _out_of_domain(verdict)
    # live previews: latest-wins per client, and the fast preview VAE when the server has one
    served = studio().generate(
        verdict.effective_prompt, steps, seed, width, height, client if live else None, live, seq
    )
    _log_served(served)
    r = served.result
    return jsonify(
        image=_encode(served, fmt),
        mime=FORMATS[fmt],
        prompt=prompt,
        seed=r.seed,
        steps=r.steps,
        width=r.width,
        height=r.height,
        style=style,
        effective_prompt=r.prompt,
        parameters=r.parameters,
        model=r.model,
        elapsed_ms=round(r.elapsed_ms, 1),
        queue_ms=round(served.queue_ms, 1),
        total_ms=round(served.total_ms, 1),
        vae=r.vae,
        batch_size=served.batch_size,
    )


@bp.post("/api/validate")
def validate():
    """The validator's verdict alone (the page calls it while the user types)."""
    body = _json_body()
    prompt = _field(body, "prompt", check_prompt)
    style = _field(body, "style", _check_style, studio().settings.style)
    return jsonify(studio().validate(prompt, style).to_dict())


@bp.get("/api/config")
def config():
    """Limits, defaults, presets and model facts for clients."""
    s = studio()
    return jsonify(
        limits={
            "steps": [MIN_STEPS, MAX_STEPS],
            "side": {"min": MIN_SIDE, "max": MAX_SIDE, "multiple": SIDE_MULTIPLE},
            "seed": [0, MAX_SEED],
            "prompt_chars": MAX_PROMPT_CHARS,
        },
        defaults={"steps": 1, "width": 512, "height": 512, "style": s.settings.style, "format": "png"},
        sizes=[list(size) for size in SIZES],
        styles=s.validator.styles,
        formats=list(FORMATS),
        model=s.health(),
        live_debounce_ms=150,
    )


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameterError("body", 'must be a JSON object, e.g. {"prompt": "anime fox"}')
    return body


def _field(body: dict, name: str, check, default=_REQUIRED):
    if name not in body or body[name] is None and default is not _REQUIRED:
        if default is _REQUIRED:
            raise InvalidParameterError(name, "is required")
        return default
    try:
        return check(body[name])
    except InvalidParameterError as err:
        raise InvalidParameterError(name, err.problem) from None


def _check_style(value):
    styles = studio().validator.styles
    if not isinstance(value, str) or value not in styles:
        raise InvalidParameterError("style", f"must be one of {', '.join(styles)}, got {value!r}")
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
    if fmt == "png":
        data = served.result.png_bytes(compress_level=1, rle=True)  # the fast settings; keeps the parameters chunk
    else:
        buffer = io.BytesIO()
        served.result.image.save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
    return base64.b64encode(data).decode("ascii")


def _out_of_domain(verdict: Verdict):
    return jsonify(
        error=f"prompt is outside this tool's anime domain ({verdict.category})",
        field="prompt",
        category=verdict.category,
        reasons=verdict.reasons,
        suggestions=verdict.suggestions,
        verdict=verdict.to_dict(),
    ), 422


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


def _error(status: int, message: str, field: str | None = None, retry_after: int | None = None):
    response = jsonify({"error": message, **({"field": field} if field else {})})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(InvalidParameterError)
def _invalid(err: InvalidParameterError):
    return _error(400, f"{err.field}: {err.problem}", err.field)


@bp.errorhandler(QueueFull)
def _busy(err: QueueFull):
    return _error(503, f"server busy: {err}", retry_after=1)


@bp.errorhandler(NotReady)
def _not_ready(err: NotReady):
    return _error(503, str(err), retry_after=5)


@bp.errorhandler(JobExpired)
def _expired(err: JobExpired):
    return _error(504, f"timed out in the queue: {err}")


@bp.errorhandler(JobSuperseded)
def _superseded(err: JobSuperseded):
    return _error(409, str(err))


@bp.errorhandler(BatchFailed)
def _failed(err: BatchFailed):
    return _error(500, str(err))


@bp.errorhandler(TimeoutError)
def _no_answer(err: TimeoutError):
    return _error(504, "no result in time: the generation worker did not answer")
