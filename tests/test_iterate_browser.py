"""Iterating on the studio page (static/iterate.js) in Debian's Chromium: variations, vary, sketch, upload, upscale.

One tiny-model server with its own library for the module. Skipped like tests/test_browser.py;
screenshots land in artifacts/screenshots/iterate-*.png. The default suite runs the artist's path at
phone width (4 variations, pick, vary at a strength, sketch by mouse and touch, upscale) and the
uploads; desktop, live sketching and the library's links run with -m slow.
"""

import base64
import contextlib
import io
import json
import urllib.request
from contextlib import contextmanager

import pytest
from PIL import Image

from tests.browser import ARTIFACTS
from tests.net import tiny_library_server
from tests.test_browser import missing, no_horizontal_overflow
from tests.test_library_browser import api, small_targets

pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")
SIZES = {"phone": (375, 812), "desktop": (1280, 900)}
PHONE_FIRST = pytest.mark.parametrize("viewport", ["phone", pytest.param("desktop", marks=pytest.mark.slow)])
PROMPT = "a fox spirit in a lantern-lit alley, night rain"
INK = """() => {   // pixels of the sketch that are not white paper
  const canvas = document.getElementById('sketch');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) count++;
  return count;
}"""


@pytest.fixture(scope="module")
def server(tiny_settings, validator, tmp_path_factory):
    """The app on the tiny model with a fresh library, served on a free loopback port."""
    with tiny_library_server(
        tiny_settings.cache_dir, validator, tmp_path_factory.mktemp("library"), max_wait_ms=5
    ) as url:
        yield url


@contextmanager
def open_page(browser, url, viewport, studio=True):
    """A page at `viewport`; the studio with the model ready and the size at 256×256 (quick on the CPU)."""
    width, height = SIZES[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.viewport_name = viewport
    page.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog: {dialog.message}"))
    page.goto(url)
    try:
        if studio:
            page.wait_for_selector("#health[data-status=ok]", timeout=30_000)
            page.evaluate("selectSize(256, 256)")  # app.js: a size that is not a preset gets an option
            page.dispatch_event("#size", "change")
        yield page
    finally:
        context.close()


def shot(page, name):
    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / f"iterate-{name}-{page.viewport_name}.png", full_page=True)


def posted(page, path, action):
    """The JSON body `action` sends to `path`, and the JSON answer, once the answer is shown."""
    with page.expect_response(lambda r: r.url.endswith(path)) as answer:
        action()
    response = answer.value
    return response.request.post_data_json, response.json()


def selected(page):
    """The index of the grid's selected image."""
    return page.eval_on_selector_all(".variation", "os => os.findIndex(o => o.ariaSelected === 'true')")


def fits(page):
    assert no_horizontal_overflow(page)
    assert small_targets(page, "main") == []


def generate(page, count=1):
    page.fill("#prompt", PROMPT)
    page.check(f"input[name=count][value='{count}']")
    return posted(page, "/api/generate", lambda: page.click("#generate"))


@pytest.mark.slow  # the default suite's 90 s budget; CI runs -m slow
@PHONE_FIRST
def test_four_variations_pick_one_vary_it_and_upscale(browser, server, viewport):
    """The artist's path of the issue: 4 variations, pick one (by tap and arrows), vary it at 0.75, upscale."""
    with open_page(browser, server, viewport) as page:
        body, answer = generate(page, 4)
        assert body["n"] == 4 and answer["n"] == 4
        seeds = [image["seed"] for image in answer["images"]]
        assert seeds == list(range(seeds[0], seeds[0] + 4))
        page.wait_for_selector(".variation >> nth=3")
        captions = page.eval_on_selector_all(".variation span", "ss => ss.map(s => s.textContent)")
        assert captions == [f"seed {seed}" for seed in seeds]
        columns = page.eval_on_selector("#variations", "g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
        assert columns == (2 if viewport == "phone" else 4)
        assert selected(page) == 0 and page.text_content("#seed-used") == f"Seed {seeds[0]}"
        assert page.is_visible("#star") and page.locator("#recent .thumb").count() >= 4  # each one is saved
        page.locator(".variation").nth(2).click()
        assert selected(page) == 2 and page.text_content("#seed-used") == f"Seed {seeds[2]}"
        assert page.input_value("#seed") == str(seeds[2]) and page.get_attribute("#seed-lock", "aria-pressed") == "true"
        assert f"Seed: {seeds[2]}" in page.text_content("#parameters")
        page.keyboard.press("ArrowRight")
        assert selected(page) == 3 and page.text_content("#seed-used") == f"Seed {seeds[3]}"
        page.keyboard.press("ArrowUp")  # a row up on a phone (two columns); the top row already on a desktop (four)
        assert selected(page) == (1 if viewport == "phone" else 3)
        page.keyboard.press("Home")
        assert selected(page) == 0 and page.evaluate("document.activeElement.dataset.seed") == str(seeds[0])
        page.keyboard.press("ArrowRight")
        fits(page)
        shot(page, "variations")

        pick = answer["images"][1]
        page.click("#vary-this")
        assert page.get_attribute("#tab-vary", "aria-selected") == "true"
        assert page.text_content("#vary-note").startswith(f"Varying seed {pick['seed']}")
        page.fill("#strength", "0.75")
        assert page.text_content("#strength-value") == "0.75"
        page.check("input[name=count][value='1']")
        page.fill("#prompt", PROMPT + ", snow")  # an edited prompt
        body, varied = posted(page, "/api/img2img", lambda: page.click("#img2img-run"))
        assert body["library_id"] == pick["library"]["id"] and "image" not in body and "n" not in body
        assert (body["strength"], body["seed"], body["prompt"]) == (0.75, pick["seed"], PROMPT + ", snow")
        assert int(body["steps"] * body["strength"]) >= 1
        page.wait_for_function("() => document.getElementById('timing').textContent.includes('strength 0.75')")
        assert varied["strength"] == 0.75 and "Denoising strength: 0.75" in page.text_content("#parameters")
        assert page.locator("#variations").is_hidden()
        fits(page)
        shot(page, "vary")

        body, upscaled = posted(page, "/api/upscale", lambda: page.click("#upscale"))
        assert body == {"library_id": varied["library"]["id"]}
        assert (upscaled["width"], upscaled["height"], upscaled["seed"]) == (512, 512, pick["seed"])
        page.wait_for_selector(".variation >> nth=1")
        captions = page.eval_on_selector_all(".variation span", "ss => ss.map(s => s.textContent)")
        assert captions == ["original · 256×256", "upscaled · 512×512"]
        assert selected(page) == 1 and "strength 0.3 · 512×512" in page.text_content("#timing")
        page.locator(".variation").first.click()  # the original is kept and shown again
        page.wait_for_function(
            "() => document.getElementById('timing').textContent.includes('strength 0.75 · 256×256')"
        )
        assert page.get_attribute("#image", "src") == varied["library"]["entry"]["url"]
        fits(page)
        shot(page, "upscale")


@pytest.mark.slow
def test_vary_keeps_its_init_image_across_strengths_and_counts(browser, server):
    with open_page(browser, server, "phone") as page:
        _, first = generate(page)
        assert page.text_content("#vary-note").startswith("Varies the image shown: seed")  # not pinned yet
        page.click("#vary-this")
        page.check("input[name=count][value='2']")  # the count applies to image to image too
        page.fill("#strength", "0.3")
        assert page.text_content("#strength-hint").startswith("4 step(s) (1 is too few at this strength)")
        body, varied = posted(page, "/api/img2img", lambda: page.click("#img2img-run"))
        assert (body["n"], body["steps"], varied["n"]) == (2, 4, 2)
        page.wait_for_selector(".variation >> nth=1")
        seeds = [image["seed"] for image in varied["images"]]
        captions = page.eval_on_selector_all(".variation span", "ss => ss.map(s => s.textContent)")
        assert captions == [f"seed {seed} · strength 0.3" for seed in seeds] and seeds[1] == seeds[0] + 1
        page.locator(".variation").nth(1).click()
        page.fill("#strength", "0.2")
        assert "even 4 steps leave nothing to redraw" in page.text_content("#strength-hint")
        page.fill("#strength", "0.9")
        body, _ = posted(page, "/api/img2img", lambda: page.click("#img2img-run"))
        assert body["library_id"] == first["library"]["id"]  # still the pinned init image, not the pick
        page.check("input[name=count][value='1']")
        generate(page)  # a new text-to-image picture unpins it
        assert page.text_content("#vary-note").startswith("Varies the image shown")


def sketch_box(page):
    page.locator("#sketch").scroll_into_view_if_needed()
    return page.locator("#sketch").bounding_box()


def stroke_by_mouse(page, points):
    box = sketch_box(page)
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def stroke_by_touch(page, points):
    """A finger stroke as a phone sends it: CDP touch events, which Chromium turns into touch pointer events."""
    box = sketch_box(page)
    at = [{"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]} for x, y in points]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
    for point in at[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_sketch_by_mouse_and_finger_becomes_the_init_image(browser, server, viewport):
    with open_page(browser, server, viewport) as page:
        page.click("#tab-sketch")
        assert page.eval_on_selector("#sketch", "c => [c.width, c.height]") == [256, 256]  # the chosen size
        assert page.eval_on_selector("#sketch", "c => getComputedStyle(c).touchAction") == "none"
        assert page.evaluate(INK) == 0 and page.is_disabled("#undo") and page.is_disabled("#clear")
        stroke_by_mouse(page, [(0.2, 0.2), (0.5, 0.6), (0.8, 0.3)])
        one = page.evaluate(INK)
        assert one > 0
        page.eval_on_selector("#sketch", "c => c.addEventListener('pointerdown', e => { window.kind = e.pointerType })")
        page.click(".swatch[aria-label='sky blue']")
        page.click(".brush[aria-label='Brush size L']")
        stroke_by_touch(page, [(0.3, 0.8), (0.6, 0.85), (0.9, 0.7)])
        assert page.evaluate("window.kind") == "touch"
        two = page.evaluate(INK)
        assert two > one
        page.click("#undo")
        assert page.evaluate(INK) == one
        page.click("#redo")
        assert page.evaluate(INK) == two
        page.click("#clear")
        assert page.evaluate(INK) == 0
        page.click("#undo")  # a clear can be undone too
        assert page.evaluate(INK) == two
        page.click("#eraser")
        stroke_by_mouse(page, [(0.1, 0.8), (0.95, 0.8)])
        assert page.evaluate(INK) < two
        page.fill("#prompt", "a girl with blue hair under a red sky")
        body, answer = posted(page, "/api/img2img", lambda: page.click("#img2img-run"))
        assert body["image"].startswith("data:image/png;base64,") and body["strength"] == 0.5
        sent = Image.open(io.BytesIO(base64.b64decode(body["image"].split(",", 1)[1])))
        assert sent.size == (256, 256) and sent.getpixel((0, 0))[:3] == (255, 255, 255)  # white paper, opaque
        assert (answer["width"], answer["height"]) == (256, 256)
        page.wait_for_function("() => document.getElementById('timing').textContent.includes('strength 0.5')")
        fits(page)
        shot(page, "sketch")


@pytest.mark.slow
def test_live_sketching_sends_latest_wins_requests(browser, server):
    with open_page(browser, server, "phone") as page:
        held, requests = [], []

        def hold_the_first(route):
            requests.append(route.request.post_data_json)
            if not held:
                held.append(route)  # answered only after newer strokes: it must not win
            else:
                route.continue_()

        page.route("**/api/img2img", hold_the_first)
        page.fill("#prompt", "a cat on a roof at dusk")
        page.check("#live")
        page.click("#tab-sketch")
        page.check("#sketch-live")
        assert not page.is_checked("#live")  # one live source at a time
        assert page.get_attribute("#seed-lock", "aria-pressed") == "true"
        for n in range(3):  # each finished stroke sends, after the live debounce
            with page.expect_request("**/api/img2img") as sent:
                stroke_by_mouse(page, [(0.2, 0.2 + n / 5), (0.8, 0.3 + n / 5)])
        page.wait_for_selector("#sketch-result-figure:not([hidden])")
        newest = sent.value.response().json()["image"]  # the page shows the newest stroke's answer
        page.wait_for_function(f"() => document.getElementById('image').src.endsWith({json.dumps(newest[-60:])})")
        assert len(requests) >= 3
        assert all(r["live"] and r["format"] == "jpeg" for r in requests)
        assert len({r["client_id"] for r in requests}) == 1
        seqs = [r["seq"] for r in requests]
        assert seqs == sorted(set(seqs))
        shown = page.get_attribute("#image", "src")
        assert shown.startswith("data:image/jpeg")
        with contextlib.suppress(Exception):  # the page aborted it: Playwright may have nothing to answer
            held[0].fulfill(json={"image": "", "mime": "image/jpeg", "prompt": "stale", "seed": 1})
        page.evaluate("new Promise(requestAnimationFrame)")
        assert page.get_attribute("#image", "src") == shown and page.get_attribute("#image", "alt") != "stale"
        assert page.is_visible("#keep")  # a live result is a preview: Keep saves it
        shot(page, "live-sketch")


def png_bytes(size, color="orange", **save):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=save.pop("format", "PNG"), **save)
    return buffer.getvalue()


def rotated_jpeg():
    """600×400 pixels with EXIF orientation 6: shown (and read by the server) as 400×600."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return png_bytes((600, 400), "teal", format="JPEG", exif=exif)


def pick_init(page, name, data, mime):
    page.set_input_files("#init-file", files=[{"name": name, "mimeType": mime, "buffer": data}])


def drop_init(page, name, data, mime):
    transfer = page.evaluate_handle(
        """([b64, name, mime]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: mime}));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )
    page.dispatch_event("main", "dragenter", {"dataTransfer": transfer})
    assert page.is_visible("#drop-overlay")  # over the page: the PNG-settings overlay
    page.dispatch_event("#init-drop", "dragover", {"dataTransfer": transfer})
    assert page.locator("#drop-overlay").is_hidden()  # over the zone: the init image
    page.dispatch_event("#init-drop", "drop", {"dataTransfer": transfer})
    return transfer


@pytest.mark.slow
def test_uploads_show_the_crop_and_the_servers_errors(browser, server):
    with open_page(browser, server, "phone") as page:
        page.fill("#prompt", "a lighthouse on a cliff, anime sky")
        page.click("#tab-upload")
        assert page.is_disabled("#img2img-run")
        pick_init(page, "wide.png", png_bytes((1000, 700)), "image/png")
        page.wait_for_function("() => document.getElementById('upload-note').textContent.includes('1000×700')")
        with page.expect_response("**/api/img2img") as answer:
            page.click("#img2img-run")
        assert answer.value.request.headers["content-type"].startswith("multipart/form-data")  # the file as it is
        crop = answer.value.json()["crop"]
        assert (crop["width"], crop["height"]) == (1000, 667)
        page.wait_for_selector("#crop-box:not([hidden])")
        assert page.text_content("#upload-note") == "wide.png: Used 1000×667 of 1000×700, centre → 768×512."
        box = page.eval_on_selector("#crop-box", "b => [b.style.left, b.style.top, b.style.width, b.style.height]")
        assert box == ["0%", f"{100 * crop['top'] / 700:.6g}%", "100%", f"{100 * 667 / 700:.6g}%"]
        shot(page, "upload")
        transfer = drop_init(page, "phone-photo.jpg", rotated_jpeg(), "image/jpeg")  # not the page's PNG drop
        assert page.locator("#drop-overlay").is_hidden() and page.locator("#png-note").is_hidden()
        page.dispatch_event("main", "dragenter", {"dataTransfer": transfer})
        page.dispatch_event("main", "dragleave", {"dataTransfer": transfer})  # the page's overlay still counts right
        assert page.locator("#drop-overlay").is_hidden()
        page.wait_for_function("() => document.getElementById('upload-note').textContent.includes('400×600')")  # EXIF
        page.click("#img2img-run")
        page.wait_for_function("() => document.getElementById('upload-note').textContent.includes('of 400×600')")
        assert page.text_content("#upload-note").endswith("→ 384×576.")
        pick_init(page, "notes.txt", b"hello", "text/plain")
        assert "must be a PNG, JPEG or WebP" in page.text_content("#iterate-error")
        fits(page)


@pytest.mark.slow
def test_too_big_uploads_show_the_servers_message(browser, server, tmp_path):
    (tmp_path / "huge.png").write_bytes(b"\x89PNG" + bytes(21 * 2**20))  # a path: a buffer this big crawls to the page
    (tmp_path / "bomb.png").write_bytes(png_bytes((8000, 6000), "white"))
    with open_page(browser, server, "desktop") as page:
        page.fill("#prompt", "a lighthouse on a cliff, anime sky")
        page.click("#tab-upload")
        for name, message in [
            ("huge.png", "must be at most 20 MB"),  # 413 (over the form limit the message starts "upload too large")
            ("bomb.png", "declares 8000x6000 pixels; at most 40 megapixels"),  # 400
        ]:
            page.set_input_files("#init-file", str(tmp_path / name))
            page.click("#img2img-run")
            page.wait_for_function(f"() => document.getElementById('iterate-error').textContent.includes('{message}')")
            assert page.is_visible("#iterate-error")
        shot(page, "upload-error")


@pytest.mark.slow
def test_the_library_viewer_sends_an_image_to_vary_or_upscale(browser, server):
    status, made = api(server, "/api/generate", {"prompt": PROMPT, "width": 256, "height": 256, "seed": 7})
    assert status == 200
    entry = made["library"]["entry"]
    with open_page(browser, server + f"/library?open={entry['id']}", "phone", studio=False) as page:
        page.wait_for_selector("#viewer[open]")
        assert page.get_attribute("#vary", "href") == f"/?vary={entry['id']}"
        assert page.get_attribute("#upscale", "href") == f"/?upscale={entry['id']}"
        assert small_targets(page, "#viewer") == []
        page.click("#vary")
        page.wait_for_selector("#vary-source:not([hidden])")
        assert page.input_value("#prompt") == PROMPT and page.input_value("#seed") == "7"
        assert f"library image {entry['id']}" in page.text_content("#vary-note")
        body, _ = posted(page, "/api/img2img", lambda: page.click("#img2img-run"))
        assert body["library_id"] == entry["id"]
        with page.expect_response("**/api/upscale") as answer:
            page.goto(server + f"/?upscale={entry['id']}")
        assert answer.value.json()["width"] == 512
        page.wait_for_selector(".variation >> nth=1")
        assert json.loads(answer.value.request.post_data) == {"library_id": entry["id"]}


@pytest.mark.slow
def test_rerun_makes_an_image_to_image_result_again(browser, server, tmp_path):
    status, made = api(server, "/api/generate", {"prompt": PROMPT, "width": 256, "height": 256, "seed": 11})
    assert status == 200
    body = {"prompt": PROMPT + ", dusk", "library_id": made["library"]["id"], "strength": 0.75, "steps": 2, "seed": 5}
    status, varied = api(server, "/api/img2img", body)
    assert status == 200
    entry = varied["library"]["entry"]
    with open_page(browser, server, "desktop") as page:
        with page.expect_response("**/api/img2img") as answer:
            page.goto(f"{server}/?from={entry['id']}&run=1")
        sent = answer.value.request.post_data_json
        assert sent["init_sha256"] == entry["init_sha256"] and "library_id" not in sent
        assert (sent["strength"], sent["steps"], sent["seed"]) == (0.75, 2, 5)
        assert answer.value.json()["parameters"] == entry["parameters"]  # the same image, made again
        assert page.input_value("#strength") == "0.75"
        page.fill("#strength", "0.5")
        with urllib.request.urlopen(f"{server}{entry['url']}?download=1") as response:
            (tmp_path / "varied.png").write_bytes(response.read())
        page.set_input_files("#png-file", str(tmp_path / "varied.png"))  # its settings, without the init image
        page.wait_for_selector("#png-note:not([hidden])")
        assert "Made from an init image at strength 0.75" in page.text_content("#png-warnings")
        assert page.input_value("#strength") == "0.75" and page.text_content("#strength-value") == "0.75"
