"""The library in Debian's Chromium: the gallery page and the studio's Recent, Keep, star and PNG loading.

One tiny-model server with its own library folder for the module; images are made through the API
where a test is not about making them. Skipped like tests/test_browser.py; screenshots land in
artifacts/screenshots/library-*.png. The default suite keeps the gallery at both widths, Recent
across a reload, the zip and PNG loading; the rest run with -m slow (CI runs both).
"""

import base64
import json
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager

import pytest
from PIL import Image, PngImagePlugin

from tests.browser import ARTIFACTS
from tests.fakes import FakeEngine
from tests.net import tiny_library_server
from tests.test_browser import missing, no_horizontal_overflow, serve

pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")
SIZES = {"phone": (375, 812), "desktop": (1280, 900)}
A1111 = "a girl\nNegative prompt: x\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x768, Model: foo"


@pytest.fixture(scope="module")
def server(tiny_settings, validator, tmp_path_factory):
    """The app on the tiny model with a fresh library, served on a free loopback port."""
    with tiny_library_server(tiny_settings.cache_dir, validator, tmp_path_factory.mktemp("library")) as url:
        yield url


def api(server, path, body=None, method=None):
    """(status, JSON answer) of one API call."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server + path, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def make(server, prompt, **settings):
    """A library entry made through /api/generate."""
    body = {"prompt": prompt, "width": 256, "height": 256, **settings}  # small: quick on the CPU
    status, answer = api(server, "/api/generate", body)
    assert status == 200 and answer["library"]["saved"], answer
    return answer["library"]["entry"]


@pytest.fixture(scope="module")
def gallery(server):
    """Five images of the grid, newest last."""
    prompts = [
        "a fox spirit in a lantern alley",
        "a red dragon over misty mountains",
        "a blue whale in the sky",
        "a cat sleeping on a roof",
        "a paper lantern festival",
    ]
    return [make(server, prompt, seed=n) for n, prompt in enumerate(prompts, 1)]


@contextmanager
def open_page(browser, url, viewport):
    """A page at `viewport` on `url`; confirm() dialogs are accepted and recorded in page.confirms."""
    width, height = SIZES[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.viewport_name, page.confirms = viewport, []
    page.on("dialog", lambda dialog: (page.confirms.append(dialog.message), dialog.accept()))
    page.goto(url)
    try:
        yield page
    finally:
        context.close()


def shot(page, name, full_page=True):
    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "screenshots" / f"library-{name}-{page.viewport_name}.png"
    page.screenshot(path=path, full_page=full_page)


def small_targets(page, scope):
    """Visible buttons, links styled as buttons and checkboxes' labels under `scope` smaller than 44 px."""
    return page.eval_on_selector(
        scope,
        """root => [...root.querySelectorAll('button, a.button, .tile-check, .check, summary')]
             .filter(e => e.offsetParent !== null)
             .map(e => [e.textContent.trim() || e.getAttribute('aria-label'), e.getBoundingClientRect()])
             .filter(([, box]) => box.width < 44 || box.height < 44)
             .map(([name, box]) => `${name}: ${Math.round(box.width)}x${Math.round(box.height)}`)""",
    )


def tile(page, prompt):
    return page.locator(f".tile:has(img[alt={json.dumps(prompt)}])")


@pytest.mark.slow  # the default suite's 90 s budget; CI runs -m slow
def test_a_generated_image_stays_in_recent_after_a_reload(browser, server):
    prompt = "a shrine maiden under falling maple leaves"
    with open_page(browser, server, "desktop") as page:
        page.wait_for_selector("#health[data-status=ok]")
        page.fill("#prompt", prompt)
        page.click("#generate")
        page.wait_for_selector("#star:not([hidden])")
        assert "?open=" in page.get_attribute("#open-library", "href")
        assert page.get_attribute("#download", "href").endswith(".png?download=1")
        page.click("#star")
        page.wait_for_selector("#star[aria-pressed=true]")
        page.reload()
        newest = page.locator("#recent .thumb").first
        newest.wait_for()
        assert newest.locator("img").get_attribute("alt") == prompt
        newest.click()
        assert page.input_value("#prompt") == prompt
        assert page.get_attribute("#seed-lock", "aria-pressed") == "true"
        assert page.get_attribute("#image", "src").endswith(".png")
        assert page.get_attribute("#star", "aria-pressed") == "true"  # the star was saved
        page.click("#open-library")
        page.wait_for_selector("#viewer[open]")
        assert page.get_attribute("#viewer-star", "aria-pressed") == "true"


# the desktop layout runs under -m slow: the default suite's 90 s budget
@pytest.mark.parametrize("viewport", ["phone", pytest.param("desktop", marks=pytest.mark.slow)])
def test_the_gallery_and_the_viewer_fit_the_screen(browser, server, gallery, viewport):
    with open_page(browser, server + "/library", viewport) as page:
        tile(page, gallery[-1]["prompt"]).wait_for()
        assert page.locator(".tile img[loading=lazy]").count() >= len(gallery)
        columns = page.eval_on_selector("#grid", "g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
        assert columns == 2 if viewport == "phone" else columns >= 5
        assert page.locator(".tile img").first.get_attribute("alt") != gallery[0]["prompt"]  # newest first
        assert "images" in page.text_content("#total")
        assert no_horizontal_overflow(page) and small_targets(page, "main") == []
        shot(page, "gallery")
        page.click("#select-mode")
        tile(page, gallery[0]["prompt"]).locator(".tile-open").click()
        assert page.text_content("#selected-count") == "1 selected" and small_targets(page, "main") == []
        shot(page, "select", full_page=False)
        page.click("#select-mode")
        tile(page, gallery[2]["prompt"]).locator(".tile-open").click()
        page.wait_for_selector("#viewer[open]")
        page.wait_for_function("() => document.getElementById('viewer-image').complete")
        assert f"Seed: {gallery[2]['seed']}" in page.text_content("#viewer-params")
        assert page.get_attribute("#rerun", "href") == f"/?from={gallery[2]['id']}&run=1"
        assert page.get_attribute("#viewer-download", "href") == f"{gallery[2]['url']}?download=1"
        assert page.eval_on_selector("#viewer", "d => d.scrollWidth <= d.clientWidth")
        assert small_targets(page, "#viewer") == []
        shot(page, "dialog", full_page=False)  # what the screen shows: the dialog scrolls inside
        page.eval_on_selector("#viewer", "d => { d.scrollTop = d.scrollHeight; }")
        shot(page, "dialog-end", full_page=False)


@pytest.mark.slow
def test_search_finds_an_image_by_a_word_of_its_prompt(browser, server, gallery):
    with open_page(browser, server + "/library", "desktop") as page:
        tile(page, gallery[0]["prompt"]).wait_for()
        page.fill("#q", "drag")  # words match as prefixes
        page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 1")
        assert tile(page, "a red dragon over misty mountains").count() == 1
        assert page.text_content("#total") == "1 image matches"
        page.fill("#q", "nothingcalledthis")
        page.wait_for_selector("#empty:not([hidden])")
        assert "No images match" in page.text_content("#empty")
        for field, value in (("#since", "2999-01-01"), ("#size", "768x512")):
            page.click("#clear-filters")
            tile(page, gallery[0]["prompt"]).wait_for()
            page.locator(field).fill(value) if field == "#since" else page.select_option(field, value)
            page.wait_for_selector("#empty:not([hidden])")
            assert page.text_content("#total") == "0 images match"


@pytest.mark.slow
@pytest.mark.parametrize("observer", [True, False])
def test_the_grid_pages_through_the_library(browser, server, gallery, monkeypatch, observer):
    """Scrolling loads the next pages; without IntersectionObserver the "Load more" button does."""
    monkeypatch.setattr("sdturbo.web.library.DEFAULT_PAGE", 2)
    total = api(server, "/api/library?limit=1")[1]["total"]
    count = "document.querySelectorAll('#grid .tile').length"
    with open_page(browser, "about:blank", "phone") as page:
        if not observer:
            page.add_init_script("delete window.IntersectionObserver")
        page.goto(server + "/library")
        if observer:  # each poll scrolls to the end, as a reader would
            page.wait_for_function(f"() => (scrollTo(0, document.body.scrollHeight), {count} === {total})")
        else:
            for shown in range(2, total, 2):
                page.wait_for_function(f"() => {count} === {shown}")
                page.click("#load-more")
            page.wait_for_function(f"() => {count} === {total}")
        page.wait_for_selector("#load-more", state="hidden")
        ids = page.eval_on_selector_all(".tile", "ts => ts.map(t => Number(t.dataset.id))")
        assert ids == sorted(set(ids), reverse=True)  # newest first, no tile twice


@pytest.mark.slow
def test_the_viewer_stars_notes_and_collects(browser, server, gallery):
    whale = gallery[2]
    with open_page(browser, server + f"/library?open={whale['id']}", "phone") as page:
        page.wait_for_selector("#viewer[open]")
        page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")  # as on http://<LAN ip>
        page.click("#copy-params")
        assert page.text_content("#viewer-status") == "Parameters copied"  # by execCommand
        page.evaluate("document.execCommand = () => false")  # and where that fails too: selected for the user
        page.click("#copy-params")
        assert page.text_content("#viewer-status").startswith("Selected")
        assert page.evaluate("getSelection().toString()") == page.text_content("#viewer-params")
        page.click("#viewer-star")
        page.wait_for_selector("#viewer-star[aria-pressed=true]")
        page.fill("#viewer-note", "wallpaper candidate")
        page.click("#save-note")
        page.wait_for_function("() => document.getElementById('viewer-status').textContent === 'Note saved'")
        page.fill("#viewer-new-collection", "Skies")
        page.click("#viewer-add-collection")
        page.wait_for_selector("#viewer-collections input:checked")
        assert page.text_content("#viewer-collections label") == " Skies"
        entry = api(server, f"/api/library/{whale['id']}")[1]
        assert entry["starred"] and entry["note"] == "wallpaper candidate"
        assert [c["name"] for c in entry["collections"]] == ["Skies"]
        page.click("#viewer-close")
        assert tile(page, whale["prompt"]).locator(".tile-star").is_visible()
        page.click("#collections-panel summary")
        assert page.input_value("#collections-list input") == "Skies" and small_targets(page, "main") == []
        shot(page, "collections")
        page.select_option("#collection", label="Skies (1)")
        page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 1")
        page.select_option("#collection", "")
        page.fill("#q", "wallpaper")  # the note is searched too
        page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 1")
        assert tile(page, whale["prompt"]).count() == 1


def test_select_two_and_download_a_zip(browser, server, gallery):
    with open_page(browser, server + "/library", "desktop") as page:
        tile(page, gallery[0]["prompt"]).wait_for()
        page.click("#select-mode")
        for entry in gallery[:2]:
            tile(page, entry["prompt"]).locator(".tile-open").click()
        assert page.text_content("#selected-count") == "2 selected"
        with page.expect_download() as download:
            page.click("#export-selected")
        name = download.value.suggested_filename
        assert name.startswith("sdturbo-library-") and name.endswith(".zip")
        with zipfile.ZipFile(download.value.path()) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            pngs = [n for n in archive.namelist() if n.endswith(".png")]
        assert manifest["count"] == 2 and len(pngs) == 2
        assert {image["id"] for image in manifest["images"]} == {e["id"] for e in gallery[:2]}


@pytest.mark.slow
def test_delete_asks_first(browser, server):
    one, two, three = (make(server, f"a snow fox number {n}") for n in ("one", "two", "three"))
    with open_page(browser, server + f"/library?open={one['id']}", "desktop") as page:
        page.wait_for_selector("#viewer[open]")
        page.click("#viewer-delete")
        page.wait_for_selector("#viewer", state="hidden")
        assert "Delete this image?" in page.confirms[0]
        tile(page, two["prompt"]).wait_for()
        assert tile(page, one["prompt"]).count() == 0
        assert api(server, f"/api/library/{one['id']}")[0] == 404
        page.click("#select-mode")
        for entry in (two, three):
            tile(page, entry["prompt"]).locator("input").check()
        page.click("#delete-selected")
        assert "Delete 2 image(s)?" in page.confirms[1]
        page.wait_for_function("() => document.getElementById('status').textContent === 'Deleted 2 image(s).'")
        assert tile(page, two["prompt"]).count() == 0 and tile(page, three["prompt"]).count() == 0


def a1111_png(path, parameters=A1111):
    info = PngImagePlugin.PngInfo()
    if parameters:
        info.add_text("parameters", parameters)
    Image.new("RGB", (8, 8), "white").save(path, pnginfo=info)
    return path


def test_a_png_refills_the_studio_form(browser, server, gallery, tmp_path):
    ours = tmp_path / "ours.png"
    with urllib.request.urlopen(f"{server}{gallery[1]['url']}?download=1") as response:
        ours.write_bytes(response.read())
    with open_page(browser, server, "phone") as page:
        page.set_input_files("#png-file", str(ours))
        page.wait_for_selector("#png-note:not([hidden])")
        assert page.input_value("#prompt") == gallery[1]["prompt"]
        assert page.input_value("#seed") == str(gallery[1]["seed"])
        assert page.get_attribute("#seed-lock", "aria-pressed") == "true"
        page.set_input_files("#png-file", str(a1111_png(tmp_path / "a1111.png")))
        page.wait_for_function("() => document.getElementById('prompt').value === 'a girl'")
        assert page.input_value("#seed") == "42" and page.input_value("#size") == "512x768"
        assert "AUTOMATIC1111" in page.text_content("#png-source")
        assert "Steps 20" in page.text_content("#png-warnings")
        shot(page, "png-settings")
        assert no_horizontal_overflow(page)
        page.set_input_files("#png-file", str(a1111_png(tmp_path / "bare.png", parameters=None)))
        page.wait_for_selector("#error:not([hidden])")
        assert "no generation settings" in page.text_content("#error")
        (tmp_path / "notes.png").write_text("not a picture")
        page.set_input_files("#png-file", str(tmp_path / "notes.png"))
        page.wait_for_function("() => document.getElementById('error').textContent.includes('must be a PNG file')")
        drop_file(page, ours)
        page.wait_for_function(f"() => document.getElementById('prompt').value === {json.dumps(gallery[1]['prompt'])}")
        assert page.locator("#error").is_hidden() and page.locator("#drop-overlay").is_hidden()


def drop_file(page, path):
    """Drags `path` over the page (the overlay shows) and drops it, as a desktop file manager would."""
    transfer = page.evaluate_handle(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
            return transfer;
        }""",
        base64.b64encode(path.read_bytes()).decode(),
    )
    page.dispatch_event("main", "dragenter", {"dataTransfer": transfer})
    assert page.is_visible("#drop-overlay")
    page.dispatch_event("main", "drop", {"dataTransfer": transfer})


@pytest.mark.slow
def test_the_library_page_reads_a_png_for_the_studio(browser, server, gallery, tmp_path):
    with open_page(browser, server + "/library", "desktop") as page:
        page.set_input_files("#png-file", str(a1111_png(tmp_path / "a1111.png")))
        page.wait_for_selector("#png-panel:not([hidden])")
        assert "a girl" in page.text_content("#png-settings") and "Steps 20" in page.text_content("#png-warnings")
        shot(page, "png-panel", full_page=False)
        page.click("#use-in-studio")
        page.wait_for_url(server + "/")
        page.wait_for_function("() => document.getElementById('prompt').value === 'a girl'")
        assert page.input_value("#seed") == "42"
        assert page.evaluate("sessionStorage.getItem('sdturbo-restore')") is None


@pytest.mark.slow
def test_rerun_restores_and_generates_with_the_same_seed(browser, server, gallery):
    fox = gallery[0]
    with open_page(browser, server, "desktop") as page:
        with page.expect_response(lambda r: r.url.endswith("/api/generate")) as answer:
            page.goto(f"{server}/?from={fox['id']}&run=1")
        made = answer.value.json()
        assert (made["seed"], made["prompt"]) == (fox["seed"], fox["prompt"])
        page.wait_for_function(f"() => document.getElementById('seed-used').textContent === 'Seed {fox['seed']}'")
        assert page.url == server + "/"  # a reload does not run it again


@pytest.mark.slow
@pytest.mark.parametrize("viewport", list(SIZES))
def test_a_save_failure_is_a_notice_and_live_previews_are_kept_on_demand(browser, server, viewport):
    def not_saved(route):
        answer = route.fetch().json()
        answer["library"] = {"saved": False, "error": "not saved to the library: No space left on device"}
        route.fulfill(json=answer)

    with open_page(browser, server, viewport) as page:
        page.wait_for_selector("#health[data-status=ok]")
        page.route("**/api/generate", not_saved)
        page.fill("#prompt", "a moonlit bamboo forest")
        page.click("#generate")
        page.wait_for_selector("#library-notice:not([hidden])")
        assert page.text_content("#library-notice") == "Not saved to the library: No space left on device"
        assert page.is_visible("#image") and page.locator("#star").is_hidden()
        shot(page, "notice")
        page.unroute("**/api/generate")
        prompt = "a koi pond under cherry blossoms"
        page.check("#live")
        page.fill("#prompt", prompt)
        page.wait_for_selector("#keep:not([hidden])")
        assert page.locator(f"#recent img[alt={json.dumps(prompt)}]").count() == 0  # previews are not kept
        assert small_targets(page, "#meta") == [] and no_horizontal_overflow(page)
        shot(page, "keep")
        if viewport == "phone":
            return  # the rest does not depend on the width
        page.route("**/keep", lambda route: route.fulfill(status=404, json={"error": "no preview p-1 is held"}))
        page.click("#keep")
        page.wait_for_function("() => document.getElementById('library-notice').textContent.includes('no longer held')")
        page.unroute("**/keep")
        page.fill("#prompt", prompt + " at dawn")
        page.wait_for_function("() => document.getElementById('image').alt.endsWith('at dawn')")
        page.click("#keep-star")
        page.wait_for_function("() => document.getElementById('library-notice').textContent === 'Kept and starred'")
        assert page.locator("#recent img").first.get_attribute("alt") == prompt + " at dawn"
        assert page.get_attribute("#star", "aria-pressed") == "true"


@pytest.mark.slow
def test_with_the_library_off_recent_lives_in_the_page(browser):
    with serve(FakeEngine(), library="off") as url, open_page(browser, url, "phone") as page:
        page.wait_for_selector("#recent-note:not([hidden])")
        assert "library is off" in page.text_content("#recent-note")  # the server's own words
        page.wait_for_selector("#health[data-status=ok]")
        page.fill("#prompt", "anime fox in the snow")
        page.click("#generate")
        page.wait_for_selector("#recent .thumb")
        assert page.get_attribute("#recent img", "src").startswith("data:image/png")
        assert page.locator("#star").is_hidden() and page.locator("#keep").is_hidden()
        assert page.locator("#library-notice").is_hidden()
