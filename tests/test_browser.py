"""The page in Debian's Chromium, driven by Playwright, against a live server with the tiny model.

Screenshots land in artifacts/screenshots/ (or $SDTURBO_ARTIFACTS). Skipped when Chromium or
Playwright is missing, unless SDTURBO_REQUIRE_BROWSER=1 (CI sets it) turns that into a failure.
"""

import os
import threading
from contextlib import contextmanager

import pytest

from tests.browser import ARTIFACTS, browser_missing
from tests.fakes import FakeEngine, SlowLoad
from tests.net import serve_app

missing = browser_missing()
if missing and os.environ.get("SDTURBO_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser tests required but {missing}")
pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")


VIEWPORTS = {"phone": (375, 812), "desktop": (1280, 860)}


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


# the default suite runs these at phone width only (where layout matters most); -m slow adds desktop
PHONE_FIRST = pytest.mark.parametrize(
    "viewport", ["phone", pytest.param("desktop", marks=pytest.mark.slow)], indirect=True
)


@contextmanager
def open_page(browser, url, viewport, listen=None):
    """A fresh page at `viewport` on `url`; `listen(page)` attaches handlers before it loads."""
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog: {dialog.message}"))
    page.viewport_name = viewport
    if listen:
        listen(page)
    page.goto(url)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server, viewport):
    with open_page(browser, live_server, viewport) as page:
        page.wait_for_selector("#health[data-status=ok]", timeout=30_000)
        yield page


class BrokenLoad(FakeEngine):
    def load(self):
        raise OSError("no weights here")


@contextmanager
def serve(engine, **settings):
    """The app with a fake engine (loading in the background) on a free loopback port."""
    from sdturbo.config import Settings
    from sdturbo.web import create_app

    app = create_app(Settings(model="fake", validator_model="none", **settings), engine=engine, background=True)
    with serve_app(app) as url:
        yield url


def shot(page, name):
    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / f"{name}-{page.viewport_name}.png", full_page=True)


def no_horizontal_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@PHONE_FIRST
def test_generate_an_image(page):
    page.fill("#prompt", "a fox spirit in a lantern-lit alley, night rain")
    page.click("#generate")
    page.wait_for_selector("#image:not([hidden])")
    assert page.text_content("#seed-used").startswith("Seed ")
    assert "ms" in page.text_content("#timing")
    assert page.get_attribute("#download", "download").startswith("sdturbo-")
    newest = page.locator("#recent .thumb img").first  # Recent is the library's newest: earlier tests' too
    assert newest.get_attribute("alt") == "a fox spirit in a lantern-lit alley, night rain"
    assert newest.get_attribute("src").endswith(".thumb")
    assert page.text_content("#health").endswith("images are noise")
    shot(page, "generated")
    assert no_horizontal_overflow(page)


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
@PHONE_FIRST
def test_reject_then_click_a_suggestion(page):
    page.fill("#prompt", "a photorealistic portrait of a businessman in a suit, 85mm lens")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#rejection:not([hidden])")
    assert "85mm" in page.text_content("#reasons")
    suggestion = page.locator("#suggestions button").first
    text = suggestion.text_content()
    assert "businessman" in text
    shot(page, "rejected")
    assert no_horizontal_overflow(page)
    suggestion.click()
    page.wait_for_selector("#image:not([hidden])")
    assert page.input_value("#prompt") == text
    assert page.locator("#rejection").is_hidden()


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
@PHONE_FIRST
def test_live_mode_follows_typing(page):
    requests = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/api/generate") else None)
    page.check("#live")
    assert page.get_attribute("#seed-lock", "aria-pressed") == "true"  # live mode keeps the seed
    page.type("#prompt", "a cat on a roof", delay=20)
    page.wait_for_selector("#image:not([hidden])")
    page.wait_for_function("() => document.getElementById('image').alt === 'a cat on a roof'")
    page.type("#prompt", " at dawn", delay=20)
    page.wait_for_function("() => document.getElementById('image').alt === 'a cat on a roof at dawn'")
    assert page.get_attribute("#image", "src").startswith("data:image/jpeg")
    assert len(requests) >= 2
    shot(page, "live")


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
@PHONE_FIRST
def test_recent_strip_restores_settings(page):
    for prompt in ("a red dragon", "a blue whale in the sky"):
        page.fill("#prompt", prompt)
        page.click("#generate")
        page.wait_for_function(f"() => document.getElementById('image').alt === {prompt!r}")
    count = page.locator("#recent .thumb").count()
    page.locator("#recent .thumb").nth(1).click()
    assert page.input_value("#prompt") == "a red dragon"
    assert page.locator("#recent .thumb").count() == count  # restoring does not add a copy
    assert page.get_attribute("#seed-lock", "aria-pressed") == "true" and page.input_value("#seed") != ""


@PHONE_FIRST
def test_prompts_are_escaped_and_inputs_are_phone_sized(page):
    page.fill("#prompt", "<img src=x onerror=alert(1)> a castle")
    page.click("#generate")
    page.wait_for_selector("#image:not([hidden])")
    assert page.locator("#recent img[src='x']").count() == 0
    sizes = page.evaluate(
        "[...document.querySelectorAll('textarea, select, input[type=number]')].map(e => getComputedStyle(e).fontSize)"
    )
    assert set(sizes) == {"16px"}
    assert no_horizontal_overflow(page)


@PHONE_FIRST
def test_an_invalid_seed_is_reported_not_replaced(page):
    page.fill("#prompt", "a lighthouse in a storm")
    page.fill("#seed", "-5")
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])")
    assert "Seed must be a whole number" in page.text_content("#error")
    assert page.locator("#image").is_hidden()


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
@PHONE_FIRST
def test_generate_waits_for_the_model_to_load(browser, viewport):
    gate = threading.Event()
    try:
        with serve(SlowLoad(gate)) as url, open_page(browser, url, viewport) as page:
            page.wait_for_selector("#health[data-status=loading]")
            assert page.is_disabled("#generate")
            assert page.text_content("#generate-label") == "Loading model…"
            page.check("#live")
            page.fill("#prompt", "anime fox in the snow")  # a live request meets the loading model: 503
            page.wait_for_selector("#error:not([hidden])")
            assert "still loading" in page.text_content("#error")
            shot(page, "loading")
            assert no_horizontal_overflow(page)
            page.uncheck("#live")
            gate.set()
            page.wait_for_selector("#generate:enabled", timeout=10_000)
            assert page.text_content("#generate-label") == "Generate"
            page.wait_for_selector("#error", state="hidden")  # the "still loading" message clears itself
            assert page.locator("#image").is_hidden()  # cleared by the health check, not by a new result
            page.click("#generate")
            page.wait_for_selector("#image:not([hidden])")
    finally:
        gate.set()


def test_a_failed_load_keeps_generate_disabled(browser):  # the same at every width: one viewport
    with serve(BrokenLoad()) as url, open_page(browser, url, "desktop") as page:
        page.wait_for_selector("#health[data-status=error]")
        assert page.is_disabled("#generate")
        assert "no weights here" in page.text_content("#error")
        page.keyboard.press("Control+Enter")  # the shortcut follows the button
        assert page.locator("#spinner").is_hidden()


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
@PHONE_FIRST
def test_a_rejection_marks_the_previous_image_stale(page):
    page.fill("#prompt", "a fox spirit in a lantern-lit alley, night rain")
    page.click("#generate")
    page.wait_for_selector("#image:not([hidden])")
    assert page.locator("#stale-note").is_hidden()
    page.fill("#prompt", "a photo of Barack Obama, 50mm")
    page.click("#generate")
    page.wait_for_selector("#rejection:not([hidden])")
    assert "stale" in page.get_attribute("#result", "class")
    assert page.text_content("#verdict").startswith("✗")  # the hint under the prompt agrees at once
    assert page.is_visible("#stale-note") and "Previous image" in page.text_content("#stale-note")
    for selector in ("#image", "#meta"):
        assert float(page.eval_on_selector(selector, "e => getComputedStyle(e).opacity")) < 0.5
    shot(page, "stale")
    page.locator("#suggestions button").first.click()
    page.wait_for_selector("#stale-note", state="hidden")
    assert "stale" not in page.get_attribute("#result", "class")
    assert page.eval_on_selector("#image", "e => getComputedStyle(e).opacity") == "1"


def test_no_request_fails_and_the_icon_is_served(browser, live_server):
    failures = []

    def listen(page):
        page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
        page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)

    with open_page(browser, live_server, "phone", listen) as page:
        page.wait_for_selector("#health[data-status=ok]", timeout=30_000)
        page.fill("#prompt", "a paper lantern festival")
        page.click("#generate")
        page.wait_for_selector("#image:not([hidden])")
        icon = page.get_attribute("link[rel=icon]", "href")
        for path in (icon, "/favicon.ico"):
            response = page.request.get(live_server + path)
            assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    assert failures == []


@PHONE_FIRST
def test_the_shortcut_hint_shows_only_with_a_keyboard(page):
    assert page.is_visible("#generate kbd") == (page.viewport_name == "desktop")


@PHONE_FIRST
def test_the_live_toggle_is_explained(page):
    hint = page.get_attribute("#live", "aria-describedby")
    assert page.is_visible(f"#{hint}") and "as you type" in page.text_content(f"#{hint}")


def assert_form_matches(page, config):
    limits, defaults = config["limits"], config["defaults"]
    assert page.get_attribute("#prompt", "maxlength") == str(limits["prompt_chars"])
    low, high = limits["steps"]
    steps = page.eval_on_selector_all("input[name=steps]", "es => es.map(e => Number(e.value))")
    assert steps == list(range(low, high + 1))
    assert page.eval_on_selector("input[name=steps]:checked", "e => Number(e.value)") == defaults["steps"]
    assert [page.get_attribute("#seed", "min"), page.get_attribute("#seed", "max")] == [str(n) for n in limits["seed"]]
    assert page.eval_on_selector_all("#style option", "os => os.map(o => o.value)") == list(config["styles"])
    assert page.input_value("#style") == defaults["style"]
    sizes = page.eval_on_selector_all("#size option", "os => os.map(o => o.textContent)")
    assert sizes == [f"{w}×{h}" for w, h in config["sizes"]]
    selected = page.eval_on_selector("#size", "s => s.selectedOptions[0].textContent")
    assert selected == f"{defaults['width']}×{defaults['height']}"


@PHONE_FIRST
def test_the_form_is_rendered_from_the_server_options(page, live_server):
    assert_form_matches(page, page.request.get(live_server + "/api/config").json())


def test_the_form_follows_other_server_options(browser, monkeypatch):
    from sdturbo import params

    monkeypatch.setattr(params, "MAX_STEPS", 3)
    monkeypatch.setattr(params, "MAX_SEED", 99_999)
    monkeypatch.setattr(params, "MAX_PROMPT_CHARS", 321)
    monkeypatch.setattr(params, "PRESET_SIZES", ((768, 512), (512, 512)))
    with serve(FakeEngine(), style="chibi") as url, open_page(browser, url, "desktop") as page:
        config = page.request.get(url + "/api/config").json()
        assert config["limits"]["prompt_chars"] == 321 and config["defaults"]["style"] == "chibi"
        assert_form_matches(page, config)
        page.wait_for_selector("#health[data-status=ok]")
        page.fill("#prompt", "anime fox")
        page.fill("#seed", "100000")
        page.click("#generate")
        assert "from 0 to 99999" in page.text_content("#error")  # the page's own message uses the server's limit


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
def test_a_new_result_scrolls_into_view_on_a_phone(browser, live_server):
    with open_page(browser, live_server, "phone") as page:
        page.wait_for_selector("#health[data-status=ok]", timeout=30_000)
        in_view = "document.getElementById('result').getBoundingClientRect().bottom < innerHeight + 2"  # px rounding
        assert not page.evaluate(in_view)  # below the controls at first
        page.fill("#prompt", "a koi pond under cherry blossoms")
        page.click("#generate")
        page.wait_for_function(f"() => {in_view}")
        assert page.is_visible("#seed-used")


@pytest.mark.slow  # the default suite's time budget; CI runs -m slow
@PHONE_FIRST
def test_tags_are_offered_as_a_phrase_before_generating(page):
    """Issue 17: a booru tag prompt is accepted, and its natural phrase is offered under the prompt."""
    page.fill("#prompt", "masterpiece, 1girl, solo, silver_hair, (school uniform:1.2), cherry blossoms")
    page.wait_for_selector("#verdict-offer:not([hidden])")
    assert page.text_content("#verdict").startswith("✓")
    assert "a girl alone with silver hair" in page.text_content("#verdict-note")
    page.click("#verdict-options button")
    assert page.input_value("#prompt").startswith("a girl alone with silver hair")
    page.wait_for_function("() => document.querySelector('#verdict').textContent.includes('neutral')")
    assert page.is_hidden("#verdict-offer")  # the phrase is not a tag prompt: nothing more to offer
    shot(page, "tag-phrase")
    assert no_horizontal_overflow(page)
