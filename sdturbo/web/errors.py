"""Every error the core raises, answered as JSON {"error", "field"} with its HTTP status, on every route."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from sdturbo.batching import BatchFailed, JobExpired, JobSuperseded, QueueFull
from sdturbo.errors import Conflict, InvalidParameterError, NotFound, TooLarge
from sdturbo.library import LibraryError
from sdturbo.library.pnginfo import MAX_UPLOAD_BYTES, NoSettings
from sdturbo.studio import NotReady, OutOfDomain
from sdturbo.web.common import error


def register(app: Flask) -> None:
    handlers = {
        InvalidParameterError: lambda err: error(400, f"{err.field}: {err.problem}", err.field),
        TooLarge: lambda err: error(413, f"{err.field}: {err.problem}", err.field),
        NotFound: lambda err: error(404, str(err)),
        Conflict: lambda err: error(409, str(err), err.field),
        JobSuperseded: lambda err: error(409, str(err)),
        RequestEntityTooLarge: lambda err: error(413, f"upload too large: at most {MAX_UPLOAD_BYTES // 2**20} MB"),
        NoSettings: lambda err: error(422, str(err), "file"),
        OutOfDomain: _out_of_domain,
        BatchFailed: lambda err: error(500, str(err)),
        QueueFull: lambda err: error(503, f"server busy: {err}", retry_after=1),
        NotReady: lambda err: error(503, str(err), retry_after=5),
        LibraryError: lambda err: error(503, str(err)),  # off, cannot be opened, or a write failed
        JobExpired: lambda err: error(504, f"timed out in the queue: {err}"),
        TimeoutError: lambda err: error(504, "no result in time: the generation worker did not answer"),
    }
    for kind, handler in handlers.items():
        app.register_error_handler(kind, handler)
    app.register_error_handler(HTTPException, _http_error)


def _http_error(err: HTTPException):
    """JSON for the API's own HTTP errors (no such route, wrong method); pages keep Flask's HTML."""
    if request.path.startswith(("/api/", "/library/", "/predict", "/healthz")):
        return error(err.code or 500, f"{err.name}: {err.description}")
    return err


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
