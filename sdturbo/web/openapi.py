"""The OpenAPI 3.1 document (/openapi.json) and its readable page (/docs), built from the routes' own
field lists, so a field added to a route appears here (tests/test_openapi.py checks every route)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, jsonify, render_template

from sdturbo import params
from sdturbo.web import a1111, a1111_info, api, openai_api
from sdturbo.web.library import PATCH_FIELDS

bp = Blueprint("openapi", __name__)

STRING, BOOL, OBJECT = {"type": "string"}, {"type": "boolean"}, {"type": "object"}
INT = {"type": "integer"}
SIDE = {"type": "integer", "minimum": params.MIN_SIDE, "maximum": params.MAX_SIDE, "multipleOf": params.SIDE_MULTIPLE}
BASE64 = {"type": "string", "contentEncoding": "base64", "description": "a PNG, JPEG or WebP image, base64"}
FILE = {"type": "string", "contentMediaType": "application/octet-stream", "description": "a PNG, JPEG or WebP file"}
ANY = {"description": "accepted; see docs/COMPAT.md"}
# every field a route reads, by name: one schema per name (a route's own differences are in COMPAT.md)
FIELDS = {
    "prompt": {"type": "string", "minLength": 1, "maxLength": params.MAX_PROMPT_CHARS},
    "steps": {"type": "integer", "minimum": params.MIN_STEPS, "maximum": params.MAX_STEPS},
    "num_steps": {"type": ["integer", "number", "string"], "description": "1-4, read as int() reads it"},
    "seed": {"type": "integer", "minimum": 0, "maximum": params.MAX_SEED, "description": "absent: random"},
    "width": SIDE,
    "height": SIDE,
    "style": {"type": "string", "description": "a style preset name (GET /api/config lists them)"},
    "format": {"type": "string", "enum": list(api.FORMATS)},
    "client_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
    "live": BOOL,
    "seq": {"type": "integer", "minimum": 0, "maximum": params.MAX_SEED},
    "n": {"type": "integer", "minimum": 1, "maximum": params.MAX_VARIATIONS},
    "image": BASE64,
    "library_id": {"type": "integer", "minimum": 1},
    "init_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "strength": {"type": "number", "minimum": params.MIN_STRENGTH, "maximum": params.MAX_STRENGTH},
    "starred": BOOL,
    "note": STRING,
    "collections": {"type": "array", "items": INT},
    "size": {"type": "string", "pattern": "^[0-9]+x[0-9]+$|^auto$", "examples": ["512x512"]},
    "response_format": {"type": "string", "enum": ["b64_json", "url"]},
    "model": STRING,
    "user": {"type": "string", "maxLength": 256},
    "quality": {"type": "string", "enum": ["auto", *openai_api.QUALITY_STEPS]},
    "output_format": {"type": "string", "enum": ["png", "jpeg", "webp"]},
    "output_compression": {"type": "integer", "minimum": 0, "maximum": 100},
    "background": {"type": "string", "enum": ["auto", "opaque"]},
    "moderation": {"type": "string", "enum": ["auto", "low"]},
    "stream": {"type": "boolean", "const": False},
    "partial_images": {"type": "integer", "const": 0},
    "mask": {"description": "refused: this studio does not inpaint"},
    "input_fidelity": {"type": "string", "enum": ["low", "high"]},
    "image[]": FILE,
    "styles": {"type": "array", "items": STRING, "maxItems": 1},
    "cfg_scale": {"type": "number", "minimum": 0, "description": "drawn without guidance; other than 0/1 is reported"},
    "negative_prompt": {"type": "string", "description": "no effect without guidance; a non-empty one is reported"},
    "sampler_name": {"type": "string", "description": "Euler; any other is drawn with Euler and reported"},
    "scheduler": {"type": "string", "description": "Automatic; any other is reported"},
    "batch_size": {"type": "integer", "minimum": 1, "maximum": params.MAX_VARIATIONS},
    "n_iter": {"type": "integer", "minimum": 1, "maximum": params.MAX_VARIATIONS},
    "denoising_strength": {"type": "number", "minimum": params.MIN_STRENGTH, "maximum": params.MAX_STRENGTH},
    "override_settings": OBJECT,
    "send_images": BOOL,
    "init_images": {"type": "array", "items": BASE64, "minItems": 1, "maxItems": 1},
    "resize_mode": {"type": "integer", "enum": [0, 1]},
}


@dataclass(frozen=True)
class Operation:
    """One route: what it does and the fields of its JSON (or multipart) body."""

    method: str
    path: str  # OpenAPI style: /api/library/{entry_id}
    tag: str
    summary: str
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    media: tuple[str, ...] = ("application/json",)  # how the body may come
    answers: str = "application/json"


JSON, FORM = ("application/json",), ("multipart/form-data",)
GENERATE, IMG2IMG = api.GENERATE_FIELDS, api.IMG2IMG_FIELDS
A1111_TXT2IMG = tuple(sorted(a1111.known_fields(img2img=False)))
A1111_IMG2IMG = tuple(sorted(a1111.known_fields(img2img=True)))
OPERATIONS = (
    Operation("get", "/healthz", "studio", "503 while the model loads, then 200 with model, device and queue facts"),
    Operation(
        "post", "/predict", "truss", "Baseten Truss sd-turbo: a 512x512 PNG", ("prompt", "num_steps"), ("prompt",)
    ),
    Operation("post", "/api/generate", "studio", "Text to image (n variations)", GENERATE, ("prompt",)),
    Operation(
        "post", "/api/img2img", "studio", "Image to image (JSON or multipart)", IMG2IMG, ("prompt",), (*JSON, *FORM)
    ),
    Operation("post", "/api/upscale", "studio", "A library image made again at twice its size", api.UPSCALE_FIELDS),
    Operation("post", "/api/validate", "studio", "The domain validator's verdict", ("prompt", "style"), ("prompt",)),
    Operation("get", "/api/config", "studio", "Limits, defaults, sizes, style presets, model facts"),
    Operation("get", "/api/library", "library", "List and search the library (docs/LIBRARY.md)"),
    Operation("get", "/api/library/{entry_id}", "library", "One library entry"),
    Operation("patch", "/api/library/{entry_id}", "library", "Star, note, collections", PATCH_FIELDS),
    Operation("delete", "/api/library/{entry_id}", "library", "Delete one image"),
    Operation("post", "/api/library/delete", "library", "Delete many images", ("ids",)),
    Operation(
        "post", "/api/library/export", "library", "A zip of images with a manifest", ("ids",), answers="application/zip"
    ),
    Operation("post", "/api/library/{preview_id}/keep", "library", "Keep a live preview", ("starred",)),
    Operation("get", "/api/collections", "library", "All collections"),
    Operation("post", "/api/collections", "library", "Create a collection", ("name",)),
    Operation("patch", "/api/collections/{cid}", "library", "Rename a collection", ("name",)),
    Operation("delete", "/api/collections/{cid}", "library", "Delete a collection (its images stay)"),
    Operation("post", "/api/collections/{cid}/images", "library", "Add and remove images", ("add", "remove")),
    Operation("post", "/api/png-info", "library", "Settings read from an uploaded PNG", ("file",), ("file",), FORM),
    Operation("get", "/library/{entry_id}.png", "library", "A library image, with its settings", answers="image/png"),
    Operation("get", "/library/{entry_id}.thumb", "library", "Its 256 px thumbnail", answers="image/webp"),
    Operation(
        "post", "/v1/images/generations", "openai", "OpenAI: text to image", openai_api.GENERATION_FIELDS, ("prompt",)
    ),
    Operation(
        "post",
        "/v1/images/edits",
        "openai",
        "OpenAI: image to image",
        openai_api.EDIT_FIELDS,
        ("prompt", "image"),
        FORM,
    ),
    Operation(
        "post", "/v1/images/variations", "openai", "OpenAI: variations", openai_api.VARIATION_FIELDS, ("image",), FORM
    ),
    Operation("post", "/sdapi/v1/txt2img", "a1111", "AUTOMATIC1111: text to image", A1111_TXT2IMG, ("prompt",)),
    Operation(
        "post", "/sdapi/v1/img2img", "a1111", "AUTOMATIC1111: image to image", A1111_IMG2IMG, ("prompt", "init_images")
    ),
    Operation("get", "/sdapi/v1/sd-models", "a1111", "The loaded model"),
    Operation("get", "/sdapi/v1/samplers", "a1111", "Euler, the one sampler"),
    Operation("get", "/sdapi/v1/schedulers", "a1111", "Automatic, the one scheduler"),
    Operation("get", "/sdapi/v1/options", "a1111", "sd_model_checkpoint and a few read-only settings"),
    Operation(
        "post", "/sdapi/v1/options", "a1111", "Accepted when it changes nothing this server cannot honour", ("*",)
    ),
    Operation("get", "/sdapi/v1/prompt-styles", "a1111", "The style presets"),
    Operation("get", "/sdapi/v1/progress", "a1111", "Whether the worker is busy, and how many images wait"),
    Operation("post", "/sdapi/v1/interrupt", "a1111", "Cancel the A1111 requests still queued"),
    Operation("post", "/sdapi/v1/skip", "a1111", "Accepted; nothing to skip (batches take milliseconds)"),
    *(
        Operation("get", f"/sdapi/v1/{name}", "a1111", "Empty: this server has none (clients add nothing for them)")
        for name in a1111_info.EMPTY_LISTS
    ),
    Operation(
        "post", "/sdapi/v1/png-info", "a1111", "Settings from a base64 PNG, JPEG or WebP", ("image",), ("image",)
    ),
    Operation("get", "/api/session", "studio", "Whether this server needs an access key, and whether it was given"),
    Operation(
        "post", "/api/session", "studio", "Give the access key once (kept in a cookie for the session)", ("key",)
    ),
    Operation("delete", "/api/session", "studio", "Forget the access key (log out)"),
    Operation("get", "/openapi.json", "docs", "This document"),
    Operation("get", "/docs", "docs", "This document as a page", answers="text/html"),
)
# A1111's own meaning of a few names (docs/COMPAT.md)
A1111_FIELDS = {
    "seed": {"type": "integer", "minimum": -1, "maximum": params.MAX_SEED, "description": "-1: random"},
    "steps": {"type": "integer", "minimum": 1, "description": "1-4; more is drawn at 4, and reported"},
    "denoising_strength": {"type": "number", "description": "img2img: 0.1-1.0, steps x strength >= 1; txt2img: unused"},
}
FILES = ("image", "image[]", "file", "mask")  # sent as files in multipart forms
IDS = {"type": "array", "items": INT}
EXTRA_FIELDS = {"key": STRING, "ids": IDS, "name": STRING, "add": IDS, "remove": IDS, "file": FILE}


def field_schema(name: str, tag: str = "") -> dict:
    """The schema of a field (`tag`: the operation's dialect); A1111 fields that cannot change the image:
    "accepted"; A1111 features SD-Turbo lacks: their "off" values only."""
    if tag == "a1111" and name in a1111.NEUTRAL:
        off = [value for value in a1111.NEUTRAL[name] if value is not None]
        return {"enum": off, "description": "only off: SD-Turbo has no such feature (422 otherwise)"}
    return (A1111_FIELDS.get(name) if tag == "a1111" else None) or FIELDS.get(name) or EXTRA_FIELDS.get(name) or ANY


def document() -> dict:
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SD-Turbo anime studio",
            "version": "1",
            "description": "The studio's own API, the OpenAI images API, AUTOMATIC1111's API and Baseten Truss's "
            "/predict over one request path (docs/COMPAT.md).",
        },
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}},
    }


_ERROR = {
    "type": "object",
    "description": "The studio's {error, field}; under /v1 OpenAI's {error: {message, type, param, code}}; under "
    "/sdapi A1111's {error, detail, body, errors}",
}


def _operation(op: Operation) -> dict:
    operation: dict = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": f"{op.method}_{re.sub(r'[^A-Za-z0-9]+', '_', op.path).strip('_')}",
        "responses": {
            "200": {"description": "OK", "content": {op.answers: {"schema": OBJECT if "json" in op.answers else {}}}},
            "default": {
                "description": "An error naming the field and what is allowed",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": STRING if name == "preview_id" else INT}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    if parameters:
        operation["parameters"] = parameters
    if op.fields:
        content = {media: {"schema": _body_schema(op, media)} for media in op.media}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def _body_schema(op: Operation, media: str) -> dict:
    """The body's fields; in a multipart form an image is a file; "*": any object (A1111's options)."""
    if op.fields == ("*",):
        return {"type": "object", "additionalProperties": True}
    form = media == "multipart/form-data"
    properties = {name: FILE if form and name in FILES else field_schema(name, op.tag) for name in op.fields}
    return {"type": "object", "properties": properties, **({"required": list(op.required)} if op.required else {})}


def route_operations(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route of `app` but the pages and static files."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "pages.index", "pages.favicon", "library.page"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule)
        found |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
def docs():
    return render_template("docs.html", operations=OPERATIONS, schema=field_schema)
