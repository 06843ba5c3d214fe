"""LAN safety (issue 15, finding 6): the access key, the Host check, security headers, no local paths."""

import base64
import logging

import pytest

from sdturbo.config import Settings
from sdturbo.errors import InvalidParameterError
from sdturbo.web import create_app
from tests.fakes import FakeEngine

KEY = "k3y-for-the-meeting-room-0123456789"
BODY = {"prompt": "anime fox", "width": 256, "height": 256}


def make(tmp_path, **settings):
    values = {"model": "fake", "validator_model": "none", "library": tmp_path / "library", **settings}
    app = create_app(Settings(**values), FakeEngine(), background=False)
    return app.test_client()


@pytest.fixture
def keyed(tmp_path):
    return make(tmp_path, api_key=KEY)


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"user:{password}".encode()).decode()


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}, {"Authorization": basic(KEY)}],
    ids=["bearer", "x-api-key", "basic-password"],
)
def test_the_key_opens_every_api_route(keyed, headers):
    assert keyed.post("/api/generate", json=BODY, headers=headers).status_code == 200
    openai_body = {"prompt": "anime fox", "size": "256x256"}
    assert keyed.post("/v1/images/generations", json=openai_body, headers=headers).status_code == 200
    assert keyed.get("/sdapi/v1/options", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/api/generate", "error"), ("/v1/images/generations", "openai"), ("/sdapi/v1/txt2img", "a1111")],
)
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-key-wrong-key-1"}, {"Authorization": "Basic "}]
)
def test_without_the_key_api_routes_are_401_in_their_dialect(keyed, path, shape, headers):
    response = keyed.post(path, json=BODY, headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    if shape == "openai":
        assert response.json["error"]["code"] == "invalid_api_key"
    else:
        assert "API key is required" in (response.json.get("error", "") + response.json.get("detail", ""))


def test_library_images_need_the_key_but_pages_and_health_do_not(keyed):
    made = keyed.post("/api/generate", json=BODY, headers={"X-API-Key": KEY}).json
    assert keyed.get(made["library"]["url"]).status_code == 401
    assert keyed.get(made["library"]["url"], headers={"X-API-Key": KEY}).status_code == 200
    for path in ("/", "/library", "/docs", "/healthz", "/static/style.css", "/api/session"):
        assert keyed.get(path).status_code == 200, path


def test_the_page_gives_the_key_once_and_the_cookie_carries_it(keyed):
    assert keyed.get("/api/session").json == {"key_required": True, "authorized": False}
    wrong = keyed.post("/api/session", json={"key": "not it"})
    assert wrong.status_code == 401 and wrong.json["field"] == "key"
    given = keyed.post("/api/session", json={"key": KEY})
    cookie = given.headers["Set-Cookie"]
    assert given.status_code == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert keyed.get("/api/session").json == {"key_required": True, "authorized": True}
    assert keyed.post("/api/generate", json=BODY).status_code == 200  # the test client keeps the cookie
    keyed.delete("/api/session")
    assert keyed.post("/api/generate", json=BODY).status_code == 401


def test_without_a_key_set_nothing_is_asked_and_open_webui_s_empty_basic_header_passes(tmp_path):
    client = make(tmp_path)
    assert client.get("/api/session").json == {"key_required": False, "authorized": True}
    assert client.post("/api/generate", json=BODY, headers={"Authorization": "Basic "}).status_code == 200


def test_the_key_is_never_logged(keyed, caplog):
    with caplog.at_level(logging.DEBUG):
        keyed.post("/api/generate", json=BODY, headers={"Authorization": f"Bearer {KEY}"})
        keyed.post("/api/generate", json=BODY, headers={"Authorization": "Bearer a-wrong-key-of-some-length"})
        keyed.post("/api/session", json={"key": KEY})
    assert KEY not in caplog.text and "a-wrong-key" not in caplog.text
    assert KEY not in repr(Settings(model="fake", api_key=KEY))


def test_a_short_key_is_refused_with_how_to_make_one():
    for bad in ("1234", " " + KEY, KEY + "\r", "schlüssel-" + KEY):
        with pytest.raises(InvalidParameterError, match="16-256 printable ASCII characters, no spaces.*secrets"):
            Settings(model="fake", api_key=bad)


@pytest.mark.parametrize("host", ["evil.example", "rebind.attacker.net:5000", "10.0.0.99"])
def test_other_host_names_are_refused_against_dns_rebinding(tmp_path, host):
    response = make(tmp_path).get("/api/config", headers={"Host": host})
    assert response.status_code == 400 and response.json["field"] == "host"
    assert "SDTURBO_ALLOWED_HOSTS" in response.json["error"]


@pytest.mark.parametrize(
    ("allowed", "host", "status"),
    [("", "localhost:5000", 200), ("", "127.0.0.1", 200), ("studio.lan", "studio.lan:5000", 200),
     ("studio.lan", "localhost", 400), ("*", "anything.example", 200)],
)  # fmt: skip
def test_the_allowed_hosts_list(tmp_path, allowed, host, status):
    assert make(tmp_path, allowed_hosts=allowed).get("/healthz", headers={"Host": host}).status_code == status


def test_every_answer_carries_the_security_headers(tmp_path):
    client = make(tmp_path)
    for response in (client.get("/"), client.post("/api/generate", json=BODY), client.get("/nope")):
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_binding_beyond_loopback_warns_and_answers_name_no_local_folders(tmp_path, caplog):
    (tmp_path / "blocked").write_text("a file where the library's folder should be")
    with caplog.at_level(logging.WARNING):
        client = make(tmp_path, host="0.0.0.0", allowed_hosts="*", library=tmp_path / "blocked" / "library")
    assert "anyone on this network can reach the studio" in caplog.text and "SDTURBO_API_KEY" in caplog.text
    answer = client.post("/api/generate", json=BODY).json
    health = client.get("/healthz").get_data(as_text=True)
    assert answer["library"]["saved"] is False and str(tmp_path) not in answer["library"]["error"]
    assert str(tmp_path) not in health and "library" in health


def test_the_page_asks_for_the_key_once_and_the_csp_blocks_nothing_it_needs(browser, tmp_path):
    """Phone width: the studio on a keyed LAN server asks once, then generates and shows its history;
    the Content-Security-Policy (no inline script or style attribute) refuses nothing on either page."""
    from sdturbo.web import create_app
    from tests.browser import ARTIFACTS
    from tests.net import serve_app

    settings = Settings(model="fake", validator_model="none", library=tmp_path / "library", api_key=KEY)
    with serve_app(create_app(settings, FakeEngine(), background=False)) as url:
        context = browser.new_context(viewport={"width": 375, "height": 812})
        page = context.new_page()
        asked, refused = [], []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept(KEY)))
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else 0)
        page.goto(url + "/")
        page.fill("#prompt", "anime fox spirit")
        page.click("#generate")
        page.wait_for_selector("#image[src^='data:image/png']")
        page.screenshot(path=str(ARTIFACTS / "security-key-phone.png"))
        page.goto(url + "/library")
        page.wait_for_selector("#grid .tile img")
        context.close()
    assert len(asked) == 1 and "access key" in asked[0]  # once: the cookie carries it to the library page
    assert refused == []


def test_prompts_are_logged_only_at_debug(tmp_path, caplog):
    client = make(tmp_path)
    prompt = "anime fox with a secret client project name"
    with caplog.at_level(logging.INFO):
        client.post("/api/generate", json={**BODY, "prompt": prompt})
        client.post("/sdapi/v1/txt2img", json={**BODY, "prompt": prompt, "steps": 20})
    assert "secret client project" not in caplog.text and "generated seed=" in caplog.text
    with caplog.at_level(logging.DEBUG):
        client.post("/api/generate", json={**BODY, "prompt": prompt})
    assert "secret client project" in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/collections", {"name": "fox \ud800"}, "name"),
        ("post", "/api/collections", {"name": "fox\x00"}, "name"),
    ],
)
def test_names_and_notes_with_lone_surrogates_or_control_characters_are_400(tmp_path, method, path, body, field):
    """Found by the fuzz (tests/test_fuzz.py): these were 500s (UnicodeEncodeError)."""
    response = getattr(make(tmp_path), method)(path, json=body)
    assert response.status_code == 400 and response.json["field"] == field


def test_a_lone_surrogate_as_the_key_is_just_the_wrong_key(keyed):
    response = keyed.post("/api/session", json={"key": "\ud800"})
    assert response.status_code == 401 and response.json["field"] == "key"


# the review of the issue-15 change, 2026-11-25


def test_a_non_ascii_basic_header_is_just_unauthorized_not_500(keyed):
    response = keyed.get("/sdapi/v1/options", headers={"Authorization": "Basic \u00ff"})
    assert response.status_code == 401


def test_the_cookie_holds_a_token_derived_from_the_key_not_the_key(keyed):
    cookie = keyed.post("/api/session", json={"key": KEY}).headers["Set-Cookie"]
    assert KEY not in cookie and keyed.post("/api/generate", json=BODY).status_code == 200
    keyed.set_cookie("sdturbo_key", KEY)  # the raw key as a cookie is not accepted
    assert keyed.post("/api/generate", json=BODY).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}],
)
def test_another_sites_page_cannot_make_the_studio_work_even_without_a_key(tmp_path, headers):
    """A form or fetch on any web page could POST to 127.0.0.1 (text/plain, multipart need no preflight)."""
    client = make(tmp_path)
    response = client.post(
        "/predict", data=b'{"prompt": "anime fox"}', headers={"Content-Type": "text/plain", **headers}
    )
    assert response.status_code == 403 and response.is_json
    assert client.get("/healthz", headers=headers).status_code == 200  # reading is harmless
    same_site = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/generate", json=BODY, headers=same_site).status_code == 200


@pytest.mark.parametrize("host", ["[::1]", "[::1]:5000", "LOCALHOST:5000"])
def test_ipv6_and_uppercase_host_names_are_recognised(tmp_path, host):
    assert make(tmp_path).get("/healthz", headers={"Host": host}).status_code == 200


def test_the_real_clients_send_the_key_their_own_way(tmp_path):
    """The OpenAI SDK's api_key (Bearer) and webuiapi's password (Basic), unchanged clients."""
    import openai
    import webuiapi

    from sdturbo.web import create_app
    from tests.net import serve_app

    settings = Settings(model="fake", validator_model="none", library=tmp_path / "library", api_key=KEY)
    with serve_app(create_app(settings, FakeEngine(), background=False)) as url:
        made = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0).images.generate(
            prompt="anime fox", size="256x256"
        )
        assert made.data[0].b64_json
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong-key-of-16-chars", max_retries=0).images.generate(
                prompt="anime fox"
            )
        host, port = url.removeprefix("http://").split(":")
        api = webuiapi.WebUIApi(host=host, port=int(port), username="artist", password=KEY)
        assert api.txt2img(prompt="anime fox", width=256, height=256).image.size == (256, 256)
