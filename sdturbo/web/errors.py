"""Every error the core raises, as one Problem (status, message, field), answered in the dialect of
the route that raised it: the studio's {"error", "field"}, OpenAI's {"error": {...}} under /v1/, or
AUTOMATIC1111's {"error", "detail", ...} under /sdapi/ (docs/COMPAT.md)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from flask import Flask, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from sdturbo.batching import (
    BatchFailed,
    ClientGone,
    JobCancelled,
    JobExpired,
    JobSuperseded,
    QueueFull,
    ShuttingDown,
    Unavailable,
)
from sdturbo.errors import Conflict, InvalidParameterError, NotFound, TooLarge
from sdturbo.library import LibraryError
from sdturbo.library.pnginfo import MAX_UPLOAD_BYTES, NoSettings
from sdturbo.studio import ClientBusy, NotReady, OutOfDomain
from sdturbo.web import a1111, openai_api
from sdturbo.web.common import Problem, error, studio

log = logging.getLogger(__name__)
API_PREFIXES = ("/api/", "/library/", "/predict", "/healthz", "/v1/", "/sdapi/", "/openapi.json")

RETRY_S = 5  # a timed-out request: the queue was full of work for its whole deadline

PROBLEMS: dict[type[Exception], Callable[..., Problem]] = {
    TooLarge: lambda err: Problem(413, str(err), err.field, code="too_large"),
    InvalidParameterError: lambda err: Problem(400, str(err), err.field, code="invalid_parameter"),
    NotFound: lambda err: Problem(404, str(err), code="not_found"),
    Conflict: lambda err: Problem(409, str(err), err.field, code="conflict"),
    JobSuperseded: lambda err: Problem(409, str(err), code="superseded"),
    JobCancelled: lambda err: Problem(409, str(err), code="interrupted"),
    RequestEntityTooLarge: lambda err: Problem(
        413,
        f"upload too large: images at most {MAX_UPLOAD_BYTES // 2**20} MB (as a file, or base64 in JSON)",
        code="too_large",
    ),
    NoSettings: lambda err: Problem(422, str(err), "file", code="no_settings"),
    OutOfDomain: lambda err: _out_of_domain(err),
    BatchFailed: lambda err: Problem(500, str(err), code="generation_failed"),
    QueueFull: lambda err: Problem(503, f"server busy: {err}", retry_after=1, code="server_busy"),
    ClientBusy: lambda err: Problem(429, f"too many requests: {err}", retry_after=1, code="rate_limited"),
    ShuttingDown: lambda err: Problem(503, str(err), retry_after=RETRY_S, code="shutting_down"),
    Unavailable: lambda err: Problem(503, str(err), retry_after=2, code="replica_unavailable"),
    # nobody reads it (the client hung up); 499 is nginx's name for that, and keeps it out of 5xx counts
    ClientGone: lambda err: Problem(499, str(err), code="client_gone"),
    NotReady: lambda err: Problem(503, str(err), retry_after=5, code="model_loading"),
    LibraryError: lambda err: Problem(
        503, str(err), retry_after=RETRY_S, code="library_unavailable"
    ),  # off, unopenable, write failed
    JobExpired: lambda err: Problem(504, f"timed out in the queue: {err}", retry_after=RETRY_S, code="timeout"),
    TimeoutError: lambda err: Problem(
        504, "no result in time: the generation worker did not answer", retry_after=RETRY_S, code="timeout"
    ),
}

DIALECTS: dict[str, Callable[[Problem], object]] = {"/v1/": openai_api.answer_problem, "/sdapi/": a1111.answer_problem}


def register(app: Flask) -> None:
    for kind, describe in PROBLEMS.items():
        app.register_error_handler(kind, lambda err, describe=describe: answer(describe(err)))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def answer(problem: Problem):
    """The problem in the dialect of the route asked for (without local folders on a LAN server)."""
    problem = dataclasses.replace(problem, message=studio().redact(problem.message))
    for prefix, dialect in DIALECTS.items():
        if request.path.startswith(prefix):
            return dialect(problem)
    return error(problem.status, problem.message, problem.field, problem.retry_after, problem.extra)


def _http_error(err: HTTPException):
    """JSON for the API's own HTTP errors (no such route, wrong method); pages keep Flask's HTML."""
    if request.path.startswith(API_PREFIXES):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.code or 500)
        return answer(Problem(err.code or 500, f"{err.name}: {err.description}", code=code))
    return err


def _unexpected(err: Exception):
    """A bug: logged with its traceback; the client hears only that it happened (no paths, no stack)."""
    log.error("unexpected error on %s %s", request.method, request.path, exc_info=err)
    if request.path.startswith(API_PREFIXES):
        return answer(Problem(500, f"internal error ({type(err).__name__}); the server log has the details"))
    return error(500, "internal error; the server log has the details")


def _out_of_domain(err: OutOfDomain) -> Problem:
    verdict = err.verdict
    extra = {
        "category": verdict.category,
        "reasons": verdict.reasons,
        "suggestions": verdict.suggestions,
        "verdict": verdict.to_dict(),
    }
    return Problem(422, str(err), "prompt", code="out_of_domain", extra=extra)
