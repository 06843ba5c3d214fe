"""The OpenAI images API (docs/COMPAT.md, "OpenAI images API") on a live server with the tiny model.

Requests are made with the official `openai` Python client (`OpenAI(base_url=.../v1)`), so what is
tested is the SDK's own encoding (JSON, multipart with `image` or `image[]`, `extra_body`), its parsing
into `ImagesResponse` (extra keys kept: `image.data[0].seed`) and its error classes (`err.body` is the
`error` object); a few raw HTTP requests (stdlib urllib) check the error JSON and the library files
that the SDK does not show.
"""

import base64
import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
import openai
import piexif
import piexif.helper
import pytest
from openai import OpenAI
from PIL import Image, PngImagePlugin

from sdturbo.config import Settings
from sdturbo.web import create_app
from tests.net import serve_app

FOX = "fox spirit in a lantern-lit shrine"
SIZE = "256x256"  # the smallest allowed size: the tests are about the API, not the pictures
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def server(generator, validator, tmp_path_factory):
    """The app on the session's loaded tiny engine and validator, with a library; its base URL."""
    with _serve(generator, validator, tmp_path_factory.mktemp("openai-library")) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    return OpenAI(base_url=f"{server}/v1", api_key="test", max_retries=0)


@pytest.fixture(scope="module")
def client_without_library(generator, validator):
    with _serve(generator, validator, None) as url:
        yield OpenAI(base_url=f"{url}/v1", api_key="test", max_retries=0)


def _serve(generator, validator, library):
    settings = Settings(model="tiny", device="cpu", cache_dir=generator.settings.cache_dir, library=library)
    return serve_app(create_app(settings, generator.engine, validator=validator, background=False))


def decoded(item) -> bytes:
    return base64.b64decode(item.b64_json)


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def parameters(data: bytes) -> str:
    return Image.open(io.BytesIO(data)).info["parameters"]


def picture(width: int = 320, height: int = 256, text: dict[str, str] | None = None) -> bytes:
    """A PNG of a colour gradient, with the given text chunks (none: an image without settings)."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.stack([xs * 255 // width, ys * 255 // height, (xs + ys) % 256], axis=-1).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def fetch(url: str, body: bytes | None = None, content_type: str | None = None, method: str | None = None):
    """A raw HTTP exchange: (status, headers, body), error statuses included."""
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers, method=method), timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def post_json(url: str, body: dict):
    return fetch(url, json.dumps(body).encode(), "application/json")


def error_object(status: int, headers, body: bytes) -> dict:
    """The `error` object of an answer whose body is exactly OpenAI's {"error": {...}}, as JSON."""
    assert headers["Content-Type"].startswith("application/json"), (status, body)
    answer = json.loads(body)
    assert set(answer) == {"error"} and set(answer["error"]) >= ERROR_KEYS, answer
    assert answer["error"]["message"], answer
    return answer["error"]


def refusal(server: str, path: str, body: bytes, content_type: str) -> dict:
    """The `error` object of a 400 answer to a raw POST, checked to have exactly OpenAI's keys."""
    status, headers, data = fetch(f"{server}/v1/images/{path}", body, content_type)
    assert status == 400, data
    error = error_object(status, headers, data)
    assert set(error) == ERROR_KEYS and error["type"] == "invalid_request_error", error
    return error


# generations


def test_default_answer_is_a_b64_png_of_the_asked_size_naming_its_seed(client, server):
    before = time.time()
    answer = client.images.generate(model="sd-turbo", prompt=FOX, size="256x320")
    (item,) = answer.data
    assert item.url is None
    png = decoded(item)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (256, 320))
    assert isinstance(item.seed, int)
    assert f"Seed: {item.seed}," in image.info["parameters"]
    assert "Size: 256x320" in image.info["parameters"]
    assert isinstance(answer.created, int) and before - 2 <= answer.created <= time.time() + 2
    assert (answer.size, answer.output_format) == ("256x320", "png")
    assert FOX in item.revised_prompt and item.revised_prompt != FOX  # the prompt inside the style template
    assert item.steps == 1  # quality auto
    kept = json.loads(fetch(f"{server}/api/library/{item.library_id}")[2])  # kept, as every image made
    assert (kept["prompt"], kept["seed"], kept["width"], kept["height"]) == (FOX, item.seed, 256, 320)


def test_n_images_have_consecutive_seeds_each_named_in_its_png(client):
    answer = client.images.generate(prompt=FOX, n=3, size=SIZE)
    seeds = [item.seed for item in answer.data]
    assert seeds == [seeds[0], seeds[0] + 1, seeds[0] + 2]
    for item, seed in zip(answer.data, seeds, strict=True):
        assert f"Seed: {seed}," in parameters(decoded(item))
    assert len({item.library_id for item in answer.data}) == 3
    seeded = client.images.generate(prompt=FOX, n=2, size=SIZE, extra_body={"seed": 100})
    assert [item.seed for item in seeded.data] == [100, 101]


def test_a_seed_given_in_extra_body_makes_the_same_pixels_again(client):
    first, second = (client.images.generate(prompt=FOX, size=SIZE, extra_body={"seed": 42}) for _ in range(2))
    assert first.data[0].seed == second.data[0].seed == 42
    assert np.array_equal(pixels(decoded(first.data[0])), pixels(decoded(second.data[0])))
    other = client.images.generate(prompt=FOX, size=SIZE, extra_body={"seed": 43}).data[0]
    assert not np.array_equal(pixels(decoded(other)), pixels(decoded(first.data[0])))  # the seed matters


def test_url_answer_is_the_library_image_of_the_same_picture(client, server):
    by_url = client.images.generate(prompt=FOX, size=SIZE, response_format="url", extra_body={"seed": 7}).data[0]
    inline = client.images.generate(prompt=FOX, size=SIZE, extra_body={"seed": 7}).data[0]
    assert by_url.b64_json is None and by_url.url.startswith(f"{server}/")  # absolute, on this server
    status, headers, png = fetch(by_url.url)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert np.array_equal(pixels(png), pixels(decoded(inline)))
    assert "Seed: 7," in parameters(png)
    assert by_url.revised_prompt == inline.revised_prompt


@pytest.mark.parametrize(("quality", "steps"), [("low", 1), ("medium", 2), ("hd", 4)])
def test_quality_picks_the_steps(client, quality, steps):
    item = client.images.generate(prompt=FOX, size=SIZE, quality=quality).data[0]
    assert item.steps == steps
    assert f"Steps: {steps}," in parameters(decoded(item))


@pytest.mark.parametrize(("output_format", "pil_format"), [("jpeg", "JPEG"), ("webp", "WEBP")])
def test_jpeg_and_webp_carry_the_parameters_as_a1111_reads_them(client, output_format, pil_format):
    answer = client.images.generate(prompt=FOX, size=SIZE, output_format=output_format, extra_body={"seed": 9})
    assert answer.output_format == output_format
    image = Image.open(io.BytesIO(decoded(answer.data[0])))
    assert (image.format, image.size) == (pil_format, (256, 256))
    # as AUTOMATIC1111's read_info_from_image does
    comment = piexif.load(image.info["exif"])["Exif"][piexif.ExifIFD.UserComment]
    text = piexif.helper.UserComment.load(comment)
    assert "Seed: 9," in text and "Size: 256x256" in text


def test_any_model_name_is_answered_by_the_loaded_model(client):
    raw = client.images.with_raw_response.generate(model="dall-e-3", prompt=FOX, size=SIZE)
    loaded = raw.headers["X-SDTurbo-Model"]
    assert loaded and loaded != "dall-e-3"
    item = raw.parse().data[0]
    assert item.model_extra["model"] == loaded
    assert f"Model: {loaded}" in parameters(decoded(item))


def test_accepted_openai_fields_change_nothing_and_a_studio_preset_applies(client):
    accepted = {
        "model": "gpt-image-1",
        "style": "vivid",
        "quality": "auto",
        "background": "opaque",
        "moderation": "low",
        "user": "user-1234",
        "stream": False,
        "partial_images": 0,
    }
    plain, ignored, chibi = (
        client.images.generate(prompt=FOX, size=SIZE, extra_body={"seed": 3}, **fields).data[0]
        for fields in ({}, accepted, {"style": "chibi"})
    )
    assert ignored.revised_prompt == plain.revised_prompt
    assert np.array_equal(pixels(decoded(ignored)), pixels(decoded(plain)))
    assert FOX in chibi.revised_prompt and chibi.revised_prompt != plain.revised_prompt
    assert not np.array_equal(pixels(decoded(chibi)), pixels(decoded(plain)))  # the model drew the preset


def test_output_compression_is_the_jpeg_quality(client):
    small, large = (
        decoded(
            client.images.generate(
                prompt=FOX, size=SIZE, output_format="jpeg", output_compression=quality, extra_body={"seed": 4}
            ).data[0]
        )
        for quality in (10, 95)
    )
    assert len(small) < len(large)


def test_size_auto_is_the_default_512(client):
    answer = client.images.generate(prompt=FOX, size="auto")
    assert answer.size == "512x512"
    assert Image.open(io.BytesIO(decoded(answer.data[0]))).size == (512, 512)


def test_without_the_library_b64_works_and_library_id_is_null(client_without_library):
    item = client_without_library.images.generate(prompt=FOX, size=SIZE).data[0]
    assert item.library_id is None and Image.open(io.BytesIO(decoded(item))).size == (256, 256)


# generation errors, through the SDK


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"size": "1792x1024"}, "size"),
        ({"size": "1000x1000"}, "size"),
        ({"n": 9}, "n"),
        ({"n": 0}, "n"),
        ({"quality": "ultra"}, "quality"),
        ({"background": "transparent"}, "background"),
        ({"output_format": "gif"}, "output_format"),
        ({"output_compression": 101}, "output_compression"),
        ({"response_format": "svg"}, "response_format"),
        ({"style": "no-such-preset"}, "style"),
        ({"user": "u" * 257}, "user"),
        ({"partial_images": 2}, "partial_images"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "anime fox " * 101}, "prompt"),
        ({"extra_body": {"steps": 5}}, "steps"),
        ({"extra_body": {"seed": -1}}, "seed"),
        ({"extra_body": {"negative_prompt": "blurry"}}, "negative_prompt"),  # unknown fields are refused
        ({"extra_body": {"guidance_scale": 7}}, "guidance_scale"),
    ],
)
def test_a_bad_field_is_a_bad_request_naming_it(client, arguments, param):
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(**{"prompt": FOX, "size": SIZE, **arguments})
    err = raised.value
    assert err.status_code == 400
    # the 3.x client keeps the `error` object as .body, and reads param, type and code from it
    assert set(err.body) == ERROR_KEYS, err.body
    assert (err.body["param"], err.body["type"], err.body["code"]) == (param, "invalid_request_error", None)
    assert (err.param, err.type, err.code) == (param, "invalid_request_error", None)
    assert param in err.body["message"]


def test_an_out_of_domain_prompt_is_a_content_policy_violation_with_suggestions(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt="quarterly earnings spreadsheet for a bank", size=SIZE)
    err = raised.value
    assert (err.code, err.type) == ("content_policy_violation", "invalid_request_error")
    suggestions = err.body["suggestions"]
    assert suggestions and all(isinstance(s, str) and s for s in suggestions)
    assert all(s in err.body["message"] for s in suggestions)
    assert "spreadsheet" in err.body["message"]  # the reason


def test_streaming_is_refused(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt=FOX, size=SIZE, stream=True)
    assert raised.value.param == "stream"


def test_url_without_the_library_is_refused_naming_response_format(client_without_library):
    with pytest.raises(openai.BadRequestError) as raised:
        client_without_library.images.generate(prompt=FOX, size=SIZE, response_format="url")
    assert raised.value.param == "response_format"
    assert "library" in raised.value.body["message"]


# error bodies on the wire


def test_error_bodies_are_openai_error_objects(server):
    size = refusal(server, "generations", json.dumps({"prompt": FOX, "size": "1792x1024"}).encode(), "application/json")
    assert (size["param"], size["code"]) == ("size", None)
    unknown = refusal(server, "generations", json.dumps({"prompt": FOX, "cfg_scale": 7}).encode(), "application/json")
    assert unknown["param"] == "cfg_scale" and "cfg_scale" in unknown["message"]
    refusal(server, "generations", b"prompt=fox", "text/plain")
    form = f'--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n{FOX}\r\n--B--\r\n'.encode()
    no_image = refusal(server, "edits", form, "multipart/form-data; boundary=B")
    assert no_image["param"] == "image"


def test_out_of_domain_body_adds_the_suggestions(server):
    status, headers, body = post_json(f"{server}/v1/images/generations", {"prompt": "quarterly earnings spreadsheet"})
    error = error_object(status, headers, body)
    assert status == 400 and error["suggestions"]
    assert (error["code"], error["param"]) == ("content_policy_violation", "prompt")
    assert error["type"] == "invalid_request_error"


def test_unknown_routes_and_methods_answer_json_errors(server, client):
    status, headers, body = post_json(f"{server}/v1/images/upscales", {"prompt": FOX})
    missing = error_object(status, headers, body)
    assert status == 404 and set(missing) == ERROR_KEYS
    assert (missing["type"], missing["param"], missing["code"]) == ("invalid_request_error", None, "not_found")
    status, headers, body = fetch(f"{server}/v1/images/generations")  # GET
    wrong_method = error_object(status, headers, body)
    assert status == 405 and set(wrong_method) == ERROR_KEYS
    assert (wrong_method["type"], wrong_method["code"]) == ("invalid_request_error", "method_not_allowed")
    with pytest.raises(openai.NotFoundError) as raised:
        client.get("/images/nowhere", cast_to=object)
    assert raised.value.code == "not_found"


# edits


def test_edit_makes_the_asked_size_and_the_same_seed_makes_the_same_pixels(client):
    image = ("fox.png", picture(), "image/png")
    first, second = (
        client.images.edit(image=image, prompt=FOX, size=SIZE, extra_body={"seed": 5, "strength": 0.5}).data[0]
        for _ in range(2)
    )
    png = decoded(first)
    assert Image.open(io.BytesIO(png)).size == (256, 256)
    assert first.seed == 5 and FOX in first.revised_prompt
    assert "Seed: 5," in parameters(png) and "Denoising strength: 0.5" in parameters(png)
    assert np.array_equal(pixels(png), pixels(decoded(second)))


def test_edit_takes_the_sdks_image_list_and_defaults_to_the_images_size(client):
    answer = client.images.edit(image=[("wide.png", picture(320, 256), "image/png")], prompt=FOX, n=2)
    assert answer.size == "320x256"  # already an allowed size: kept
    assert [Image.open(io.BytesIO(decoded(item))).size for item in answer.data] == [(320, 256)] * 2
    assert [item.steps for item in answer.data] == [2, 2]  # the image-to-image default
    assert answer.data[1].seed == answer.data[0].seed + 1


def test_edit_with_a_mask_is_refused(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(
            image=("fox.png", picture(), "image/png"), mask=("mask.png", picture(), "image/png"), prompt=FOX, size=SIZE
        )
    assert raised.value.param == "mask"


def test_an_upload_over_20_mb_is_refused(client):
    oversized = b"\x89PNG" + bytes(20 * 2**20)
    with pytest.raises(openai.APIStatusError) as raised:
        client.images.edit(image=("huge.png", oversized, "image/png"), prompt=FOX, size=SIZE)
    assert raised.value.status_code == 413
    assert (raised.value.code, raised.value.type) == ("file_too_large", "invalid_request_error")
    assert raised.value.param == "image"


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"image": ("notes.txt", b"not an image at all", "text/plain")}, "image"),
        ({"extra_body": {"strength": 0.05}}, "strength"),
        ({"size": "1536x1024"}, "size"),
        ({"extra_body": {"denoise": 0.5}}, "denoise"),
    ],
)
def test_a_bad_edit_field_is_a_bad_request_naming_it(client, arguments, param):
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(**{"image": ("fox.png", picture(), "image/png"), "prompt": FOX, "size": SIZE, **arguments})
    assert (raised.value.param, raised.value.type) == (param, "invalid_request_error")


# variations: the SDK marks create_variation deprecated (OpenAI retired the endpoint); this server keeps it
VARIATIONS_DEPRECATED = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")


@VARIATIONS_DEPRECATED
def test_variations_of_a_plain_image_are_anime_illustrations(client):
    answer = client.images.create_variation(image=("plain.png", picture(), "image/png"), n=2, size=SIZE)
    assert len(answer.data) == 2
    assert [Image.open(io.BytesIO(decoded(item))).size for item in answer.data] == [(256, 256)] * 2
    assert answer.data[1].seed == answer.data[0].seed + 1
    assert all("anime illustration" in item.revised_prompt for item in answer.data)
    assert "Denoising strength: 0.5" in parameters(decoded(answer.data[0]))


@VARIATIONS_DEPRECATED
@pytest.mark.parametrize("output_format", ["png", "jpeg"])
def test_a_variation_of_a_studio_image_keeps_its_prompt(client, output_format):
    made = client.images.generate(prompt=FOX, size=SIZE, output_format=output_format, extra_body={"seed": 21}).data[0]
    image = (f"made.{output_format}", decoded(made), f"image/{output_format}")
    varied = client.images.create_variation(image=image, size=SIZE).data[0]
    assert varied.revised_prompt == made.revised_prompt  # the same prompt, styled once, not twice


@VARIATIONS_DEPRECATED
def test_a_variation_of_an_a1111_image_keeps_its_prompt(client):
    infotext = "cat girl reading in a sunlit garden\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 320x256"
    image = ("a1111.png", picture(text={"parameters": infotext}), "image/png")
    varied = client.images.create_variation(image=image, size=SIZE).data[0]
    assert varied.revised_prompt.startswith("cat girl reading in a sunlit garden")
    assert "Steps" not in varied.revised_prompt and "anime illustration" not in varied.revised_prompt


@VARIATIONS_DEPRECATED
def test_a_variation_prompt_extension_replaces_the_images_and_is_validated(client):
    image = ("plain.png", picture(), "image/png")
    replaced = client.images.create_variation(image=image, size=SIZE, extra_body={"prompt": FOX}).data[0]
    assert FOX in replaced.revised_prompt
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.create_variation(image=image, size=SIZE, extra_body={"prompt": "quarterly earnings spreadsheet"})
    assert raised.value.code == "content_policy_violation"


# findings of the review of 2026-11-25, each failing before its fix


@pytest.mark.parametrize(("quality", "steps"), [("standard", 2), ("low", 2), ("medium", 3), ("hd", 4)])
def test_edit_quality_maps_to_steps_that_can_draw_an_edit(client, quality, steps):
    """DALL-E 2's edits send quality "standard": 1 step at strength 0.5 would draw nothing, so edits start at 2."""
    answer = client.images.edit(image=("in.png", picture(), "image/png"), prompt=FOX, size=SIZE, quality=quality)
    assert answer.data[0].steps == steps


def test_numeric_text_fields_in_a_form_stay_text(client):
    answer = client.images.edit(image=("in.png", picture(), "image/png"), prompt=FOX, size=SIZE, user="12345")
    assert answer.data[0].steps == 2


@VARIATIONS_DEPRECATED
def test_a_variation_of_an_image_with_an_empty_or_overlong_own_prompt(client):
    empty = picture(text={"parameters": "Steps: 1, Sampler: Euler, Seed: 1"})  # A1111, made with no prompt
    varied = client.images.create_variation(image=("empty.png", empty, "image/png"), size=SIZE).data[0]
    assert varied.revised_prompt.startswith("anime illustration")
    long = picture(text={"parameters": "fox " * 1250 + "\nSteps: 1, Sampler: Euler, Seed: 1"})
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.create_variation(image=("long.png", long, "image/png"), size=SIZE)
    assert refused.value.body["param"] == "image" and "send a `prompt`" in refused.value.body["message"]
