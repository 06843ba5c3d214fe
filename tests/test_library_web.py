"""The image library over HTTP (docs/LIBRARY.md): saving, keeping previews, search, edits, files, export, PNG info."""

from __future__ import annotations

import base64
import datetime
import errno
import hashlib
import io
import json
import os
import re
import stat
import struct
import threading
import time
import zipfile
import zlib

import pytest
from PIL import Image, ImageFile, PngImagePlugin

from sdturbo.config import Settings
from sdturbo.web import create_app
from tests.fakes import FakeEngine

PROMPT = "fox spirit, lantern alley"
SMALL = {"width": 256, "height": 256}  # the smallest size the API takes: fast to encode and store
A1111_TEXT = (
    "1girl, silver hair\nNegative prompt: lowres\n"
    "Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 512x768, Model: anything-v5"
)


@pytest.fixture
def make_app(tmp_path):
    """Apps over FakeEngine with the library in tmp_path/library unless told; every studio is stopped after."""
    apps = []

    def make(engine=None, **settings):
        settings.setdefault("library", tmp_path / "library")
        app = create_app(
            Settings(model="fake", validator_model="none", **settings),
            engine=engine or FakeEngine(),
            background=False,
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["sdturbo"].stop()


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def generate(client, prompt=PROMPT, **fields):
    response = client.post("/api/generate", json={"prompt": prompt, **SMALL, **fields})
    assert response.status_code == 200, response.json
    return response.json


def saved(client, prompt=PROMPT, **fields) -> dict:
    """Generate one image and return its library entry."""
    library = generate(client, prompt, **fields)["library"]
    assert library["saved"] is True, library
    return library["entry"]


def live(client, client_id="page-1", prompt=PROMPT, **fields) -> dict:
    return generate(client, prompt, live=True, client_id=client_id, **fields)


def listing(client, **query) -> dict:
    response = client.get("/api/library", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def listed_ids(client, **query) -> list[int]:
    return [item["id"] for item in listing(client, **query)["items"]]


def png_text(data: bytes) -> dict[str, str]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.text)


def png_of(text: str | None = None, size=(64, 64), fmt="PNG") -> bytes:
    info = None
    if text is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", text)
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, format=fmt, **({"pnginfo": info} if info else {}))
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def assert_bad(response, field: str, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.json)
    assert response.json["field"] == field, response.json
    assert response.json["error"].startswith(f"{field}:"), response.json


def leftover_temporaries(folder) -> list:
    return sorted(folder.rglob(".*.tmp"))


# /api/generate and /predict keep what they make


def test_generate_saves_the_image_and_answers_its_entry(client):
    library = generate(client, seed=7)["library"]
    assert library["saved"] is True
    entry = library["entry"]
    assert library["id"] == entry["id"] == 1
    assert library["url"] == entry["url"] == "/library/1.png"
    assert library["thumb"] == entry["thumb"] == "/library/1.thumb"
    assert entry["prompt"] == PROMPT and entry["style"] == "anime"
    assert PROMPT in entry["effective_prompt"] and entry["effective_prompt"] != PROMPT
    assert (entry["seed"], entry["steps"], entry["width"], entry["height"]) == (7, 1, 256, 256)
    assert entry["model"] == "fake" and entry["vae"] is None
    assert entry["starred"] is False and entry["note"] == "" and entry["collections"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["created"])
    assert re.fullmatch(r"images/\d{4}-\d\d/.+-7-fox-spirit-lantern-alley-[0-9a-f]{6}\.png", entry["file"])
    assert listing(client)["total"] == 1


def test_answered_png_is_the_library_file_and_carries_the_settings(client):
    answer = generate(client, prompt="silver haired knight", style="cel", seed=4321, steps=2, width=512, height=768)
    answered = base64.b64decode(answer["image"])
    stored = client.get(answer["library"]["url"])
    assert stored.status_code == 200 and stored.mimetype == "image/png"
    assert stored.data == answered
    entry = answer["library"]["entry"]
    assert hashlib.sha256(answered).hexdigest() == entry["sha256"] and len(answered) == entry["bytes"]
    text = png_text(answered)
    assert text["parameters"] == answer["parameters"] == entry["parameters"]
    assert "Steps: 2," in text["parameters"] and "Seed: 4321," in text["parameters"]
    assert "Size: 512x768" in text["parameters"]
    record = json.loads(text["sdturbo"])
    assert record["prompt"] == "silver haired knight" and record["style"] == "cel"
    assert (record["seed"], record["steps"], record["width"], record["height"]) == (4321, 2, 512, 768)
    assert record["effective_prompt"] == answer["effective_prompt"]


def test_download_flag_sends_the_png_as_an_attachment(client):
    entry = saved(client, seed=9)
    response = client.get(f"/library/{entry['id']}.png?download=1")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"sdturbo-{entry['id']}-9.png" in disposition


def test_a_jpeg_answer_still_saves_the_png(client):
    answer = generate(client, format="jpeg")
    assert answer["mime"] == "image/jpeg" and answer["library"]["saved"] is True
    with Image.open(io.BytesIO(base64.b64decode(answer["image"]))) as image:
        assert image.format == "JPEG"
    stored = client.get(answer["library"]["url"]).data
    assert stored.startswith(b"\x89PNG") and "sdturbo" in png_text(stored)


def test_predict_images_are_kept_too(client):
    response = client.post("/predict", json={"prompt": "anime fox", "num_steps": 2})
    assert response.status_code == 200
    answered = base64.b64decode(response.json["result"])
    [entry] = listing(client)["items"]
    assert (entry["prompt"], entry["steps"], entry["width"], entry["height"]) == ("anime fox", 2, 512, 512)
    assert client.get(entry["url"]).data == answered


def test_live_previews_are_held_not_written(client, tmp_path):
    library = live(client)["library"]
    assert library["saved"] is False
    assert re.fullmatch(r"p-[0-9a-f]{16}", library["preview_id"])
    assert library["keep_url"] == f"/api/library/{library['preview_id']}/keep"
    assert listing(client)["total"] == 0
    assert list((tmp_path / "library" / "images").rglob("*.png")) == []


# keeping live previews


def test_keep_writes_a_preview_once_and_can_star_it(client):
    preview_id = live(client, seed=11)["library"]["preview_id"]
    first = client.post(f"/api/library/{preview_id}/keep")
    assert first.status_code == 201
    assert first.json["seed"] == 11 and first.json["starred"] is False
    again = client.post(f"/api/library/{preview_id}/keep")
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    starred = client.post(f"/api/library/{preview_id}/keep", json={"starred": True})
    assert starred.status_code == 200 and starred.json["id"] == first.json["id"]
    assert starred.json["starred"] is True
    assert listing(client)["total"] == 1


def test_concurrent_keeps_of_one_preview_write_one_image(client):
    preview_id = live(client)["library"]["preview_id"]
    statuses, ids = [], []

    def keep():
        response = client.post(f"/api/library/{preview_id}/keep")
        statuses.append(response.status_code)
        ids.append(response.json["id"])

    threads = [threading.Thread(target=keep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200, 200, 200, 201] and len(set(ids)) == 1
    assert listing(client)["total"] == 1


def test_keep_with_star_on_the_first_keep_saves_it_starred(client):
    preview_id = live(client)["library"]["preview_id"]
    response = client.post(f"/api/library/{preview_id}/keep", json={"starred": True})
    assert response.status_code == 201 and response.json["starred"] is True
    assert listed_ids(client, starred="true") == [response.json["id"]]


def test_keep_rejects_a_star_that_is_not_a_boolean(client):
    preview_id = live(client)["library"]["preview_id"]
    assert_bad(client.post(f"/api/library/{preview_id}/keep", json={"starred": "yes"}), "starred")
    assert listing(client)["total"] == 0


def test_keep_renders_a_preview_vae_image_again_with_the_full_vae(make_app):
    engine = FakeEngine(preview_vae="fake-taesd")
    client = make_app(engine).test_client()
    answer = live(client, seed=42, steps=3, width=512, height=768)
    assert answer["vae"] == "fake-taesd"
    kept = client.post(answer["library"]["keep_url"])
    assert kept.status_code == 201
    assert kept.json["vae"] is None
    assert (kept.json["seed"], kept.json["steps"], kept.json["width"], kept.json["height"]) == (42, 3, 512, 768)
    assert "VAE:" not in kept.json["parameters"]
    preview, full = engine.requests
    assert preview.preview is True and full.preview is False
    same = ("prompt", "seed", "steps", "width", "height", "style", "user_prompt")
    assert [getattr(full, name) for name in same] == [getattr(preview, name) for name in same]
    assert "VAE" not in png_text(client.get(kept.json["url"]).data)["parameters"]


def test_keep_of_an_unknown_preview_is_404_with_a_message(client):
    response = client.post("/api/library/p-0123456789abcdef/keep")
    assert response.status_code == 404
    assert "p-0123456789abcdef" in response.json["error"] and "no longer held" in response.json["error"]


def test_only_the_last_eight_previews_of_a_client_can_be_kept(client):
    ids = [live(client, "page-1", seed=seed)["library"]["preview_id"] for seed in range(9)]
    other = live(client, "page-2", seed=100)["library"]["preview_id"]
    gone = client.post(f"/api/library/{ids[0]}/keep")
    assert gone.status_code == 404 and "last 8" in gone.json["error"]
    oldest_held = client.post(f"/api/library/{ids[1]}/keep")
    assert oldest_held.status_code == 201 and oldest_held.json["seed"] == 1
    assert client.post(f"/api/library/{other}/keep").status_code == 201


def test_keep_on_a_library_id_answers_the_entry(client):
    entry = saved(client)
    plain = client.post(f"/api/library/{entry['id']}/keep")
    assert plain.status_code == 200 and plain.json["id"] == entry["id"] and plain.json["starred"] is False
    starred = client.post(f"/api/library/{entry['id']}/keep", json={"starred": True})
    assert starred.status_code == 200 and starred.json["starred"] is True
    assert client.post("/api/library/999/keep").status_code == 404
    assert listing(client)["total"] == 1


def test_keep_that_cannot_write_is_503_and_can_be_retried(client, tmp_path, monkeypatch):
    preview_id = live(client)["library"]["preview_id"]
    monkeypatch.setattr("sdturbo.library.store.os.fsync", _no_space)
    failed = client.post(f"/api/library/{preview_id}/keep")
    assert failed.status_code == 503 and "No space left on device" in failed.json["error"]
    monkeypatch.undo()
    assert client.post(f"/api/library/{preview_id}/keep").status_code == 201
    assert listing(client)["total"] == 1


# persistence


def test_library_survives_a_restart(make_app):
    first = make_app().test_client()
    a, b = saved(first, seed=1), saved(first, seed=2)
    heroes = first.post("/api/collections", json={"name": "Heroes"}).json
    starred_in_heroes = {"starred": True, "collections": [heroes["id"]]}
    assert first.patch(f"/api/library/{a['id']}", json=starred_in_heroes).status_code == 200
    assert first.patch(f"/api/library/{b['id']}", json={"note": "moonlit"}).status_code == 200
    first.application.extensions["sdturbo"].stop()

    second = make_app().test_client()
    after = {item["id"]: item for item in listing(second)["items"]}
    assert set(after) == {a["id"], b["id"]}
    assert after[a["id"]]["starred"] is True and after[a["id"]]["collections"] == [
        {"id": heroes["id"], "name": "Heroes"}
    ]
    assert after[b["id"]]["note"] == "moonlit" and after[b["id"]]["sha256"] == b["sha256"]
    assert second.get("/api/collections").json == {"collections": [{**heroes, "count": 1}]}
    assert second.get(a["url"]).status_code == 200
    assert saved(second, seed=3)["id"] > b["id"]


def test_a_deleted_id_is_never_given_to_a_new_image(make_app):
    """/library/<id>.png is cached for a day: an id must never name a different image, even after a restart."""
    first = make_app().test_client()
    saved(first, seed=1)
    newest = saved(first, seed=2)
    assert first.delete(f"/api/library/{newest['id']}").status_code == 200
    after_delete = saved(first, seed=3)
    assert after_delete["id"] > newest["id"]
    assert first.delete(f"/api/library/{after_delete['id']}").status_code == 200
    first.application.extensions["sdturbo"].stop()
    assert saved(make_app().test_client(), seed=4)["id"] > after_delete["id"]


# listing and search


def test_list_is_newest_first_with_total(client):
    ids = [saved(client, seed=seed)["id"] for seed in range(3)]
    page = listing(client)
    assert [item["id"] for item in page["items"]] == ids[::-1]
    assert page["total"] == 3 and page["next_cursor"] is None


@pytest.mark.parametrize(("count", "pages"), [(4, 2), (5, 3)])
def test_pages_visit_every_image_exactly_once(client, count, pages):
    ids = [saved(client, seed=seed)["id"] for seed in range(count)]
    seen, cursor, visited = [], None, 0
    while True:
        page = listing(client, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total"] == count and page["items"]
        seen += [item["id"] for item in page["items"]]
        visited += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert seen == ids[::-1] and visited == pages


def test_search_finds_words_and_prefixes_of_the_prompt_and_the_note(client):
    fox = saved(client, "fox spirit, lantern alley")["id"]
    knight = saved(client, "silver haired knight")["id"]
    assert listed_ids(client, q="lantern") == [fox]
    assert listed_ids(client, q="fox lan") == [fox]
    assert listed_ids(client, q="kni") == [knight]
    assert listed_ids(client, q="dragon") == []
    assert listing(client, q="lantern")["total"] == 1
    client.patch(f"/api/library/{knight}", json={"note": "moonlit rooftop"})
    assert listed_ids(client, q="moon") == [knight]


def test_filters_by_star_collection_and_size(client):
    tall = saved(client, width=512, height=768)["id"]
    square = saved(client)["id"]
    client.patch(f"/api/library/{square}", json={"starred": True})
    cid = client.post("/api/collections", json={"name": "Tall"}).json["id"]
    client.post(f"/api/collections/{cid}/images", json={"add": [tall]})
    assert listed_ids(client, starred="true") == [square]
    assert listed_ids(client, starred="false") == [tall]
    assert listed_ids(client, collection=cid) == [tall]
    assert listed_ids(client, size="512x768") == [tall]
    assert listed_ids(client, size="256x256") == [square]
    assert listed_ids(client, size="768x512") == []


def test_date_filters_are_inclusive_utc_days(client):
    entry = saved(client)
    today = datetime.datetime.now(datetime.UTC).date()
    yesterday, tomorrow = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    assert entry["created"].startswith(today.isoformat())
    assert listed_ids(client, since=today.isoformat()) == [entry["id"]]
    assert listed_ids(client, until=today.isoformat()) == [entry["id"]]
    assert listed_ids(client, since=today.isoformat(), until=today.isoformat()) == [entry["id"]]
    assert listed_ids(client, until=yesterday.isoformat()) == []
    assert listed_ids(client, since=tomorrow.isoformat()) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"starred": "maybe"}, "starred"),
        ({"since": "2026-13-01"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"cursor": "abc"}, "cursor"),
        ({"collection": "-1"}, "collection"),
        ({"q": "x" * 501}, "q"),
        ({"sort": "oldest"}, "sort"),
    ],
)
def test_bad_list_values_are_400_naming_the_field(client, query, field):
    assert_bad(client.get("/api/library", query_string=query), field)


def test_a_size_that_cannot_be_made_is_400_naming_size(client):
    response = client.get("/api/library", query_string={"size": "500x500"})
    assert response.status_code == 400
    assert response.json["error"].startswith("size") and "500" in response.json["error"]
    assert response.json["field"].startswith("size")
    malformed = client.get("/api/library", query_string={"size": "big"})
    assert_bad(malformed, "size")


def test_limit_of_200_is_allowed(client):
    saved(client)
    assert listing(client, limit=200)["total"] == 1


# one entry: read, edit, delete


def test_get_an_entry_and_404_for_a_missing_one(client):
    entry = saved(client)
    assert client.get(f"/api/library/{entry['id']}").json == entry
    missing = client.get("/api/library/99")
    assert missing.status_code == 404 and "99" in missing.json["error"]
    assert client.get("/library/99.png").status_code == 404
    assert client.get("/library/99.thumb").status_code == 404


def test_patch_stars_notes_and_replaces_collections(client):
    entry_id = saved(client)["id"]
    heroes = client.post("/api/collections", json={"name": "Heroes"}).json
    foxes = client.post("/api/collections", json={"name": "Foxes"}).json
    starred = client.patch(f"/api/library/{entry_id}", json={"starred": True, "note": "for the poster"})
    assert starred.status_code == 200
    assert starred.json["starred"] is True and starred.json["note"] == "for the poster"
    both = client.patch(f"/api/library/{entry_id}", json={"collections": [heroes["id"], foxes["id"]]}).json
    assert both["collections"] == [{"id": foxes["id"], "name": "Foxes"}, {"id": heroes["id"], "name": "Heroes"}]
    replaced = client.patch(f"/api/library/{entry_id}", json={"collections": [heroes["id"]]}).json
    assert replaced["collections"] == [{"id": heroes["id"], "name": "Heroes"}]
    cleared = client.patch(f"/api/library/{entry_id}", json={"collections": [], "starred": False, "note": ""}).json
    assert cleared["collections"] == [] and cleared["starred"] is False and cleared["note"] == ""
    assert client.get(f"/api/library/{entry_id}").json == cleared


def test_patch_note_is_limited_to_2000_characters(client):
    entry_id = saved(client)["id"]
    assert client.patch(f"/api/library/{entry_id}", json={"note": "n" * 2000}).status_code == 200
    assert_bad(client.patch(f"/api/library/{entry_id}", json={"note": "n" * 2001}), "note")
    assert client.get(f"/api/library/{entry_id}").json["note"] == "n" * 2000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "new"}, "prompt"),
        ({"starred": "true"}, "starred"),
        ({"note": 5}, "note"),
        ({"collections": "1"}, "collections"),
        ({"collections": [0]}, "collections"),
    ],
)
def test_patch_rejects_unknown_fields_and_bad_values(client, body, field):
    entry_id = saved(client)["id"]
    assert_bad(client.patch(f"/api/library/{entry_id}", json=body), field)


def test_patch_with_an_unknown_collection_is_404_and_changes_nothing(client):
    entry_id = saved(client)["id"]
    response = client.patch(f"/api/library/{entry_id}", json={"starred": True, "collections": [77]})
    assert response.status_code == 404 and "collection 77" in response.json["error"]
    assert client.get(f"/api/library/{entry_id}").json["starred"] is False


def test_patch_of_a_missing_image_is_404(client):
    assert client.patch("/api/library/5", json={"starred": True}).status_code == 404


def test_delete_removes_the_file_the_thumbnail_and_the_row(client, tmp_path):
    entry = saved(client)
    folder = tmp_path / "library"
    assert client.get(entry["thumb"]).status_code == 200
    png = folder / entry["file"]
    [thumb] = (folder / "thumbs").glob(f"{entry['id']}.*")
    assert png.is_file() and png.resolve().is_relative_to(folder.resolve())
    response = client.delete(f"/api/library/{entry['id']}")
    assert response.status_code == 200 and response.json == {"deleted": [entry["id"]]}
    assert not png.exists() and not thumb.exists()
    assert client.get(f"/api/library/{entry['id']}").status_code == 404
    assert client.get(entry["url"]).status_code == 404
    assert listing(client)["total"] == 0
    again = client.delete(f"/api/library/{entry['id']}")
    assert again.status_code == 404 and str(entry["id"]) in again.json["error"]


def test_bulk_delete_reports_deleted_and_missing(client, tmp_path):
    a, b, c = (saved(client, seed=seed) for seed in range(3))
    cid = client.post("/api/collections", json={"name": "All"}).json["id"]
    client.post(f"/api/collections/{cid}/images", json={"add": [a["id"], b["id"], c["id"]]})
    response = client.post("/api/library/delete", json={"ids": [a["id"], 99, c["id"]]})
    assert response.status_code == 200
    assert sorted(response.json["deleted"]) == [a["id"], c["id"]] and response.json["missing"] == [99]
    assert listed_ids(client) == [b["id"]]
    assert client.get("/api/collections").json["collections"] == [{"id": cid, "name": "All", "count": 1}]
    assert [p.name for p in (tmp_path / "library" / "images").rglob("*.png")] == [b["file"].rsplit("/", 1)[1]]


@pytest.mark.parametrize("ids", [[], "1", [True], list(range(1, 1002))])
def test_bulk_delete_rejects_bad_id_lists(client, ids):
    assert_bad(client.post("/api/library/delete", json={"ids": ids}), "ids")


# thumbnails


def test_thumbnail_longest_side_is_256_and_made_once(client, tmp_path):
    entry = saved(client, width=512, height=768)
    first = client.get(entry["thumb"])
    assert first.status_code == 200 and first.mimetype in ("image/webp", "image/jpeg")
    with Image.open(io.BytesIO(first.data)) as thumb:
        assert thumb.size == (171, 256)
    [path] = (tmp_path / "library" / "thumbs").glob(f"{entry['id']}.*")
    made = 1_000_000_000_000_000_000  # 2001: a thumbnail made again would carry the current time
    os.utime(path, ns=(made, made))
    second = client.get(entry["thumb"])
    assert second.status_code == 200 and second.data == first.data
    assert path.stat().st_mtime_ns == made


# collections


def test_collections_create_rename_count_and_delete(client):
    created = client.post("/api/collections", json={"name": "  Night   market "})
    assert created.status_code == 201
    cid = created.json["id"]
    assert created.json == {"id": cid, "name": "Night market", "count": 0}
    a, b = saved(client, seed=1)["id"], saved(client, seed=2)["id"]
    added = client.post(f"/api/collections/{cid}/images", json={"add": [a, b]})
    assert added.status_code == 200 and added.json["count"] == 2
    removed = client.post(f"/api/collections/{cid}/images", json={"remove": [a]})
    assert removed.json["count"] == 1
    renamed = client.patch(f"/api/collections/{cid}", json={"name": "Stalls"})
    assert renamed.status_code == 200 and renamed.json == {"id": cid, "name": "Stalls", "count": 1}
    assert client.get(f"/api/library/{b}").json["collections"] == [{"id": cid, "name": "Stalls"}]
    assert client.delete(f"/api/collections/{cid}").json == {"deleted": cid}
    assert client.get("/api/collections").json == {"collections": []}
    assert listing(client)["total"] == 2
    assert client.get(f"/api/library/{b}").json["collections"] == []
    assert client.delete(f"/api/collections/{cid}").status_code == 404


def test_collections_are_listed_by_name(client):
    for name in ("mecha", "Heroes", "foxes"):
        client.post("/api/collections", json={"name": name})
    names = [c["name"] for c in client.get("/api/collections").json["collections"]]
    assert names == ["foxes", "Heroes", "mecha"]


def test_a_collection_name_in_use_ignoring_case_is_409(client):
    client.post("/api/collections", json={"name": "Heroes"})
    duplicate = client.post("/api/collections", json={"name": "heroes"})
    assert_bad(duplicate, "name", 409)
    assert "heroes" in duplicate.json["error"]
    other = client.post("/api/collections", json={"name": "Villains"}).json
    assert_bad(client.patch(f"/api/collections/{other['id']}", json={"name": "HEROES"}), "name", 409)
    recased = client.patch(f"/api/collections/{other['id']}", json={"name": "villains"})
    assert recased.status_code == 200 and recased.json["name"] == "villains"


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, 5, None])
def test_collection_names_must_be_1_to_80_characters(client, name):
    assert_bad(client.post("/api/collections", json={"name": name}), "name")


def test_a_collection_name_of_80_characters_is_allowed(client):
    assert client.post("/api/collections", json={"name": "x" * 80}).status_code == 201


def test_collection_images_need_existing_ids(client):
    cid = client.post("/api/collections", json={"name": "Heroes"}).json["id"]
    entry_id = saved(client)["id"]
    assert client.post(f"/api/collections/{cid}/images", json={"add": [entry_id, 42]}).status_code == 404
    assert client.get("/api/collections").json["collections"][0]["count"] == 0
    assert client.post("/api/collections/99/images", json={"add": [entry_id]}).status_code == 404
    assert client.patch("/api/collections/99", json={"name": "Other"}).status_code == 404
    assert_bad(client.post(f"/api/collections/{cid}/images", json={}), "add")
    assert_bad(client.post(f"/api/collections/{cid}/images", json={"add": [entry_id], "move": [1]}), "move")


# export


def read_export(response) -> tuple[dict, dict[str, bytes]]:
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members.pop("manifest.json")), members


def test_export_by_ids_zips_the_images_with_a_matching_manifest(client):
    a, b = saved(client, seed=1), saved(client, "silver haired knight", seed=2)
    cid = client.post("/api/collections", json={"name": "Heroes"}).json["id"]
    client.patch(f"/api/library/{b['id']}", json={"note": "cover", "collections": [cid]})
    manifest, members = read_export(client.post("/api/library/export", json={"ids": [b["id"], a["id"]]}))
    assert manifest["count"] == 2 and sorted(members) == sorted([a["file"], b["file"]])
    by_id = {image["id"]: image for image in manifest["images"]}
    assert set(by_id) == {a["id"], b["id"]}
    for image in manifest["images"]:
        assert hashlib.sha256(members[image["file"]]).hexdigest() == image["sha256"]
    assert by_id[a["id"]]["sha256"] == a["sha256"] and members[a["file"]] == client.get(a["url"]).data
    knight = by_id[b["id"]]
    assert knight["prompt"] == "silver haired knight" and knight["seed"] == 2
    assert knight["note"] == "cover" and knight["collections"] == ["Heroes"]
    assert knight["effective_prompt"] == b["effective_prompt"] and knight["created"] == b["created"]


def test_export_by_filter_takes_only_matching_images(client):
    saved(client, seed=1)
    star = saved(client, seed=2)
    client.patch(f"/api/library/{star['id']}", json={"starred": True})
    manifest, members = read_export(client.post("/api/library/export", json={"starred": True}))
    assert [image["id"] for image in manifest["images"]] == [star["id"]]
    assert list(members) == [star["file"]]
    assert hashlib.sha256(members[star["file"]]).hexdigest() == manifest["images"][0]["sha256"]


def test_export_errors(client):
    entry_id = saved(client)["id"]
    missing = client.post("/api/library/export", json={"ids": [entry_id, 404]})
    assert missing.status_code == 404 and "404" in missing.json["error"]
    assert_bad(client.post("/api/library/export", json={"ids": [entry_id], "starred": True}), "ids")
    nothing = client.post("/api/library/export", json={"starred": True})
    assert nothing.status_code == 400 and "nothing to export" in nothing.json["error"]
    assert_bad(client.post("/api/library/export", json={"limit": 5}), "limit")
    assert_bad(client.post("/api/library/export", json={"size": "1x1"}), "size")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_export_of_a_repeated_id_holds_the_image_once(client):
    entry = saved(client)
    response = client.post("/api/library/export", json={"ids": [entry["id"], entry["id"]]})
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == sorted([entry["file"], "manifest.json"])
    manifest, _ = read_export(response)
    assert manifest["count"] == 1 and len(manifest["images"]) == 1


# PNG info


def test_png_info_reads_our_png_from_a_multipart_upload_and_a_raw_body(client):
    answer = generate(client, prompt="silver haired knight", style="chibi", seed=99, steps=3, width=512, height=768)
    data = base64.b64decode(answer["image"])
    expected = {
        "prompt": "silver haired knight",
        "style": "chibi",
        "steps": 3,
        "seed": 99,
        "width": 512,
        "height": 768,
        "strength": None,
    }
    upload = client.post("/api/png-info", data={"file": (io.BytesIO(data), "knight.png")})
    raw = client.post("/api/png-info", data=data, content_type="image/png")
    for response in (upload, raw):
        assert response.status_code == 200, response.json
        assert response.json["source"] == "sdturbo"
        assert response.json["settings"] == expected
        assert response.json["parameters"] == answer["parameters"]
        assert response.json["warnings"] == []


def test_png_info_reads_an_a1111_png_and_warns_what_differs(client):
    response = client.post("/api/png-info", data={"file": (io.BytesIO(png_of(A1111_TEXT)), "a1111.png")})
    assert response.status_code == 200, response.json
    info = response.json
    assert info["source"] == "a1111" and info["parameters"] == A1111_TEXT
    settings = info["settings"]
    assert settings["prompt"] == "1girl, silver hair"
    assert (settings["seed"], settings["width"], settings["height"]) == (1234, 512, 768)
    assert settings["steps"] is None and settings["style"] == "none"
    assert info["fields"]["Sampler"] == "DPM++ 2M" and info["fields"]["Model"] == "anything-v5"
    warnings = " | ".join(info["warnings"])
    assert "Steps 20" in warnings
    assert "negative prompt" in warnings.lower()
    assert "DPM++ 2M" in warnings


def test_png_info_of_a_png_without_settings_is_422_naming_file(client):
    response = client.post("/api/png-info", data={"file": (io.BytesIO(png_of()), "plain.png")})
    assert response.status_code == 422 and response.json["field"] == "file"
    assert "no generation settings" in response.json["error"]


def test_png_info_refuses_what_is_not_a_png(client):
    jpeg = png_of(fmt="JPEG")
    assert_bad(client.post("/api/png-info", data={"file": (io.BytesIO(jpeg), "photo.jpg")}), "file")
    assert_bad(client.post("/api/png-info", data=jpeg, content_type="image/jpeg"), "file")
    assert_bad(client.post("/api/png-info", data=b"", content_type="image/png"), "file")
    assert_bad(client.post("/api/png-info", data={"image": (io.BytesIO(png_of(A1111_TEXT)), "a.png")}), "file")


def test_png_info_upload_over_21_mb_is_413(client):
    big = b"\0" * (21 * 2**20 + 1)
    raw = client.post("/api/png-info", data=big, content_type="image/png")
    assert raw.status_code == 413 and "20 MB" in raw.json["error"]
    upload = client.post("/api/png-info", data={"file": (io.BytesIO(big), "big.png")})
    assert upload.status_code == 413


def test_png_info_upload_just_over_20_mb_is_413(client):
    response = client.post("/api/png-info", data=b"\0" * (20 * 2**20 + 1), content_type="image/png")
    assert response.status_code == 413


def test_png_info_never_decodes_a_huge_declared_image(client, monkeypatch):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # 8-bit RGB, 10^10 pixels declared
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    bomb += chunk(b"IEND", b"")
    started = time.perf_counter()
    response = client.post("/api/png-info", data={"file": (io.BytesIO(bomb), "bomb.png")})
    assert time.perf_counter() - started < 1.0
    assert_bad(response, "file")
    assert decoded == []


# a library that cannot write


def _no_space(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_answers_the_image_and_says_it_was_not_saved(client, tmp_path, monkeypatch):
    monkeypatch.setattr("sdturbo.library.store.os.fsync", _no_space)
    answer = generate(client, seed=5)
    assert answer["library"]["saved"] is False
    assert answer["library"]["error"].startswith("not saved to the library: No space left on device")
    with Image.open(io.BytesIO(base64.b64decode(answer["image"]))) as image:
        assert image.size == (256, 256)
    assert listing(client)["total"] == 0
    folder = tmp_path / "library"
    assert leftover_temporaries(folder) == [] and list((folder / "images").rglob("*.png")) == []
    monkeypatch.undo()
    assert saved(client, seed=6)["id"] >= 1
    assert listing(client)["total"] == 1 and leftover_temporaries(folder) == []


def _no_space_for_folders(fd):
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        raise OSError(errno.ENOSPC, "No space left on device")
    return REAL_FSYNC(fd)


REAL_FSYNC = os.fsync


def test_an_image_reported_not_saved_does_not_come_back_after_a_restart(make_app, tmp_path, monkeypatch):
    client = make_app().test_client()
    monkeypatch.setattr("sdturbo.library.store.os.fsync", _no_space_for_folders)
    assert generate(client)["library"]["saved"] is False
    monkeypatch.undo()
    client.application.extensions["sdturbo"].stop()
    assert listing(make_app().test_client())["total"] == 0
    assert list((tmp_path / "library" / "images").rglob("*.png")) == []


def test_a_library_folder_that_cannot_be_made_still_answers_images(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the library's parent should be")
    folder = blocker / "library"
    client = make_app(library=folder).test_client()
    answer = generate(client)
    assert answer["library"]["saved"] is False and answer["image"]
    assert answer["library"]["error"].startswith("not saved to the library: ")
    assert str(folder) in answer["library"]["error"]
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["library"]["path"] == str(folder) and str(folder) in health.json["library"]["error"]
    listed = client.get("/api/library")
    assert listed.status_code == 503 and health.json["library"]["error"] in listed.json["error"]
    assert client.get("/api/collections").status_code == 503


def test_the_library_opens_on_a_later_save_once_its_folder_can_be_made(make_app, tmp_path):
    blocker = tmp_path / "parent"
    blocker.write_text("in the way")
    client = make_app(library=blocker / "library").test_client()
    assert generate(client)["library"]["saved"] is False
    blocker.unlink()
    blocker.mkdir()
    assert generate(client)["library"]["saved"] is True
    assert listing(client)["total"] == 1
    assert "error" not in client.get("/healthz").json["library"]


def test_library_off_answers_images_and_503_on_library_routes(make_app, tmp_path):
    client = make_app(library="off").test_client()
    answer = generate(client)
    assert answer["library"] is None and answer["image"]
    assert png_text(base64.b64decode(answer["image"]))["parameters"] == answer["parameters"]
    assert live(client)["library"] is None
    listed = client.get("/api/library")
    assert listed.status_code == 503 and "the library is off" in listed.json["error"]
    assert client.get("/healthz").json["library"] is None
    assert not (tmp_path / "library").exists()


# retention


def test_retention_deletes_old_unstarred_images_but_keeps_starred_and_collected(make_app):
    client = make_app(library_retain=1).test_client()
    starred = saved(client, seed=1)["id"]
    client.patch(f"/api/library/{starred}", json={"starred": True})
    collected = saved(client, seed=2)["id"]
    cid = client.post("/api/collections", json={"name": "Keep"}).json["id"]
    client.post(f"/api/collections/{cid}/images", json={"add": [collected]})
    old = saved(client, seed=3)["id"]
    new = saved(client, seed=4)["id"]
    assert sorted(listed_ids(client)) == sorted([starred, collected, new])
    assert client.get(f"/api/library/{old}").status_code == 404


# found by review: odd input is a JSON error naming the problem, never a 500


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "²"}, "limit"), ({"cursor": "9" * 5000}, "cursor"), ({"size": "²x512"}, "size")],
)
def test_odd_digits_in_the_query_are_400(client, query, field):
    assert_bad(client.get("/api/library", query_string=query), field)


def test_the_last_possible_day_is_a_valid_until(client):
    saved(client)
    assert listing(client, until="9999-12-31")["total"] == 1


def test_ids_past_sqlite_integers_and_odd_keep_ids_are_json_errors(client):
    huge = "9" * 23
    for response in [
        client.get(f"/api/library/{huge}"),
        client.delete(f"/api/library/{huge}"),
        client.get(f"/library/{huge}.png"),
        client.post("/api/library/²/keep"),
    ]:
        assert response.status_code in (404, 405) and response.is_json and response.json["error"], response.data[:80]


def test_a_missing_file_is_404_and_an_export_lists_it(client, tmp_path):
    kept, gone = saved(client), saved(client, seed=2)
    (tmp_path / "library" / gone["file"]).unlink()
    for url in (gone["url"], gone["thumb"]):
        response = client.get(url)
        assert response.status_code == 404 and "missing from the library folder" in response.json["error"]
    manifest, files = read_export(client.post("/api/library/export", json={"ids": [kept["id"], gone["id"]]}))
    assert manifest["count"] == 1 and manifest["missing"] == [{"id": gone["id"], "file": gone["file"]}]
    assert list(files) == [kept["file"]]


def test_thumbnails_asked_for_at_once_are_all_answered(client):
    entry = saved(client, **{"width": 512, "height": 768})
    codes = []
    threads = [threading.Thread(target=lambda: codes.append(client.get(entry["thumb"]).status_code)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 8


def test_a_kept_preview_deleted_from_the_library_can_be_kept_again(client):
    preview = live(client)["library"]
    first = client.post(preview["keep_url"]).json
    client.delete(f"/api/library/{first['id']}")
    again = client.post(preview["keep_url"])
    assert again.status_code == 201 and again.json["id"] != first["id"]


def test_png_info_does_not_trust_a_bad_sdturbo_chunk(client):
    bad = PngImagePlugin.PngInfo()
    bad.add_text("parameters", A1111_TEXT)
    bad.add_text("sdturbo", json.dumps({"v": 1, "style": ["x"], "prompt": None}))
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG", pnginfo=bad)
    info = client.post("/api/png-info", data=buffer.getvalue(), content_type="image/png")
    assert info.status_code == 200 and info.json["source"] == "a1111"  # its A1111 text is read instead
