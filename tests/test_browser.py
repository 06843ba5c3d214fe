"""The page in Debian's Chromium, driven by Playwright, against a live server with the tiny model.

Screenshots land in artifacts/screenshots/ (or $SDTURBO_ARTIFACTS). Skipped when Chromium or
Playwright is missing, unless SDTURBO_REQUIRE_BROWSER=1 (CI sets it) turns that into a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SDTURBO_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


missing = _browser_missing()
if missing and os.environ.get("SDTURBO_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser tests required but {missing}")
pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(params=[(375, 812), (1280, 860)], ids=["phone", "desktop"])
def page(request, browser, live_server):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog: {dialog.message}"))
    page.goto(live_server)
    page.wait_for_selector("#health[data-status=ok]", timeout=30_000)
    page.viewport_name = request.node.callspec.id
    yield page
    context.close()


def shot(page, name):
    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / f"{name}-{page.viewport_name}.png", full_page=True)


def no_horizontal_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_generate_an_image(page):
    page.fill("#prompt", "a fox spirit in a lantern-lit alley, night rain")
    page.click("#generate")
    page.wait_for_selector("#image:not([hidden])")
    assert page.text_content("#seed-used").startswith("Seed ")
    assert "ms" in page.text_content("#timing")
    assert page.get_attribute("#download", "download").startswith("sdturbo-")
    assert page.locator("#recent .thumb").count() == 1
    assert page.text_content("#health").endswith("images are noise")
    shot(page, "generated")
    assert no_horizontal_overflow(page)


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


def test_live_mode_follows_typing(page):
    requests = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/api/generate") else None)
    page.check("#live")
    assert page.get_attribute("#seed-lock", "aria-pressed") == "true"  # live mode keeps the seed
    page.type("#prompt", "a cat on a roof", delay=20)
    page.wait_for_selector("#image:not([hidden])")
    page.wait_for_function("document.getElementById('image').alt === 'a cat on a roof'")
    page.type("#prompt", " at dawn", delay=20)
    page.wait_for_function("document.getElementById('image').alt === 'a cat on a roof at dawn'")
    assert page.get_attribute("#image", "src").startswith("data:image/jpeg")
    assert len(requests) >= 2
    shot(page, "live")


def test_recent_strip_restores_settings(page):
    for prompt in ("a red dragon", "a blue whale in the sky"):
        page.fill("#prompt", prompt)
        page.click("#generate")
        page.wait_for_function(f"document.getElementById('image').alt === {prompt!r}")
    page.locator("#recent .thumb").nth(1).click()
    assert page.input_value("#prompt") == "a red dragon"
    assert page.locator("#recent .thumb").count() == 2  # restoring does not add a copy
    assert page.get_attribute("#seed-lock", "aria-pressed") == "true" and page.input_value("#seed") != ""


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


def test_an_invalid_seed_is_reported_not_replaced(page):
    page.fill("#prompt", "a lighthouse in a storm")
    page.fill("#seed", "-5")
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])")
    assert "Seed must be a whole number" in page.text_content("#error")
    assert page.locator("#image").is_hidden()
