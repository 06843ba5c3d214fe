"""What every blueprint shares: the studio, JSON bodies and fields, library entries as JSON, error answers."""

from __future__ import annotations

import base64
import json
import logging
import socket
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from flask import current_app, jsonify, request, url_for

from sdturbo import metadata
from sdturbo.errors import InvalidParameterError, first_line
from sdturbo.library import Entry, Library, LibraryError
from sdturbo.studio import LIBRARY_OFF, Served

log = logging.getLogger("sdturbo.web")
_REQUIRED = object()


@dataclass(frozen=True)
class Problem:
    """An error as every dialect answers it: status, message, the field at fault, when to retry."""

    status: int
    message: str
    field: str | None = None
    retry_after: int | None = None  # seconds, for the Retry-After header
    code: str | None = None  # a short name: invalid_parameter, out_of_domain, server_busy, ...
    extra: dict = dataclass_field(default_factory=dict)  # out of domain: category, reasons, suggestions


def studio():
    return current_app.extensions["sdturbo"]


def library() -> Library:
    """The studio's open library; LibraryError (503) when it is off or cannot be opened."""
    opened = studio().open_library()
    if opened is None:
        raise LibraryError(studio().library_error or LIBRARY_OFF)
    return opened


def json_body(force: bool = False) -> dict:
    """The request's JSON object (`force`: whatever its Content-Type); 400 naming `body` and saying why
    otherwise. The body is read within the app's size limit (413 beyond it)."""
    example = 'e.g. {"prompt": "anime fox"}'
    if not (force or request.is_json):
        raise InvalidParameterError("body", f"must be a JSON object sent as application/json, {example}")
    try:
        body = current_app.json.loads(request.get_data(cache=True))
    except ValueError as err:  # bad syntax, bad UTF-8, NaN, nesting too deep
        raise InvalidParameterError("body", f"is not valid JSON ({first_line(err)[:120]}); {example}") from None
    if not isinstance(body, dict):
        raise InvalidParameterError("body", f"must be a JSON object, got {type(body).__name__}; {example}")
    return body


def only(body: dict, allowed: tuple[str, ...]) -> None:
    """Refuse fields the endpoint does not know (a typo would otherwise be silently ignored)."""
    unknown = sorted(str(name) for name in set(body) - set(allowed))
    if unknown:
        raise InvalidParameterError(unknown[0], f"unknown field; allowed: {', '.join(allowed)}")


def form_body(numbers: tuple[str, ...], files: tuple[str, ...] = ("image",)) -> dict:
    """A multipart form as the JSON body would be: the `numbers` fields (numbers, true/false) decoded,
    every other field kept as text, each file's bytes under its field name, which must be in `files`."""
    body: dict = {}
    if not all(isinstance(name, str) and name for name in [*request.form, *request.files]):
        raise InvalidParameterError("body", "a part of the multipart form has no readable field name")
    for name, value in request.form.items():
        try:
            decoded = json.loads(value) if name in numbers else value
        except ValueError:
            decoded = value  # the field's own check says what is wrong with it
        body[name] = decoded if isinstance(decoded, str | int | float | bool) else value
    for name in request.files:
        if name not in files:
            raise InvalidParameterError(name, f"is not a file field here; send the file as {' or '.join(files)}")
        uploads = request.files.getlist(name)
        if len(uploads) != 1:
            raise InvalidParameterError(name, f"give one file, got {len(uploads)}")
        body[name] = uploads[0].read()
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


def error(status: int, message: str, field: str | None = None, retry_after: int | None = None, extra=None):
    """The studio's own error answer: {"error", "field"} (and `extra` keys), with Retry-After when given."""
    return json_error(status, {"error": message, **({"field": field} if field else {}), **(extra or {})}, retry_after)


def json_error(status: int, body: dict, retry_after: int | None = None):
    """A JSON error answer in any dialect's shape, with Retry-After when given."""
    response = jsonify(body)
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image_bytes(served: Served, fmt: str = "png", quality: int = metadata.DEFAULT_QUALITY) -> bytes:
    """The image as `fmt` with its settings; a PNG is the very file the library saved, when it did."""
    if fmt == "png" and served.kept.png:
        return served.kept.png
    return metadata.encode(served.result.image, served.result.parameters, fmt, quality)


def make_images(
    request_, count: int, *, seeded: bool, client: str | None = None, seq: int = 0, group: str | None = None
) -> list:
    """`count` images like `request_` (consecutive seeds, from its own when `seeded`) in one batch, kept:
    [(request, Served)] in order. Every dialect's generation goes through here."""
    requests = studio().variations(request_, count, seeded=seeded) if count > 1 else [request_]
    served = studio().submit_many(requests, client=client, seq=seq, group=group, **caller())
    for one in served:
        if one is not None:
            log_served(one)
    # an interrupted request (group) answers the images made before the interrupt
    return [(r, s) for r, s in zip(requests, served, strict=True) if s is not None]


def caller() -> dict:
    """Who asks: the client's address (its quota of waiting images) and whether it still waits for the
    answer (a peek at its socket, where the server exposes it: gunicorn and werkzeug do)."""
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")

    def alive() -> bool:
        try:  # b"": the peer closed; data: a pipelined next request; nothing yet: still waiting
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False
        except Exception:  # noqa: BLE001  a socket that cannot peek (TLS): assume the client waits
            return True

    return {"source": request.remote_addr, "alive": alive if sock is not None else None}


def log_served(served) -> None:
    r = served.result
    log.info(
        "generated seed=%d steps=%d %dx%d batch=%d queue=%.1fms total=%.1fms%s",
        r.seed,
        r.steps,
        r.width,
        r.height,
        served.batch_size,
        served.queue_ms,
        served.total_ms,
        f" replica={r.replica}" if r.replica else "",
    )
    log.debug("prompt=%r", r.prompt)  # prompts are the user's: logged only at DEBUG
