"""LAN safety: the access key, the Host check against DNS rebinding, and the security headers.

With `api_key` set, every API route and image needs the key: `Authorization: Bearer <key>`,
`X-API-Key: <key>`, HTTP Basic with the key as password (Open WebUI, SillyTavern), or the
`sdturbo_key` cookie the page gets from POST /api/session once per browser session. The pages,
/healthz and static files stay open so the page can load and ask. The key is compared in constant
time and never logged.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import socket

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import Forbidden

from sdturbo.config import Settings
from sdturbo.errors import InvalidParameterError
from sdturbo.web.common import Problem, field, json_body, only
from sdturbo.web.errors import answer

log = logging.getLogger(__name__)
bp = Blueprint("security", __name__)

COOKIE = "sdturbo_key"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
OPEN_ENDPOINTS = {"static", "pages.index", "pages.favicon", "library.page", "openapi.docs", "openapi.openapi_json",
                  "api.healthz", "security.session", "security.open_session", "security.close_session"}  # fmt: skip
# default-src 'self': nothing from elsewhere, no inline script; images also from data: and blob: URLs
# (results arrive as base64, sketches as blobs)
CSP = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def register(app: Flask, settings: Settings) -> None:
    app.config["SDTURBO_API_KEY"] = settings.api_key
    app.extensions["sdturbo.hosts"] = allowed_hosts(settings)
    if not settings.local_only:
        log.warning(
            "listening on %s: anyone on this network can reach the studio%s; allowed hosts: %s",
            settings.host,
            "" if settings.api_key else " and use it without a key (set SDTURBO_API_KEY)",
            "any" if app.extensions["sdturbo.hosts"] is None else ", ".join(sorted(app.extensions["sdturbo.hosts"])),
        )
    app.before_request(_check_host)
    app.before_request(_check_key)
    app.after_request(_add_headers)
    app.register_blueprint(bp)


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """Host names this server answers to; None: any ("*"). Default: loopback names, the listening
    host, and when that is every interface, this machine's own names and addresses."""
    if settings.allowed_hosts.strip() == "*":
        return None
    if settings.allowed_hosts.strip():
        return frozenset(name.strip().lower() for name in settings.allowed_hosts.split(",") if name.strip())
    hosts = {*LOOPBACK_NAMES, settings.host.lower()}
    if settings.host in ("0.0.0.0", "::"):
        hosts |= _own_names()
    return frozenset(hosts)


def _own_names() -> set[str]:
    """This machine's host name and addresses, as phones on the LAN would type them."""
    name = socket.gethostname()
    names = {name.lower(), f"{name.lower()}.local"}
    with contextlib.suppress(OSError):
        names |= {info[4][0] for info in socket.getaddrinfo(name, None)}
    try:  # the address of the interface that routes outwards (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            names.add(probe.getsockname()[0])
    except OSError:
        pass
    return names


def host_name(value: str) -> str:
    """The name in a Host header or an Origin's authority: without the port, IPv6 without brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _check_host():
    hosts = current_app.extensions["sdturbo.hosts"]
    host = host_name(request.host or "")
    if request.method not in ("GET", "HEAD", "OPTIONS") and _cross_site(hosts):
        raise Forbidden("cross-site requests may not change anything here (another web page sent this)")
    if hosts is not None and host not in hosts:
        log.warning("refused a request for host %r (not in the allowed hosts)", host[:100])
        raise InvalidParameterError(
            "host", f"{host[:100]!r} is not a name of this server; add it to SDTURBO_ALLOWED_HOSTS to serve it"
        )


def _cross_site(hosts: frozenset[str] | None) -> bool:
    """A browser request sent by another site's page (a form or fetch aimed at this studio): its
    Sec-Fetch-Site says so, or its Origin names a host this server does not answer to. API clients
    (scripts, SDKs, other servers) send neither header."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin == "null"
    name = host_name(origin.partition("://")[2])
    return name != host_name(request.host or "") and (hosts is not None and name not in hosts)


def _check_key():
    key = current_app.config["SDTURBO_API_KEY"]
    if not key or request.endpoint in OPEN_ENDPOINTS or authorized(key):
        return None
    response = answer(Problem(401, "an API key is required: send Authorization: Bearer <key>", code="unauthorized"))
    response.headers["WWW-Authenticate"] = 'Bearer realm="sdturbo"'
    return response


def authorized(key: str) -> bool:
    """Whether the request carries `key` (header, Basic password, or the page's cookie); constant-time."""
    if hmac.compare_digest(request.cookies.get(COOKIE, "").encode("utf-8", "replace"), session_token(key).encode()):
        return True
    given = [request.headers.get("X-API-Key", "")]
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given.append(credentials.strip())
    elif scheme.lower() == "basic":
        with contextlib.suppress(ValueError):  # bad base64 (binascii.Error), non-ASCII, bad UTF-8
            given.append(base64.b64decode(credentials, validate=True).decode().partition(":")[2])
    expected = key.encode()
    return any(hmac.compare_digest(candidate.encode("utf-8", "replace"), expected) for candidate in given if candidate)


def session_token(key: str) -> str:
    """What the page's cookie holds: derived from the key, never the key itself (browsers send a host's
    cookies to all its ports, so another local service would see it)."""
    return hmac.new(key.encode(), b"sdturbo-session", "sha256").hexdigest()


def _add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.get("/api/session")
def session():
    """Whether this server needs a key, and whether this browser has given it."""
    key = current_app.config["SDTURBO_API_KEY"]
    return jsonify(key_required=bool(key), authorized=not key or authorized(key))


@bp.post("/api/session")
def open_session():
    """The page gives the key once; it is kept in a cookie for the browser session (HttpOnly, same site)."""
    body = json_body()
    only(body, ("key",))
    given = field(body, "key", check=lambda v: v if isinstance(v, str) else "")
    given = given.encode("utf-8", "replace").decode()  # a lone surrogate cannot be this server's key
    key = current_app.config["SDTURBO_API_KEY"]
    if key and not hmac.compare_digest(given.encode(), key.encode()):
        return answer(Problem(401, "key: that is not this server's key", "key", code="unauthorized"))
    response = jsonify(key_required=bool(key), authorized=True)
    if key:
        response.set_cookie(COOKIE, session_token(key), httponly=True, samesite="Strict", path="/")
    return response


@bp.delete("/api/session")
def close_session():
    response = jsonify(authorized=False)
    response.delete_cookie(COOKIE, path="/")
    return response
