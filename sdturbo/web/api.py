"""JSON API: Truss-compatible /predict, /api/generate, /api/validate, /api/config, /healthz."""

from __future__ import annotations

import base64
import io
import logging
import re
from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, request

from sdturbo.batching import BatchFailed, JobExpired, JobSuperseded, QueueFull
from sdturbo.errors import InvalidParameterError, field_names
from sdturbo.params import check_seed
from sdturbo.studio import NotReady, OutOfDomain, Served

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)

GENERATE_FIELDS = ("prompt", "steps", "seed", "width", "height", "style", "format", "client_id", "live", "seq")
FORMATS = {"png": "image/png", "jpeg": "image/jpeg"}
DEFAULT_FORMAT = "png"
LIVE_DEBOUNCE_MS = 150  # how long the page waits after a keystroke before a live request
_CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REQUIRED = object()


@dataclass(frozen=True)
class Delivery:
    """How /api/generate answers, beside the image request itself."""

    format: str = DEFAULT_FORMAT
    client: str | None = None  # live mode: this client's newest request wins
    seq: int = 0  # the page's request counter, 0..2**32-1


def studio():
    return current_app.extensions["sdturbo"]


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
    """Baseten Truss sd-turbo contract: {"prompt", "num_steps"} -> {"result": base64 PNG, 512x512}."""
    body = _json_body()
    with field_names({"steps": "num_steps"}):
        request = studio().prepare(_field(body, "prompt"), steps=body.get("num_steps"))  # width, height: 512
    served = studio().submit(request)
    _log_served(served)
    return jsonify(result=_encode(served, "png"))


@bp.post("/api/generate")
def generate():
    """One image with its parameters; out-of-domain prompts get 422 with suggestions."""
    body = _json_body()
    unknown = sorted(set(body) - set(GENERATE_FIELDS))
    if unknown:
        raise InvalidParameterError(unknown[0], f"unknown field; allowed: {', '.join(GENERATE_FIELDS)}")
    live = _field(body, "live", False, _check_bool)
    client = _field(body, "client_id", None, _check_client)
    delivery = Delivery(
        format=_field(body, "format", DEFAULT_FORMAT, _check_format),
        client=client if live else None,
        seq=_field(body, "seq", 0, lambda v: check_seed(v, "seq")),
    )
    # live previews decode with the fast preview VAE when the server has one
    # the studio checks these (null or absent: its default)
    request = studio().prepare(
        _field(body, "prompt"),
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
    )


@bp.post("/api/validate")
def validate():
    """The validator's verdict alone (the page calls it while the user types); the same check as generate."""
    body = _json_body()
    return jsonify(studio().check(_field(body, "prompt"), body.get("style")).to_dict())


@bp.get("/api/config")
def config():
    """Limits, defaults, presets and model facts for clients."""
    return jsonify(**client_options(), model=studio().health())


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameterError("body", 'must be a JSON object, e.g. {"prompt": "anime fox"}')
    return body


def _field(body: dict, name: str, default=_REQUIRED, check=None):
    """A required field, or one the studio does not take (checked here by `check`); null means the default."""
    value = body.get(name)
    if value is None:
        if default is _REQUIRED:
            raise InvalidParameterError(name, "is required")
        return default
    return check(value) if check else value


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
        data = served.result.png_bytes(fast=True)  # keeps the parameters chunk
    else:
        buffer = io.BytesIO()
        served.result.image.save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
    return base64.b64encode(data).decode("ascii")


@bp.errorhandler(OutOfDomain)
def _out_of_domain(err: OutOfDomain):
    verdict = err.verdict
    return jsonify(
        error=str(err),
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
