"""Flask application factory. Web modules never import torch: the engine is built lazily."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from sdturbo.config import Settings
from sdturbo.library.pnginfo import MAX_UPLOAD_BYTES
from sdturbo.studio import Studio
from sdturbo.web import a1111, a1111_info, api, errors, library, openai_api, openapi, pages, security

ROOT = Path(__file__).resolve().parents[2]  # the project folder with templates/ and static/


class StrictJSON(DefaultJSONProvider):
    """JSON as the standard has it: NaN and Infinity are refused (Python's json reads them, and
    JavaScript clients could not read them echoed back); answers keep their keys' order."""

    sort_keys = False

    def loads(self, s, **kwargs):
        try:
            value = json.loads(s, parse_constant=_not_json, **kwargs)
        except RecursionError:
            raise ValueError(f"nested more than {MAX_DEPTH} levels") from None
        _check_depth(value)
        return value


MAX_DEPTH = 32  # no request of this API nests deeper than 4; a deeper body is an attack or a mistake


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_depth(value) -> None:
    """Raise ValueError if `value` nests lists and objects more than MAX_DEPTH levels deep (no recursion)."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise ValueError(f"nested more than {MAX_DEPTH} levels")


def create_app(settings: Settings | None = None, engine=None, *, validator=None, background: bool = True) -> Flask:
    """A Flask app owning one warm engine; it loads in the background and /healthz says when ready."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.json = StrictJSON(app)
    # a 20 MB image as base64 in a JSON body (4/3 larger), or as a file with its multipart wrapping
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES * 4 // 3 + 2**20
    app.register_blueprint(api.bp)
    app.register_blueprint(library.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(openai_api.bp)
    app.register_blueprint(a1111.bp)
    app.register_blueprint(a1111_info.bp)
    app.register_blueprint(openapi.bp)
    errors.register(app)
    security.register(app, settings)
    app.before_request(api.shed_load)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.extensions["sdturbo"] = Studio(settings, engine, validator).start(background)
    return app
