"""What every blueprint shares: the studio, JSON bodies and fields, library entries as JSON, error answers."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from sdturbo.errors import InvalidParameterError
from sdturbo.library import Entry, Library, LibraryError
from sdturbo.studio import LIBRARY_OFF

_REQUIRED = object()


def studio():
    return current_app.extensions["sdturbo"]


def library() -> Library:
    """The studio's open library; LibraryError (503) when it is off or cannot be opened."""
    opened = studio().open_library()
    if opened is None:
        raise LibraryError(studio().library_error or LIBRARY_OFF)
    return opened


def json_body(force: bool = False) -> dict:
    """The request's JSON object (`force`: whatever its Content-Type); 400 naming `body` otherwise."""
    body = request.get_json(force=force, silent=True)
    if not isinstance(body, dict):
        raise InvalidParameterError("body", 'must be a JSON object, e.g. {"prompt": "anime fox"}')
    return body


def field(body: dict, name: str, default=_REQUIRED, check=None):
    """A required field, or one the studio does not take (checked here by `check`); null means the default."""
    value = body.get(name)
    if value is None:
        if default is _REQUIRED:
            raise InvalidParameterError(name, "is required")
        return default
    return check(value) if check else value


def entry_json(entry: Entry) -> dict:
    """A library entry as docs/LIBRARY.md shows it: its fields and the URLs of its image and thumbnail."""
    return {
        **entry.to_dict(),
        "url": url_for("library.image", entry_id=entry.id),
        "thumb": url_for("library.thumbnail", entry_id=entry.id),
    }


def error(status: int, message: str, field: str | None = None, retry_after: int | None = None):
    response = jsonify({"error": message, **({"field": field} if field else {})})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
