"""The HTML page: one template, rendered with the limits, sizes and styles the server decides."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

from sdturbo.web.api import client_options

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    return render_template("index.html", options=client_options())


@bp.get("/favicon.ico")
def favicon():
    """Browsers and bookmark tools ask for it even when the page links its SVG icon."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")
