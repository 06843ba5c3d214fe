"""Variations, image-to-image and upscale over HTTP (docs/ITERATE.md), on the stand-in engine."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from sdturbo.config import Settings
from sdturbo.web import create_app
from tests.fakes import FakeEngine, seed_color
from tests.test_img2img import bomb, encoded

SMALL = {"width": 256, "height": 256}


@pytest.fixture
def served(tmp_path):
    engine = FakeEngine()
    app = create_app(
        Settings(model="fake", validator_model="none", library=tmp_path / "library"), engine=engine, background=False
    )
    yield app.test_client(), engine, tmp_path / "library"
    app.extensions["sdturbo"].stop()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def assert_bad(response, field, status=400):
    assert response.status_code == status, response.json
    assert response.json["field"] == field, response.json


def test_n_variations_are_one_batch_with_consecutive_seeds_each_kept(served):
    client, engine, _ = served
    answer = client.post("/api/generate", json={"prompt": "anime fox", "seed": 40, "n": 4, **SMALL}).json
    assert answer["n"] == 4 and [i["seed"] for i in answer["images"]] == [40, 41, 42, 43]
    assert engine.batches == [4] and {i["batch_size"] for i in answer["images"]} == {4}
    assert len({i["library"]["id"] for i in answer["images"]}) == 4
    pixel = Image.open(io.BytesIO(base64.b64decode(answer["images"][2]["image"]))).getpixel((0, 0))
    assert pixel == seed_color(42)  # each image is its own seed's
    one = client.post("/api/generate", json={"prompt": "anime fox", "seed": 42, **SMALL}).json
    assert "images" not in one and one["seed"] == 42  # n = 1 answers as before


def test_variations_without_a_seed_start_at_random_and_stay_consecutive(served):
    client, _, _ = served
    seeds = [
        i["seed"] for i in client.post("/api/generate", json={"prompt": "anime fox", "n": 3, **SMALL}).json["images"]
    ]
    assert seeds == list(range(seeds[0], seeds[0] + 3))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"n": 9}, "n"),
        ({"n": 0}, "n"),
        ({"n": "four"}, "n"),
        ({"n": 2, "live": True, "client_id": "page"}, "n"),
        ({"n": 4, "seed": 2**32 - 2}, "seed"),
    ],
)
def test_bad_variation_requests_name_the_field(served, body, field):
    client, _, _ = served
    assert_bad(client.post("/api/generate", json={"prompt": "anime fox", **SMALL, **body}), field)


def test_img2img_from_base64_json_reports_the_crop_and_records_the_strength(served):
    client, engine, library = served
    photo = encoded(Image.new("RGB", (1000, 700), "white"), "JPEG")
    body = {"prompt": "anime girl", "image": "data:image/jpeg;base64," + b64(photo), "strength": 0.75, "seed": 5}
    answer = client.post("/api/img2img", json=body).json
    assert (answer["width"], answer["height"], answer["steps"], answer["strength"]) == (768, 512, 2, 0.75)
    assert answer["init"] == {"width": 1000, "height": 700}
    assert answer["crop"] == {"left": 0, "top": 16, "width": 1000, "height": 667}
    assert "Denoising strength: 0.75" in answer["parameters"]
    entry = answer["library"]["entry"]
    assert entry["strength"] == 0.75 and (library / "inits" / f"{entry['init_sha256']}.png").is_file()
    request = engine.requests[-1]
    assert request.init_image.size == (768, 512) and request.strength == 0.75
    info = client.post("/api/png-info", data=base64.b64decode(answer["image"]), content_type="image/png").json
    assert info["settings"]["strength"] == 0.75 and info["settings"]["seed"] == 5


def test_img2img_from_a_multipart_upload_and_from_the_library(served):
    client, engine, _ = served
    form = {"prompt": "anime girl", "strength": "0.5", "steps": "2", "n": "2", "seed": "9", "width": "256"}
    form |= {"height": "256", "image": (io.BytesIO(encoded(Image.new("RGB", (300, 300)), "PNG")), "s.png")}
    answer = client.post("/api/img2img", data=form, content_type="multipart/form-data").json
    assert [i["seed"] for i in answer["images"]] == [9, 10] and engine.batches[-1] == 2
    picked = answer["images"][1]["library"]["id"]
    again = client.post("/api/img2img", json={"prompt": "anime girl, red coat", "library_id": picked, "seed": 1}).json
    assert (again["width"], again["height"], again["init"]) == (256, 256, {"width": 256, "height": 256})


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"strength": 0.2}, "strength", 400),
        ({"strength": 0.3, "steps": 1}, "strength", 400),
        ({"strength": 2}, "strength", 400),
        ({"image": "!!!not base64"}, "image", 400),
        ({"image": b64(b"GIF89a....")}, "image", 400),
        ({"image": b64(bomb(8000, 6000))}, "image", 400),
        ({"library_id": 1}, "image", 400),  # both image and library_id
        ({"width": 300}, "width", 400),
    ],
)
def test_bad_img2img_requests_name_the_field(served, body, field, status):
    client, _, _ = served
    base = {"prompt": "anime girl", "image": b64(encoded(Image.new("RGB", (256, 256)), "PNG"))}
    assert_bad(client.post("/api/img2img", json={**base, **body}), field, status)


def test_an_upload_over_the_limit_is_413(served):
    client, _, _ = served
    # past the JSON limit: a 20 MB image as base64 (4/3 larger) and 1 MB of slack
    big = client.post("/api/img2img", data=b"{" + b" " * (29 * 2**20) + b"}", content_type="application/json")
    assert big.status_code == 413 and "at most 20 MB" in big.json["error"]


def test_img2img_without_an_image_and_from_a_missing_library_image(served):
    client, _, _ = served
    assert_bad(client.post("/api/img2img", json={"prompt": "anime girl"}), "image")
    missing = client.post("/api/img2img", json={"prompt": "anime girl", "library_id": 99})
    assert missing.status_code == 404 and "no image 99" in missing.json["error"]


def test_img2img_prompts_go_through_the_domain_validator(tmp_path):
    settings = Settings(model="fake", validator_model="none", library=tmp_path / "lib")  # keyword rules decide
    app = create_app(settings, engine=FakeEngine(), background=False)
    client = app.test_client()
    try:
        body = {"prompt": "a bar chart of quarterly sales", "image": b64(encoded(Image.new("RGB", (256, 256)), "PNG"))}
        rejected = client.post("/api/img2img", json=body)
        assert rejected.status_code == 422 and rejected.json["suggestions"]
    finally:
        app.extensions["sdturbo"].stop()


def test_upscale_makes_a_new_image_at_twice_the_size_with_the_same_prompt_and_seed(served):
    client, engine, _ = served
    pick = client.post("/api/generate", json={"prompt": "anime fox", "seed": 77, "width": 512, "height": 384}).json
    up = client.post("/api/upscale", json={"library_id": pick["library"]["id"]}).json
    assert (up["width"], up["height"]) == (1024, 768) and up["seed"] == 77 and up["prompt"] == "anime fox"
    assert (up["strength"], up["steps"], up["upscaled_from"]) == (0.3, 4, pick["library"]["id"])
    assert up["library"]["id"] != pick["library"]["id"]
    assert client.get(pick["library"]["url"]).status_code == 200  # the original stays
    big = client.post("/api/generate", json={"prompt": "anime fox", "seed": 1, "width": 768, "height": 768}).json
    capped = client.post("/api/upscale", json={"library_id": big["library"]["id"]}).json
    assert (capped["width"], capped["height"]) == (1024, 1024)  # capped at the size limit
    assert_bad(client.post("/api/upscale", json={"library_id": "x"}), "library_id")
    assert_bad(client.post("/api/upscale", json={"library_id": 1, "steps": 2}), "strength")


def test_config_gives_the_page_the_strength_and_count_limits(served):
    client, _, _ = served
    config = client.get("/api/config").json
    assert config["limits"]["strength"] == [0.1, 1.0] and config["limits"]["n"] == [1, 8]
    assert config["defaults"]["strength"] == 0.5 and config["defaults"]["img2img_steps"] == 2
    assert json.dumps(config)  # plain JSON


def test_an_img2img_result_is_made_again_from_its_recorded_init_image(served):
    client, _, _ = served
    photo = b64(encoded(Image.new("RGB", (640, 640), "white"), "PNG"))
    first = client.post("/api/img2img", json={"prompt": "anime girl", "image": photo, "seed": 8}).json
    entry = first["library"]["entry"]
    body = {k: entry[k] for k in ("prompt", "style", "seed", "steps", "strength", "init_sha256")}
    again = client.post("/api/img2img", json=body).json
    assert (
        again["parameters"] == first["parameters"] and again["library"]["entry"]["init_sha256"] == body["init_sha256"]
    )
    same = [Image.open(io.BytesIO(base64.b64decode(a["image"]))).tobytes() for a in (first, again)]
    assert same[0] == same[1]  # the same settings and init image: the same pixels
    assert_bad(client.post("/api/img2img", json={"prompt": "anime girl", "init_sha256": "xyz"}), "init_sha256")
    missing = client.post("/api/img2img", json={"prompt": "anime girl", "init_sha256": "0" * 64})
    assert missing.status_code == 404


def test_variations_of_one_init_image_encode_and_store_it_once(served, monkeypatch):
    from sdturbo import metadata

    client, _, library = served
    encodes = []
    real = metadata.plain_png
    monkeypatch.setattr(metadata, "plain_png", lambda image: encodes.append(image.size) or real(image))
    photo = b64(encoded(Image.new("RGB", (256, 256), "white"), "PNG"))
    answer = client.post("/api/img2img", json={"prompt": "anime girl", "image": photo, "n": 4, "seed": 1}).json
    assert encodes == [(256, 256)] and len({i["library"]["entry"]["init_sha256"] for i in answer["images"]}) == 1
    assert len(list((library / "inits").glob("*.png"))) == 1
