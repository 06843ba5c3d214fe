"""AUTOMATIC1111's web API (/sdapi/v1/*) over the studio (docs/COMPAT.md).

txt2img and img2img decode A1111's field names into the studio's one request. A1111 fields that
would change the image in a way SD-Turbo cannot honour (guidance, negative prompts, other samplers,
hires fix, inpainting, ...) are refused with a 422 naming the field; fields that cannot change the
image are accepted. The other endpoints answer what clients ask before generating (models,
samplers, options, styles, progress) and read settings from a PNG.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, jsonify

from sdturbo import init_image, params
from sdturbo.errors import InvalidParameterError, field_names
from sdturbo.web import a1111_info
from sdturbo.web.common import Problem, b64, field, image_bytes, json_body, json_error, make_images, studio

bp = Blueprint("a1111", __name__, url_prefix="/sdapi/v1")
log = logging.getLogger(__name__)

GROUP = "a1111"  # the studio's cancel group of these requests: /interrupt cancels them
SAMPLER = a1111_info.SAMPLER
SAMPLER_ALIASES = ("Euler", "k_euler")
ONE_STEP_SAMPLERS = ("Euler a", "k_euler_a")  # ancestral noise is added after the last step: none at one step
SCHEDULERS = ("Automatic", "automatic")
DEFAULT_DENOISING = 0.75  # A1111's img2img default
VERSION = "sdturbo"

# A1111's txt2img/img2img fields that cannot change the image here, whatever their value
HARMLESS = {
    "save_images", "do_not_save_samples", "do_not_save_grid", "override_settings_restore_afterwards",
    "comments", "force_task_id", "disable_extra_networks", "infotext", "eta", "s_min_uncond", "s_tmax",
    "s_tmin", "s_noise", "subseed", "refiner_switch_at", "script_args", "include_init_images",
    "image_cfg_scale", "sampler_index",
}  # fmt: skip
# hires-fix and inpainting settings: harmless while enable_hr is off / no mask is given (both checked)
HIRES = {
    "firstphase_width", "firstphase_height", "hr_scale", "hr_upscaler", "hr_second_pass_steps", "hr_resize_x",
    "hr_resize_y", "hr_checkpoint_name", "hr_sampler_name", "hr_scheduler", "hr_prompt", "hr_negative_prompt",
}  # fmt: skip
INPAINT = {
    "inpainting_fill", "inpaint_full_res", "inpaint_full_res_padding", "inpainting_mask_invert", "mask_blur",
    "mask_blur_x", "mask_blur_y", "mask_round",
}  # fmt: skip
# fields that change the image: allowed only at their neutral values (the studio's own way of drawing)
NEUTRAL = {
    "restore_faces": (False, None),
    "tiling": (False, None),
    "enable_hr": (False, None),
    "subseed_strength": (0, None),
    "seed_resize_from_h": (-1, 0, None),
    "seed_resize_from_w": (-1, 0, None),
    "s_churn": (0, None),
    "script_name": ("", None),
    "alwayson_scripts": ({}, None),
    "mask": ("", None),
    "latent_mask": ("", None),
    "firstpass_image": ("", None),
    "initial_noise_multiplier": (1, None),
    "refiner_checkpoint": ("", "None", None),
}
WHY = {
    "negative_prompt": 'SD-Turbo runs without guidance, so a negative prompt has no effect; send ""',
    "restore_faces": "face restoration is not available; send false",
    "tiling": "tiling is not available; send false",
    "enable_hr": "hires fix is not available: ask for the size you want (up to 1024) or use /api/upscale",
    "mask": "this studio does not inpaint; send no mask",
    "script_name": "scripts are not available",
    "alwayson_scripts": "extensions (ControlNet, ...) are not available; send {}",
}
GENERATION_FIELDS = {"prompt", "negative_prompt", "styles", "seed", "steps", "cfg_scale", "sampler_name", "scheduler",
                     "width", "height",
                     "batch_size", "n_iter", "denoising_strength", "override_settings", "send_images"}  # fmt: skip
IMG2IMG_FIELDS = {"init_images", "resize_mode"}


@bp.post("/txt2img")
def txt2img():
    body = json_body()
    return _generate(body, img2img=False)


@bp.post("/img2img")
def img2img():
    body = json_body()
    return _generate(body, img2img=True)


def _generate(body: dict, img2img: bool):
    """Decode an A1111 body into the studio's request, make batch_size x n_iter images, answer A1111's way."""
    _refuse(body)
    notes = _ignored(body, img2img)  # what was adjusted or ignored: info["warnings"]
    steps = _steps(body, img2img, notes)
    _guidance(body, steps, notes)
    field(body, "override_settings", {}, lambda v: _override(v, notes))
    count = _count(body)
    seed = field(body, "seed", -1, _seed)
    send = field(body, "send_images", True, lambda v: _bool("send_images", v))
    width, height = (field(body, name, params.DEFAULT_SIDE) for name in ("width", "height"))
    extra = {}
    if img2img:
        size = (params.check_side(width, "width"), params.check_side(height, "height"))
        extra = {
            "init_image": _init_image(body, size),
            "strength": field(body, "denoising_strength", DEFAULT_DENOISING),
        }
        width = height = None  # the init image is fitted to them: the request takes its size
    with field_names({"strength": "denoising_strength", "image": "init_images", "style": "styles"}):
        request_ = studio().prepare(
            field(body, "prompt"),
            style=_style(body),
            steps=steps,
            seed=None if seed == -1 else seed,
            width=width,
            height=height,
            **extra,
        )
    if notes:
        log.info("A1111 request adjusted: %s", "; ".join(notes))
    made = make_images(request_, count, seeded=seed != -1, group=GROUP)  # fewer than `count`: interrupted
    answer = _response(body, made, request_, img2img, notes, interrupted=len(made) < count)
    if not send:
        answer["images"] = []
    return jsonify(answer)


def _response(body: dict, made: list, request_, img2img: bool, notes: list[str], interrupted: bool) -> dict:
    results = [served.result for _, served in made]
    first = results[0] if results else None
    seeds = [r.seed for r in results]
    info = {
        "prompt": request_.user_prompt,
        "all_prompts": [r.prompt for r in results],
        "negative_prompt": "",
        "all_negative_prompts": ["" for _ in results],
        "seed": seeds[0] if seeds else request_.seed,
        "all_seeds": seeds,
        "subseed": -1,
        "all_subseeds": [-1 for _ in results],
        "subseed_strength": 0,
        "width": request_.width,
        "height": request_.height,
        "sampler_name": SAMPLER,
        "cfg_scale": 0,
        "steps": request_.steps,
        "batch_size": body.get("batch_size") or 1,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": first.model if first else None,
        "sd_model_hash": None,
        "sd_vae_name": first.vae if first else None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": request_.strength if img2img else body.get("denoising_strength"),
        "extra_generation_params": {"RNG": "CPU"},
        "index_of_first_image": 0,
        "infotexts": [r.parameters for r in results],
        "styles": [] if request_.style == "none" else [request_.style],
        "job_timestamp": time.strftime("%Y%m%d%H%M%S"),
        "clip_skip": 1,
        "is_using_inpainting_conditioning": False,
        "version": VERSION,
        "interrupted": interrupted,
        "warnings": notes,
        "library_ids": [served.kept.entry.id if served.kept.entry else None for _, served in made],
    }
    images = [b64(image_bytes(served)) for _, served in made]
    parameters = {name: value for name, value in body.items() if name in known_fields(img2img)}
    parameters.update(steps=request_.steps, width=request_.width, height=request_.height, sampler_name=SAMPLER)
    parameters.update(cfg_scale=0, negative_prompt="", denoising_strength=info["denoising_strength"])
    parameters.update(styles=info["styles"], init_images=None, mask=None)
    return {"images": images, "parameters": parameters, "info": json.dumps(info)}


def known_fields(img2img: bool) -> set[str]:
    """The A1111 field names txt2img (or img2img) takes."""
    return GENERATION_FIELDS | HARMLESS | set(NEUTRAL) | (IMG2IMG_FIELDS | INPAINT if img2img else HIRES)


def _refuse(body: dict) -> None:
    """Refuse A1111 features SD-Turbo does not have (hires fix, inpainting, scripts, ...) unless left off."""
    for name, neutral in NEUTRAL.items():
        value = body.get(name)
        if value is not None and (value not in neutral or isinstance(value, bool) != isinstance(neutral[0], bool)):
            why = WHY.get(name, f"must be {neutral[0]!r} (SD-Turbo cannot honour another value)")
            raise InvalidParameterError(name, f"{why}; got {value!r:.60}")


def _ignored(body: dict, img2img: bool) -> list[str]:
    """A1111 ignores fields it does not know, and clients rely on it (SillyTavern sends its own): so do we,
    and say so."""
    unknown = sorted(set(body) - known_fields(img2img))
    return [f"ignored fields that are not A1111's: {', '.join(unknown)}"] if unknown else []


def _steps(body: dict, img2img: bool, notes: list[str]) -> int:
    """A1111 clients default to 20-50 steps; SD-Turbo draws in 1-4: more than 4 is drawn at 4, and said."""
    # any whole number from 1: A1111 has no upper limit, and more than 4 is drawn at 4 here
    steps = field(body, "steps", None, lambda v: params.check_count(v, "steps", 1, 2**63))
    if steps is None:  # the studio's defaults: 1 step; image-to-image 2 (with A1111's strength 0.75: 1 step)
        return params.DEFAULT_IMG2IMG_STEPS if img2img else params.DEFAULT_STEPS
    if steps > params.MAX_STEPS:
        notes.append(f"steps {steps} -> {params.MAX_STEPS}: SD-Turbo draws in 1-{params.MAX_STEPS} steps")
        return params.MAX_STEPS
    return steps


def _guidance(body: dict, steps: int, notes: list[str]) -> None:
    """Guidance, negative prompt, sampler and scheduler: SD-Turbo has one way to draw (Euler, no guidance).
    The values every A1111 client sends by default (CFG 7, "Euler a", ...) are drawn that way, and said."""
    cfg = body.get("cfg_scale")
    if cfg is not None and (isinstance(cfg, bool) or not isinstance(cfg, int | float) or cfg < 0):
        raise InvalidParameterError("cfg_scale", f"must be a number of at least 0, got {cfg!r:.60}")
    if cfg not in (None, 0, 1):
        notes.append(f"cfg_scale {cfg:g} -> 0: SD-Turbo draws without guidance")
    negative = body.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise InvalidParameterError("negative_prompt", f"must be a string, got {type(negative).__name__}")
    if negative and negative.strip():
        notes.append("negative_prompt ignored: without guidance it has no effect")
    for name in ("sampler_name", "sampler_index", "scheduler"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidParameterError(name, f"must be a name (text), got {body[name]!r:.60}")
    name = "sampler_name" if body.get("sampler_name") else "sampler_index"  # A1111: sampler_name or sampler_index
    sampler = body.get(name)
    if sampler not in (None, "", *SAMPLER_ALIASES) and not (sampler in ONE_STEP_SAMPLERS and steps == 1):
        notes.append(f"sampler {sampler!r} -> {SAMPLER!r}: SD-Turbo's one sampler")
    scheduler = body.get("scheduler")
    if scheduler not in (None, "", *SCHEDULERS):
        notes.append(f"scheduler {scheduler!r:.40} -> 'Automatic' (trailing timesteps)")


def _count(body: dict) -> int:
    batch = field(body, "batch_size", 1, lambda v: params.check_count(v, "batch_size", 1, params.MAX_VARIATIONS))
    iterations = field(body, "n_iter", 1, lambda v: params.check_count(v, "n_iter", 1, params.MAX_VARIATIONS))
    if batch * iterations > params.MAX_VARIATIONS:
        raise InvalidParameterError(
            "n_iter", f"batch_size x n_iter must be at most {params.MAX_VARIATIONS}, got {batch} x {iterations}"
        )
    return batch * iterations


def _seed(value) -> int:
    if value == -1 and not isinstance(value, bool):
        return -1
    return params.check_seed(value, "seed")


def _style(body: dict) -> str:
    """A1111's styles: none (the prompt as written, as in A1111) or one of the studio's presets."""
    styles = field(body, "styles", [], lambda v: v)
    if not isinstance(styles, list) or len(styles) > 1 or not all(isinstance(s, str) for s in styles):
        raise InvalidParameterError("styles", f"must be a list of at most one style name, got {styles!r:.60}")
    return styles[0] if styles else "none"


def _override(value, notes: list[str]) -> dict:
    """Another model cannot be honoured (422); other settings are ignored, and said."""
    if not isinstance(value, dict):
        raise InvalidParameterError("override_settings", f"must be an object, got {value!r:.60}")
    current = a1111_info.options()
    for key, setting in value.items():
        if key == "sd_model_checkpoint":
            if setting not in a1111_info.model_names():
                raise InvalidParameterError(
                    "override_settings",
                    f"sd_model_checkpoint={setting!r:.60}: this server has one model, {a1111_info.model_label()}",
                )
        elif key not in current or current[key] != setting:
            notes.append(f"override_settings.{key} ignored")
    return value


def _init_image(body: dict, size: tuple[int, int]):
    images = body.get("init_images")
    if not isinstance(images, list) or len(images) != 1 or not isinstance(images[0], str):
        raise InvalidParameterError("init_images", "must be a list of one base64 image")
    resize_mode = field(body, "resize_mode", 0, lambda v: v)
    if resize_mode not in (0, 1) or isinstance(resize_mode, bool):
        raise InvalidParameterError(
            "resize_mode", f"must be 0 (just resize) or 1 (crop and resize); got {resize_mode!r:.60}"
        )
    data = init_image.from_base64(images[0], "init_images")
    if resize_mode == 1:
        return init_image.load(data, size, "init_images").image
    return init_image.read(data, "init_images").resize(size, init_image.Image.Resampling.LANCZOS)


def _bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(name, f"must be true or false, got {value!r:.60}")
    return value


@bp.post("/interrupt")
def interrupt():
    """Cancel the A1111 requests still queued; answers {} as A1111 does (clients call .json() on it)."""
    log.info("interrupt: %d queued A1111 request(s) cancelled", studio().interrupt(GROUP))
    return jsonify({})


@bp.post("/skip")
def skip():
    return jsonify({})


def answer_problem(problem: Problem):
    """An error in A1111's shape ({"error", "detail", "body", "errors"}); a refused field is 422 as in A1111."""
    status = 422 if problem.status == 400 else problem.status
    body = {
        "error": problem.code or "error",
        "detail": problem.message,
        "body": "",
        "errors": problem.message,
        **({"field": problem.field} if problem.field else {}),
        **problem.extra,
    }
    return json_error(status, body, problem.retry_after)
