"""AUTOMATIC1111's web API, the endpoints beside generation (docs/COMPAT.md): what clients ask before
generating (models, samplers, options, styles, progress), lists of features this server has none of,
and PNG Info."""

from __future__ import annotations

import io
import time

from flask import Blueprint, jsonify
from PIL import Image

from sdturbo import init_image, metadata
from sdturbo.errors import InvalidParameterError
from sdturbo.library.infotext import parse_parameters
from sdturbo.web.common import field, json_body, studio

bp = Blueprint("a1111_info", __name__, url_prefix="/sdapi/v1")
SAMPLER = "Euler"  # SD-Turbo's scheduler: Euler, trailing timesteps


def title() -> str:
    return studio().settings.model


def model_names() -> tuple[str, ...]:
    name = model_label()
    return (name, title(), f"{name}.safetensors")


def model_label() -> str:
    """The model's short label (sd-turbo, tiny-random, a folder's name), never a path on this machine."""
    return str(studio().engine.info().get("label") or title())


@bp.get("/sd-models")
def sd_models():
    label = model_label()
    return jsonify(
        [{"title": label, "model_name": label, "hash": None, "sha256": None, "filename": label, "config": None}]
    )


@bp.get("/samplers")
def samplers():
    return jsonify([{"name": SAMPLER, "aliases": ["k_euler"], "options": {}}])


@bp.get("/schedulers")
def schedulers():
    return jsonify(
        [{"name": "automatic", "label": "Automatic", "aliases": None, "default_rho": -1, "need_inner_model": False}]
    )


@bp.get("/options")
def get_options():
    return jsonify(options())


@bp.post("/options")
def set_options():
    """Accepted when it asks for nothing this server cannot honour (its one model, its one format)."""
    body = json_body()
    current = options()
    for key, value in body.items():
        if key == "sd_model_checkpoint" and value in model_names():
            continue
        if key not in current:
            raise InvalidParameterError(key, f"is not a setting of this server; it has {', '.join(current)}")
        if current[key] != value or type(current[key]) is not type(value):
            raise InvalidParameterError(key, f"cannot be changed on this server (it is {current[key]!r:.60})")
    return jsonify(None)


def options() -> dict:
    return {
        "sd_model_checkpoint": model_label(),
        "sd_checkpoint_hash": None,
        "samples_format": "png",
        "CLIP_stop_at_last_layers": 1,
        "enable_pnginfo": True,
        "randn_source": "CPU",
        "eta_noise_seed_delta": 0,
    }


@bp.get("/prompt-styles")
def prompt_styles():
    styles = studio().validator.styles
    return jsonify([{"name": name, "prompt": template, "negative_prompt": ""} for name, template in styles.items()])


@bp.get("/progress")
def progress():
    """Whether the worker is busy and how many images wait; per-step progress is not tracked (a batch
    takes tens of milliseconds on a GPU)."""
    activity = studio().activity()
    jobs = activity["running"] + activity["queued"]
    state = {
        "skipped": False,
        "interrupted": False,
        "job": "generating" if activity["running"] else "",
        "job_count": jobs,
        "job_timestamp": time.strftime("%Y%m%d%H%M%S"),
        "job_no": 0,
        "sampling_step": 0,
        "sampling_steps": 0,
    }
    textinfo = f"{activity['running']} image(s) being made, {activity['queued']} waiting" if jobs else None
    return jsonify(progress=0.0, eta_relative=0.0, state=state, current_image=None, textinfo=textinfo)


# what A1111 lists for features this server does not have: empty, so clients (webuiapi reads /scripts
# when it starts) add nothing for them
EMPTY_LISTS = {
    "scripts": {"txt2img": [], "img2img": []},
    "upscalers": [],
    "latent-upscale-modes": [],
    "sd-vae": [],
    "loras": [],
    "hypernetworks": [],
    "face-restorers": [],
    "embeddings": {"loaded": {}, "skipped": {}},
}


def _empty_list(name: str):
    return jsonify(EMPTY_LISTS[name])


for _name in EMPTY_LISTS:
    bp.add_url_rule(f"/{_name}", f"empty_{_name}", _empty_list, methods=["GET"], defaults={"name": _name})


@bp.post("/png-info")
def png_info():
    """{image: base64} -> {info, items, parameters} as A1111's PNG Info reads them (PNG text or EXIF)."""
    body = json_body()
    image = field(body, "image")
    if not isinstance(image, str):
        raise InvalidParameterError("image", f"must be a base64 image, got {type(image).__name__}")
    data = init_image.from_base64(image, "image")
    try:
        info = metadata.read_parameters(io.BytesIO(data))
        items = _text_items(data)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidParameterError("image", "must be a PNG, JPEG or WebP image") from None
    return jsonify(info=info or "", items=items, parameters=_parsed(info) if info else {})


def _text_items(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return {k: v for k, v in image.info.items() if isinstance(v, str) and k != "parameters"}


def _parsed(text: str) -> dict:
    """A1111's parse_generation_parameters result: Prompt, Negative prompt, the settings, Size-1/Size-2."""
    parsed = parse_parameters(text)
    fields = dict(parsed.fields)
    if parsed.size:
        fields.pop("Size", None)
        fields["Size-1"], fields["Size-2"] = (str(side) for side in parsed.size)
    return {"Prompt": parsed.prompt, "Negative prompt": parsed.negative_prompt, **fields}
