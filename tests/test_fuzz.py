"""Issue 15, "Proof": every operation of /openapi.json fuzzed from its own schema (valid bodies, broken ones,
raw bytes under any Content-Type, multipart forms with random files), plus unknown paths and wrong methods.

Every answer must come (no hang), be no 5xx but a deliberate 503/504 with Retry-After, be JSON when it is an
API error, and show neither a traceback nor a folder of this machine. The server listens "on the LAN"
(0.0.0.0): a loopback server may name its folders by design (Studio.redact), a LAN one never.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import threading
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from sdturbo.config import Settings
from sdturbo.library.store import Query
from sdturbo.web import create_app
from sdturbo.web.openapi import FILES, OPERATIONS, Operation, document
from tests.fakes import FakeEngine, SlowLoad

API = ("/api/", "/v1/", "/sdapi/", "/predict", "/healthz", "/library/", "/openapi.json")
ANSWER_TIMEOUT_S = 10  # the fake engine is instant: an answer this late is a hang
BOUNDARY = b"fuzz-boundary-5c0d3a"
KEY = "fuzz-key-0123456789abcdef"
# reproducible in CI, no shrinking (a hang would be retried for minutes), any example size or speed
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Call:
    """One request: method, path with its query, headers, and a raw body with its Content-Type."""

    method: str
    path: str
    headers: tuple = ()
    body: bytes = b""
    content_type: str | None = None

    def send(self, client, headers: dict):
        headers = {**headers, **dict(self.headers)}
        return client.open(
            self.path, method=self.method, headers=headers, data=self.body, content_type=self.content_type
        )

    def __repr__(self) -> str:
        shown = f"content_type={self.content_type!r} body={self.body[:600]!r}"
        return f"{self.method} {self.path[:300]} headers={dict(self.headers)!r} {shown} ({len(self.body)} bytes)"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis shows a failing call this way: bodies cut
        printer.text(repr(self))


class Fuzzer:
    """Sends calls to one app under a time bound, checks every answer, and counts what it sent."""

    def __init__(self, client, private: str, headers: dict) -> None:
        self.client, self.private, self.headers, self.sent = client, private, headers, 0
        self.operation = ""  # what is being fuzzed, to group the sweep's wrong answers

    def send(self, call: Call) -> None:
        box: dict = {}
        worker = threading.Thread(target=self._answer, args=(call, box), daemon=True)  # a hang must not block CI
        worker.start()
        worker.join(ANSWER_TIMEOUT_S)
        self.sent += 1
        assert "answer" in box or "error" in box, f"no answer in {ANSWER_TIMEOUT_S} s to {call!r}"
        if "error" in box:
            raise box["error"]
        self._check(call, *box["answer"])

    def _answer(self, call: Call, box: dict) -> None:
        try:
            response = call.send(self.client, self.headers)
            box["answer"] = (response, response.get_data())  # read here: a streamed file could hang too
        except Exception as err:  # noqa: BLE001 - re-raised on the test's thread
            box["error"] = err

    def _check(self, call: Call, response, data: bytes) -> None:
        status, said = response.status_code, f"{call!r}\n-> {response.status_code} {data[:500]!r}"
        assert status < 500 or status in (503, 504), said
        assert status not in (503, 504) or response.headers.get("Retry-After"), f"no Retry-After: {said}"
        assert b"Traceback (most recent call last)" not in data, said
        assert self.private.encode() not in data, f"a local folder in the answer: {said}"
        if status >= 400 and call.path.startswith(API):
            assert response.mimetype == "application/json", said
            assert call.method == "HEAD" or isinstance(json.loads(data), dict), said  # HEAD: headers only


# 1. values: odd ones for any field, paths, queries, headers
def weighted(*choices: tuple[st.SearchStrategy, int]) -> st.SearchStrategy:
    """One of the strategies, each as often as its weight (st.one_of drops repeated strategies)."""
    return st.sampled_from([strategy for strategy, weight in choices for _ in range(weight)]).flatmap(lambda s: s)


LONG = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "🦊", "\x00", " ", "{"]), st.integers(0, 100_000))
NESTED = st.integers(1, 120).map(lambda depth: json.loads("[" * depth + "]" * depth))
NASTY_TEXT = ["", " ", "NaN", "Infinity", "-0", "1e309", "0x10", "null", "true", "\ud800", "\udfff fox", "a\x00b"]
NASTY_TEXT += ["\x1b[31m", "../../etc/passwd", "%s%n{0}", "512x512", "1024x64", "99999x99999", "auto", "none", "٣"]
HUGE = [2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -1, 0, 1]
NASTY = st.sampled_from(
    [None, True, False, *HUGE, 0.5, -0.0, 1e308, float("nan"), float("inf"), *NASTY_TEXT, [], {}, [None], ["\ud800"]]
)  # NaN and Infinity are not JSON: the server must say so
ODD_TEXT = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40), LONG)
ODD = weighted(
    (NASTY, 4),
    (st.integers() | st.floats(), 1),
    (ODD_TEXT, 1),
    (NESTED, 1),
    (st.lists(st.integers() | st.text(max_size=5), max_size=5), 1),
    (st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3), 1),
)
PATH_VALUE = st.one_of(
    st.integers(1, 20).map(str),  # entries and collections the library has, or had
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(HUGE).map(str),
    st.text(max_size=30).map(lambda text: quote(text, safe="")),
    st.sampled_from(["%ED%A0%80", "%FF", "%00", "..", "%2e%2e", "1.0", "1e3", "%201", "%0A", "0x1"]),
)
QUERY = st.one_of(
    st.just(""),
    st.dictionaries(st.sampled_from([*Query.FIELDS, "download"]) | st.text(max_size=8), ODD_TEXT, max_size=4).map(
        lambda values: "?" + urlencode(values, errors="surrogatepass")
    ),
    st.sampled_from(["?%FF=%FE", "?q=%00", "?limit=1e999", "?cursor=-1", "?since=9999-99-99"]),
    st.just(2000).map(lambda count: "?" + "a=1&" * count),
)
HEADERS = st.sampled_from(
    [
        (),
        (("Accept", "text/html"),),
        (("Authorization", "Bearer wrong"),),
        (("Authorization", "Basic %%%"),),
        (("X-API-Key", "\xff\xfe"),),
        (("Cookie", "sdturbo_key=%ED%A0%80"),),
        (("Content-Encoding", "gzip"),),
        (("Host", "evil.example"),),
    ]
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])


# 2. images and files; values valid per a schema (our own: hypothesis-jsonschema 0.23.1, the newest, fails
# on hypothesis 6.170 with "'many' object has no attribute 'more'")
def png(width: int, height: int, mode: str, fmt: str, text: str | None) -> bytes:
    image, out, info = Image.new(mode, (width, height)), io.BytesIO(), PngImagePlugin.PngInfo()
    if text is not None:
        info.add_text("parameters", text)
    if fmt == "PNG":
        image.save(out, "PNG", pnginfo=info)
    else:
        image.convert("RGB").save(out, fmt)
    return out.getvalue()


def bomb_header(side: int) -> bytes:
    """A PNG that says it is side x side pixels and holds none."""
    ihdr = b"IHDR" + side.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + zlib.crc32(ihdr).to_bytes(4, "big")


PARAMETERS = st.sampled_from(["anime fox\nSteps: 2, Sampler: Euler, Seed: 7, Size: 512x512", "Steps: x"])
IMAGES = st.builds(
    png,
    st.integers(1, 80),
    st.integers(1, 80),
    st.sampled_from(["RGB", "RGBA", "L", "P", "1", "I;16"]),
    st.sampled_from(["PNG", "PNG", "JPEG", "WEBP", "GIF", "BMP"]),
    st.none() | PARAMETERS | st.text(max_size=200),
)
FILE_BYTES = st.one_of(
    IMAGES,
    st.binary(max_size=2000),
    st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", bomb_header(100_000), bomb_header(0), b"GIF89a\x01"]),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def from_schema(schema: dict) -> st.SearchStrategy:
    """Values valid per the part of JSON Schema /openapi.json uses: types, ranges, lengths, enums, patterns."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type")
    if kinds is None:
        return JSON_VALUES  # "accepted": any JSON value
    return st.one_of(*(_typed(kind, schema) for kind in ([kinds] if isinstance(kinds, str) else kinds)))


def _typed(kind: str, schema: dict) -> st.SearchStrategy:
    low, high, step = schema.get("minimum"), schema.get("maximum"), schema.get("multipleOf")
    if kind == "integer" and step:
        return st.integers(math.ceil(low / step), high // step).map(lambda k: k * step)
    if kind == "string" and schema.get("contentEncoding") == "base64":
        return IMAGES.map(lambda data: base64.b64encode(data).decode())
    if kind == "string" and "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    if kind == "object":
        return _object(schema)
    return {
        "integer": st.integers(low, high),
        "number": st.floats(low, high, allow_nan=False, allow_infinity=False),
        "string": st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 100)),
        "boolean": st.booleans(),
        "array": st.lists(
            from_schema(schema.get("items", {})), min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 4)
        ),
    }[kind]


def _object(schema: dict) -> st.SearchStrategy[dict]:
    properties, required = schema.get("properties", {}), set(schema.get("required", ()))
    if not properties:
        return st.dictionaries(st.text(max_size=20), JSON_VALUES, max_size=5)
    return st.fixed_dictionaries(
        {name: from_schema(properties.get(name, {})) for name in sorted(required)},
        optional={name: from_schema(sub) for name, sub in properties.items() if name not in required},
    )


# 3. bodies: JSON per the schema and broken, raw bytes, multipart forms with files
RAW = st.one_of(
    st.binary(max_size=300),
    IMAGES,  # as the body itself (/api/png-info reads one so)
    st.sampled_from([b"", b"{", b'{"prompt": NaN}', b'{"prompt": "fox"', b"null", b"[]", b'"prompt"', b"prompt=fox"]),
    st.sampled_from([100_000, 40]).map(lambda depth: b"[" * depth + b"]" * depth),  # past the server's 32 levels
    st.sampled_from([b"\xff\xfe{\x00}", b'{"a":{"a":{"a":1}}}', b'{"n": 1e999}', b'{"n": -0.0}']),
    st.just(5000).map(lambda digits: b'{"n": 1' + b"0" * digits + b"}"),  # past Python's int() digit limit
    st.sampled_from([b'\xef\xbb\xbf{"prompt": "fox"}', b'{"prompt": "\\ud800"}', b'{"prompt": "fox", "prompt": 1}']),
)
CONTENT_TYPES = st.one_of(
    st.just("application/json"),
    st.sampled_from([None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "image/png"]),
    st.sampled_from(["application/json; charset=utf-16", "application/json; charset=bogus", "application/x+json"]),
)


def encode(body: object, ascii_only: bool) -> bytes:
    """JSON text; non-ASCII as UTF-8 (a lone surrogate then makes it invalid UTF-8) or as \\u escapes."""
    return json.dumps(body, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def broken(body: dict, names: list[str]) -> st.SearchStrategy[dict]:
    """`body` with a field of a wrong type or odd value, a field missing, or an unknown field added."""
    name = st.sampled_from(names or ["prompt"])
    present = st.sampled_from(sorted(body)) if body else name
    wrong = st.tuples(name, ODD).map(lambda pair: {**body, pair[0]: pair[1]})
    missing = present.map(lambda gone: {key: value for key, value in body.items() if key != gone})
    extra = st.tuples(st.text(max_size=12), ODD).map(lambda pair: {**body, pair[0]: pair[1]})
    return weighted((wrong, 3), (missing, 1), (extra, 1))


def json_bodies(schema: dict) -> st.SearchStrategy[tuple[bytes, str | None]]:
    names = sorted(schema.get("properties", {}))
    valid = from_schema(schema)
    bodies = weighted((valid, 2), (valid.flatmap(lambda body: broken(body, names)), 3), (ODD, 1))
    content_type = weighted((st.just("application/json"), 3), (CONTENT_TYPES, 1))
    return st.tuples(st.builds(encode, bodies, st.booleans()), content_type)


def form_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@st.composite
def forms(draw, schema: dict) -> tuple:
    """A multipart form: the schema's fields (valid or odd, as text), its files, and unexpected fields and files."""
    names = sorted(schema.get("properties", {})) or ["prompt"]
    body = draw(from_schema(schema) | st.just({})) if schema else {}
    body = draw(st.just(body) | broken(body, names))
    fields = [(name, form_text(value)) for name, value in body.items() if name not in FILES]
    file_names = st.sampled_from([*FILES, "init_images"]) | st.sampled_from(names) | st.text(max_size=8)
    wanted = [name for name in body if name in FILES] + draw(st.lists(file_names, max_size=2))
    files = [(name, draw(FILE_BYTES), draw(st.sampled_from(["a.png", "", "x.jpg", "../../x"]))) for name in wanted]
    return tuple(fields + files)


def multipart(parts: tuple) -> dict:
    """The form as multipart/form-data bytes, built here: names and text may hold lone surrogates."""
    lines = []
    for name, value, *filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename[0]}"' if filename else "")
        kind = [b"Content-Type: application/octet-stream"] if filename else []
        content = value if filename else value.encode("utf-8", "surrogatepass")
        lines += [b"--" + BOUNDARY, b"Content-Disposition: " + disposition.encode("utf-8", "surrogatepass"), *kind]
        lines += [b"", content]
    body = b"\r\n".join([*lines, b"--" + BOUNDARY + b"--", b""])
    return {"body": body, "content_type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}


def bodies(op: Operation) -> st.SearchStrategy[dict]:
    """How this operation's body may come, weighted to what it documents; raw bytes and forms for every one."""
    content = document()["paths"][op.path][op.method].get("requestBody", {}).get("content", {})
    raw = st.tuples(RAW, CONTENT_TYPES).map(lambda pair: {"body": pair[0], "content_type": pair[1]})
    form = forms(content.get("multipart/form-data", {}).get("schema", {})).map(multipart)
    choices = [(raw, 1), (form, 1), (st.just({}), 1)]
    if "application/json" in content:
        as_json = json_bodies(content["application/json"]["schema"])
        choices.append((as_json.map(lambda pair: {"body": pair[0], "content_type": pair[1]}), 6))
    if "multipart/form-data" in content:
        choices.append((form, 6))
    return weighted(*choices)


# 4. calls: every documented operation, and paths and methods that do not exist
def paths(op: Operation) -> st.SearchStrategy[str]:
    names = re.findall(r"{(\w+)}", op.path)
    filled = st.fixed_dictionaries({name: PATH_VALUE for name in names}).map(lambda values: op.path.format(**values))
    return st.tuples(filled, QUERY).map("".join)


def calls(op: Operation) -> st.SearchStrategy[Call]:
    method = weighted((st.just(op.method.upper()), 6), (METHODS, 1))
    parts = st.tuples(method, paths(op), HEADERS, bodies(op))
    return parts.map(lambda part: Call(*part[:3], **part[3]))


UNKNOWN = st.tuples(
    METHODS,
    st.sampled_from(["/api/", "/v1/", "/v1/images/", "/sdapi/v1/", "/sdapi/", "/api/library/", "/library/"]),
    st.text(max_size=30),
    RAW,
).map(lambda part: Call(part[0], part[1] + quote(part[2]), body=part[3]))


def fuzz(fuzzer: Fuzzer, strategy: st.SearchStrategy[Call], examples: int) -> None:
    """Send `examples` calls drawn from `strategy` (the same ones on every run: derandomized)."""

    @settings(FUZZ, max_examples=examples)
    @given(strategy)
    def one(call: Call) -> None:
        fuzzer.send(call)

    one()


def fuzz_all(fuzzer: Fuzzer, per_body_operation: int, per_other: int) -> None:
    """Each documented operation `per_…` times (those with a body more), then unknown routes."""
    for op in OPERATIONS:
        fuzzer.operation = f"{op.method.upper()} {op.path}"
        fuzz(fuzzer, calls(op), per_body_operation if op.fields else per_other)
    fuzzer.operation = "unknown"
    fuzz(fuzzer, UNKNOWN, per_other * 2)


# 5. a sweep: every documented field of every body set to each odd value, the rest of the body sane
SWEEP = [None, True, -1, 2**63, 1e308, "", "\ud800", "a\x00b", "99999x99999", [], {}, ["\ud800"], [[[[]]]]]
SWEEP.append("é" * 100_000)
PNG = png(64, 64, "RGB", "PNG", None)
SANE = {"prompt": "anime fox", "image": base64.b64encode(PNG).decode(), "init_images": [base64.b64encode(PNG).decode()]}


def sweep_calls(op: Operation):
    """The sweep's calls for `op`, on entry, collection and preview 1 (the fixture's library has them)."""
    path = op.path.format(**{name: "1" for name in re.findall(r"{(\w+)}", op.path)})
    content = document()["paths"][op.path][op.method].get("requestBody", {}).get("content", {})
    for media, described in content.items():
        schema = described["schema"]
        sane = {name: SANE[name] for name in schema.get("required", ()) if name in SANE}
        # each field alone, then two unknown ones (one a name a multipart header cannot hold)
        for names in [*((name,) for name in schema.get("properties", {})), ("unknown_field", "\nbroken")]:
            for value in SWEEP:
                yield Call(op.method.upper(), path, **as_body(media, {**sane, **dict.fromkeys(names, value)}))


def as_body(media: str, body: dict) -> dict:
    """`body` as JSON (non-ASCII escaped: valid JSON even with a lone surrogate), or as a multipart form."""
    if media == "application/json":
        return {"body": encode(body, True), "content_type": media}
    parts = [
        (name, PNG if value == SANE.get(name) else form_text(value).encode("utf-8", "surrogatepass"), "a.png")
        if name in FILES
        else (name, form_text(value))
        for name, value in body.items()
    ]
    return multipart(tuple(parts))


def sweep(fuzzer: Fuzzer) -> list[str]:
    """Send the whole sweep; every distinct wrong answer with its shortest call (empty: none)."""
    failed: dict[tuple[str, str], list[str]] = {}
    for op in OPERATIONS:
        fuzzer.operation = f"{op.method.upper()} {op.path}"
        for call in sweep_calls(op):
            try:
                fuzzer.send(call)
            except AssertionError as err:
                said = str(err).splitlines()
                failed.setdefault((fuzzer.operation, said[1][:200]), []).append(said[0][:300])
    return [f"{len(calls)}x {answer}\n    e.g. {min(calls, key=len)}" for (_, answer), calls in failed.items()]


def server(kind: str, folder):
    """(app, headers the calls carry): "open" and "keyed" (an access key) LAN servers with a library holding
    three images and a collection; "loading" (the model never finishes loading); "no_library" (its folder is a file)."""
    library = folder / "library"
    if kind == "no_library":
        library.write_text("a file where the library folder should be")
    values = {"model": "fake", "validator_model": "none", "library": library, "host": "0.0.0.0"}
    settings_ = Settings(**values, api_key=KEY if kind == "keyed" else "")
    if kind == "loading":
        return create_app(settings_, SlowLoad(threading.Event()), background=True), {}
    app, headers = create_app(settings_, FakeEngine(), background=False), {"X-API-Key": KEY} if kind == "keyed" else {}
    if kind != "no_library":
        client = app.test_client()
        for prompt in ("anime fox", "anime cat", "anime owl"):
            assert client.post("/api/generate", json={"prompt": prompt}, headers=headers).status_code == 200
        assert client.post("/api/collections", json={"name": "picks"}, headers=headers).status_code == 201
    return app, headers


@pytest.fixture
def fuzzer(request, tmp_path):
    """A Fuzzer on a fresh server of the kind `server` names; the answers must not show `tmp_path`."""
    app, headers = server(request.param, tmp_path)
    yield Fuzzer(app.test_client(), str(tmp_path), headers)
    if request.param == "loading":
        app.extensions["sdturbo"].engine.load_gate.set()  # let the loading thread end
    app.extensions["sdturbo"].stop()


@pytest.mark.parametrize("fuzzer", ["open"], indirect=True)
def test_fuzz_smoke_every_operation_a_few_times(fuzzer):
    fuzz_all(fuzzer, per_body_operation=5, per_other=2)
    assert fuzzer.sent >= 150


@pytest.mark.slow
@pytest.mark.parametrize("fuzzer", ["open"], indirect=True)
def test_fuzz_every_operation_with_at_least_2000_requests(fuzzer):
    wrong = sweep(fuzzer)  # first, while the library still has the images the sweep names
    swept = fuzzer.sent
    fuzz_all(fuzzer, per_body_operation=70, per_other=25)
    assert fuzzer.sent - swept >= 2000
    assert not wrong, "wrong answers in the sweep:\n" + "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("fuzzer", ["keyed"], indirect=True)
def test_fuzz_with_an_access_key(fuzzer):
    wrong = sweep(fuzzer)
    fuzz_all(fuzzer, per_body_operation=20, per_other=5)
    assert not wrong, "wrong answers in the sweep:\n" + "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("fuzzer", ["loading", "no_library"], indirect=True)
def test_fuzz_a_server_that_cannot_serve_answers_503_with_retry_after(fuzzer):
    fuzz_all(fuzzer, per_body_operation=10, per_other=3)
