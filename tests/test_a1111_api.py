"""AUTOMATIC1111's API (docs/COMPAT.md, "AUTOMATIC1111 API (/sdapi/v1/*)") on a live server with the tiny model.

Most requests are made with the real third-party client `webuiapi` 0.9.17 with its defaults (steps 20,
CFG 7, "Euler a"), so what is tested is that client's own payloads and parsing (`_to_api_result`:
raw base64 images, `info` decoded from a JSON string, `RuntimeError(status, text)` on errors). The
other clients' request bodies are replayed as their source builds them (cited per test as
repo@commit:path), and the fields those clients read from the answer are checked.
Interrupt is driven on a second app whose fake engine blocks on a gate, so the order of events is
fixed by the test, not by a clock.
"""

import base64
import io
import json
import threading

import numpy as np
import pytest
import requests
import webuiapi
from PIL import Image, PngImagePlugin

from sdturbo.config import Settings
from sdturbo.web import create_app
from tests.fakes import FakeEngine
from tests.net import serve_app, wait_until

FOX = "fox spirit in a lantern-lit shrine"
OUT_OF_DOMAIN = "quarterly earnings spreadsheet for a bank"
PNG_MAGIC = "iVBORw0KGgo"  # base64 of a PNG's first bytes: Cyanic SD-Krita's test for PNG
ERROR_KEYS = {"error", "detail", "body", "errors"}  # A1111's handle_exception shape
# what A1111's Processed.js() answers as `info` (client_shapes.md section 7), plus this server's three
INFO_KEYS = {
    "prompt", "all_prompts", "negative_prompt", "all_negative_prompts", "seed", "all_seeds", "subseed",
    "all_subseeds", "subseed_strength", "width", "height", "sampler_name", "cfg_scale", "steps", "batch_size",
    "restore_faces", "face_restoration_model", "sd_model_name", "sd_model_hash", "sd_vae_name", "sd_vae_hash",
    "seed_resize_from_w", "seed_resize_from_h", "denoising_strength", "extra_generation_params",
    "index_of_first_image", "infotexts", "styles", "job_timestamp", "clip_skip", "is_using_inpainting_conditioning",
    "version", "warnings", "interrupted", "library_ids",
}  # fmt: skip


@pytest.fixture(scope="module")
def server(generator, validator, tmp_path_factory):
    """The app on the session's loaded tiny engine and validator, with a library; its base URL."""
    settings = Settings(
        model="tiny",
        device="cpu",
        cache_dir=generator.settings.cache_dir,
        library=tmp_path_factory.mktemp("a1111-library"),
    )
    with serve_app(create_app(settings, generator.engine, validator=validator, background=False)) as url:
        yield url


@pytest.fixture(scope="module")
def api(server):
    """webuiapi's client with its defaults; its constructor already asked GET /sdapi/v1/scripts."""
    return webuiapi.WebUIApi(host="127.0.0.1", port=int(server.rsplit(":", 1)[1]))


def picture(width: int = 320, height: int = 256, text: dict[str, str] | None = None) -> Image.Image:
    """A colour gradient (with the given PNG text chunks in .info, which webuiapi copies into its upload)."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.stack([xs * 255 // width, ys * 255 // height, (xs + ys) % 256], axis=-1).astype(np.uint8)
    image = Image.fromarray(rgb)
    image.info.update(text or {})
    return image


def png_b64(image: Image.Image) -> str:
    """Raw base64 of a PNG (no data: prefix), as stable-gimpfusion and Cyanic SD-Krita send init images."""
    info = PngImagePlugin.PngInfo()
    for key, value in image.info.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def post(server: str, path: str, body: dict | None = None, **headers: str) -> requests.Response:
    return requests.post(f"{server}/sdapi/v1/{path}", json=body, headers=headers, timeout=60)


def ok(response: requests.Response) -> dict:
    """A generation answer: 200 JSON {images, parameters, info} with `info` decoded from its JSON string."""
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"images", "parameters", "info"}, answer.keys()
    assert isinstance(answer["info"], str)
    answer["info"] = json.loads(answer["info"])
    return answer


def a1111_error(response: requests.Response, status: int) -> dict:
    """An error answer in A1111's shape: JSON with error, detail, body and errors."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= ERROR_KEYS, body
    assert body["detail"] and body["errors"], body
    return body


def refused(raised: pytest.ExceptionInfo, field: str) -> dict:
    """webuiapi's RuntimeError(status, text) for a 422 naming `field`; the decoded error body."""
    status, text = raised.value.args
    assert status == 422, text
    body = json.loads(text)
    assert set(body) >= ERROR_KEYS, body
    assert body["field"] == field and field in body["detail"] and field in body["errors"], body
    return body


# webuiapi 0.9.17 (mix1009/sdwebuiapi@ce232f0c:webuiapi/webuiapi.py): every key of its payload is sent,
# with steps 20, cfg_scale 7.0, sampler_name and sampler_index "Euler a", hr_* and firstphase_* keys


def test_webuiapi_txt2img_defaults_are_drawn_the_turbo_way_and_said(api):
    result = api.txt2img(prompt=FOX, width=256, height=256, seed=1234)
    assert len(result.images) == 1 and result.image.size == (256, 256)
    info = result.info
    assert isinstance(info, dict) and set(info) >= INFO_KEYS, info  # json.loads(r["info"]) worked
    assert info["all_seeds"] == [1234] and info["seed"] == 1234
    assert (info["steps"], info["cfg_scale"], info["sampler_name"]) == (4, 0, "Euler")
    assert (info["width"], info["height"], info["interrupted"]) == (256, 256, False)
    warnings = " | ".join(info["warnings"])
    assert "steps 20 -> 4" in warnings and "cfg_scale 7 -> 0" in warnings and "'Euler a' -> 'Euler'" in warnings
    assert "hr_" not in warnings and "firstphase" not in warnings  # webuiapi's hires keys are A1111's: harmless
    infotext = result.image.info["parameters"]
    assert infotext == info["infotexts"][0]  # the PNG carries exactly the answer's infotext
    assert infotext.startswith(FOX)
    for setting in ("Steps: 4,", "Sampler: Euler,", "CFG scale: 0,", "Seed: 1234,", "Size: 256x256"):
        assert setting in infotext, infotext
    # the answer's `parameters` echo the request with the values used
    assert (result.parameters["steps"], result.parameters["cfg_scale"]) == (4, 0)
    assert (result.parameters["sampler_name"], result.parameters["prompt"]) == ("Euler", FOX)


def test_webuiapi_batch_size_times_n_iter_images_have_consecutive_seeds(api):
    result = api.txt2img(prompt=FOX, width=256, height=256, seed=500, batch_size=2, n_iter=2)
    assert len(result.images) == 4 and {image.size for image in result.images} == {(256, 256)}
    info = result.info
    assert info["all_seeds"] == [500, 501, 502, 503] and info["seed"] == 500
    assert len(info["infotexts"]) == len(info["all_prompts"]) == len(info["all_subseeds"]) == 4
    for image, seed, infotext in zip(result.images, info["all_seeds"], info["infotexts"], strict=True):
        assert image.info["parameters"] == infotext and f"Seed: {seed}," in infotext
    assert len(set(info["library_ids"])) == 4 and None not in info["library_ids"]  # every image is kept


def test_webuiapi_same_seed_same_pixels(api):
    first, second, other = (api.txt2img(prompt=FOX, width=256, height=256, seed=s) for s in (77, 77, 78))
    assert np.array_equal(pixels(first.image), pixels(second.image))
    assert not np.array_equal(pixels(first.image), pixels(other.image))  # the seed matters


def test_webuiapi_seed_minus_one_reports_the_random_seed(api):
    result = api.txt2img(prompt=FOX, width=256, height=256)  # webuiapi's default seed is -1
    seed = result.info["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32 and result.info["all_seeds"] == [seed]
    assert f"Seed: {seed}," in result.image.info["parameters"]
    assert result.parameters["seed"] == -1  # the request, as sent


def test_webuiapi_img2img_with_a_data_url_png(api):
    # webuiapi's b64_img: "data:image/png;base64," + raw_b64_img(image)
    result = api.img2img(images=[picture(320, 256)], prompt=FOX, denoising_strength=0.5, width=256, height=256, seed=9)
    assert result.image.size == (256, 256)  # the 320x256 picture is resized to the size asked
    info = result.info
    assert info["denoising_strength"] == 0.5 and info["all_seeds"] == [9]
    infotext = result.image.info["parameters"]
    assert "Denoising strength: 0.5" in infotext and "Seed: 9," in infotext and "Size: 256x256" in infotext
    assert result.parameters["init_images"] is None  # as A1111 without include_init_images
    again = api.img2img(images=[picture(320, 256)], prompt=FOX, denoising_strength=0.5, width=256, height=256, seed=9)
    assert np.array_equal(pixels(result.image), pixels(again.image))


def test_webuiapi_override_settings_this_model_is_accepted_others_are_said(api):
    title = api.util_get_current_model()
    same = api.txt2img(prompt=FOX, width=256, height=256, override_settings={"sd_model_checkpoint": title})
    assert not any("override_settings" in w for w in same.info["warnings"])
    assert same.info["sd_model_name"] == title and f"Model: {title}" in same.image.info["parameters"]
    vae = api.txt2img(prompt=FOX, width=256, height=256, override_settings={"sd_vae": "kl-f8-anime2.ckpt"})
    assert "override_settings.sd_vae ignored" in vae.info["warnings"]


def test_webuiapi_model_sampler_and_option_calls(api):
    (model,) = api.get_sd_models()
    assert set(model) >= {"title", "model_name", "hash", "sha256", "filename", "config"}
    title = model["title"]
    assert title and "/" not in title  # a label, never a path on the server
    assert api.util_get_model_names() == [title]
    assert api.get_samplers() == [{"name": "Euler", "aliases": ["k_euler"], "options": {}}]
    assert api.util_get_sampler_names() == ["Euler"]
    assert [s["label"] for s in api.get_schedulers()] == ["Automatic"]
    options = api.get_options()
    assert options["sd_model_checkpoint"] == title and options["samples_format"] == "png"
    assert api.set_options({"sd_model_checkpoint": title}) is None  # A1111 answers null
    api.util_set_model(title)  # posts {"sd_model_checkpoint": <closest title>}; it does not check the answer
    assert api.util_get_current_model() == title
    assert api.get_scripts() == {"txt2img": [], "img2img": []}  # so webuiapi injects no alwayson_scripts
    assert (api.has_controlnet, api.has_adetailer, api.has_animatediff) == (False, False, False)


def test_options_it_cannot_honour_are_refused(server):
    response = post(server, "options", {"samples_format": "jpg"})
    assert a1111_error(response, 422)["field"] == "samples_format"
    response = post(server, "options", {"sd_model_checkpoint": "sd_xl_base_1.0.safetensors"})
    assert a1111_error(response, 422)["field"] == "sd_model_checkpoint"


def test_webuiapi_prompt_styles_progress_and_interrupt(api, validator):
    styles = api.get_prompt_styles()
    assert [s["name"] for s in styles] == list(validator.styles)
    assert all(set(s) == {"name", "prompt", "negative_prompt"} and s["negative_prompt"] == "" for s in styles)
    assert any("{prompt}" in s["prompt"] for s in styles)
    progress = api.get_progress()
    assert (progress["progress"], progress["eta_relative"], progress["current_image"]) == (0.0, 0.0, None)
    assert progress["state"]["job_count"] == 0 and progress["textinfo"] is None  # idle
    api.util_wait_for_ready(check_interval=0.01)  # returns at once: progress 0 and job_count 0
    assert api.interrupt() == {} and api.skip() == {}  # webuiapi calls .json(): an empty body would raise


def test_webuiapi_png_info_reads_the_settings_back(api):
    made = api.txt2img(prompt=FOX, width=256, height=320, seed=4321, steps=2)
    result = api.png_info(made.image)  # webuiapi sends {"image": data URL}, with the PNG text chunks copied
    assert result.info == made.image.info["parameters"]  # an infotext is not JSON: webuiapi keeps the string
    parsed = result.parameters
    assert parsed["Prompt"] == made.info["all_prompts"][0] and parsed["Negative prompt"] == ""  # the styled prompt
    assert (parsed["Seed"], parsed["Steps"], parsed["Sampler"]) == ("4321", "2", "Euler")
    assert (parsed["Size-1"], parsed["Size-2"]) == ("256", "320")
    plain = api.png_info(picture(text={"Software": "GIMP"}))  # no settings: A1111 answers info ""
    assert (plain.info, plain.parameters, plain.json["items"]) == ("", {}, {"Software": "GIMP"})


# errors through webuiapi: RuntimeError(status, text), text in A1111's error shape


def test_webuiapi_hires_fix_is_refused_naming_enable_hr(api):
    with pytest.raises(RuntimeError) as raised:
        api.txt2img(prompt=FOX, width=256, height=256, enable_hr=True)
    body = refused(raised, "enable_hr")
    assert body["error"] == "invalid_parameter" and body["body"] == ""


def test_webuiapi_out_of_domain_prompt_is_422_with_suggestions(api):
    with pytest.raises(RuntimeError) as raised:
        api.txt2img(prompt=OUT_OF_DOMAIN, width=256, height=256)
    body = refused(raised, "prompt")
    assert body["error"] == "out_of_domain" and body["reasons"]
    assert body["suggestions"] and all(isinstance(s, str) and s for s in body["suggestions"])
    assert any("spreadsheet" in reason for reason in body["reasons"])


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"width": 520}, "width"),
        ({"height": 1088}, "height"),
        ({"steps": 0}, "steps"),
        ({"prompt": ""}, "prompt"),  # webuiapi's default prompt: SD-Turbo needs a subject
        ({"seed": 2**32}, "seed"),
        ({"batch_size": 3, "n_iter": 3}, "n_iter"),  # 9 images: more than 8
        ({"styles": ["anime", "chibi"]}, "styles"),
        ({"styles": ["no-such-style"]}, "styles"),
        ({"restore_faces": True}, "restore_faces"),
        ({"tiling": True}, "tiling"),
        ({"subseed_strength": 0.5}, "subseed_strength"),
        ({"seed_resize_from_w": 512}, "seed_resize_from_w"),
        ({"s_churn": 1}, "s_churn"),
        ({"script_name": "x/y/z plot"}, "script_name"),
        ({"alwayson_scripts": {"ControlNet": {"args": []}}}, "alwayson_scripts"),
        ({"override_settings": {"sd_model_checkpoint": "sd_xl_base_1.0.safetensors"}}, "override_settings"),
        ({"cfg_scale": -1}, "cfg_scale"),
    ],
)
def test_webuiapi_txt2img_fields_it_cannot_honour_are_422_naming_them(api, arguments, field):
    with pytest.raises(RuntimeError) as raised:
        api.txt2img(**{"prompt": FOX, "width": 256, "height": 256, **arguments})
    refused(raised, field)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"resize_mode": 2}, "resize_mode"),
        ({"mask_image": picture()}, "mask"),
        ({"initial_noise_multiplier": 0.5}, "initial_noise_multiplier"),
        ({"denoising_strength": 0.05}, "denoising_strength"),
        ({"images": []}, "init_images"),
    ],
)
def test_webuiapi_img2img_fields_it_cannot_honour_are_422_naming_them(api, arguments, field):
    with pytest.raises(RuntimeError) as raised:
        api.img2img(**{"images": [picture()], "prompt": FOX, "width": 256, "height": 256, **arguments})
    refused(raised, field)


def test_a_minimal_img2img_body_is_drawn_with_the_defaults(server):
    # steps and denoising_strength left out: img2img's 2 steps x A1111's 0.75 leave one denoising step
    body = {"prompt": FOX, "init_images": [png_b64(picture(256, 256))], "width": 256, "height": 256}
    answer = ok(post(server, "img2img", body))
    info = answer["info"]
    assert answer["images"] and (info["steps"], info["denoising_strength"]) == (2, 0.75) and not info["warnings"]


def test_img2img_resize_mode_crop_and_resize(server):
    body = {"prompt": FOX, "init_images": [png_b64(picture(320, 256))], "width": 256, "height": 256, "steps": 2}
    stretched, cropped = (ok(post(server, "img2img", {**body, "resize_mode": mode, "seed": 3})) for mode in (0, 1))
    assert decode(cropped["images"][0]).size == decode(stretched["images"][0]).size == (256, 256)
    assert not np.array_equal(pixels(decode(cropped["images"][0])), pixels(decode(stretched["images"][0])))


# what else the contract says of txt2img


def test_steps_one_to_four_are_kept_and_euler_a_is_euler_at_one_step(server):
    one = ok(
        post(server, "txt2img", {"prompt": FOX, "width": 256, "height": 256, "steps": 1, "sampler_name": "Euler a"})
    )
    assert one["info"]["warnings"] == [] and one["info"]["steps"] == 1
    two = ok(
        post(server, "txt2img", {"prompt": FOX, "width": 256, "height": 256, "steps": 2, "sampler_name": "Euler a"})
    )
    assert "Steps: 2," in two["info"]["infotexts"][0]
    assert any("'Euler a' -> 'Euler'" in w for w in two["info"]["warnings"])  # ancestral noise differs at 2 steps


def test_send_images_false_answers_no_images_and_a_style_preset_applies(server):
    quiet = ok(post(server, "txt2img", {"prompt": FOX, "width": 256, "height": 256, "send_images": False}))
    assert quiet["images"] == [] and len(quiet["info"]["all_seeds"]) == 1 and not quiet["info"]["interrupted"]
    styled = ok(post(server, "txt2img", {"prompt": FOX, "width": 256, "height": 256, "styles": ["chibi"]}))
    assert styled["info"]["styles"] == ["chibi"]
    assert FOX in styled["info"]["all_prompts"][0] and styled["info"]["all_prompts"][0] != FOX


# real clients' bodies, replayed


def test_open_webui_txt2img_and_model_switch(server):
    # open-webui/open-webui@02530d50:backend/open_webui/routers/images.py: `data = {'prompt', 'batch_size':
    # form_data.n, 'width', 'height'}` + `data['steps']` from IMAGE_STEPS (default 50), and the header
    # `Authorization: Basic ` with empty credentials (AUTOMATIC1111_API_AUTH defaults to '', not None)
    auth = {"Authorization": "Basic "}
    options = requests.get(f"{server}/sdapi/v1/options", headers=auth, timeout=10)  # "verify URL"
    options.raise_for_status()
    models = requests.get(f"{server}/sdapi/v1/sd-models", headers=auth, timeout=10).json()
    assert [{"id": m["title"], "name": m["model_name"]} for m in models]  # its model list
    # set model: GET /options, set sd_model_checkpoint, POST the entire dict back, raise_for_status()
    current = options.json()
    current["sd_model_checkpoint"] = models[0]["title"]
    post(server, "options", current, **auth).raise_for_status()
    body = {"prompt": FOX, "batch_size": 2, "width": 256, "height": 256, "steps": 50}
    res = post(server, "txt2img", body, **auth)
    res = res.json()  # `res = await r.json(content_type=None)`, no status check
    assert len(res["images"]) == 2
    for image in res["images"]:  # get_image_data: raw base64 is taken as image/png
        assert not image.startswith("data:") and decode(image).format == "PNG"
    assert isinstance(res["info"], str) and json.loads(res["info"])["steps"] == 4  # stored as file metadata


GIMPFUSION_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def gimpfusion_txt2img(batch_size: int = 2) -> dict:
    """ArtBIT/stable-gimpfusion@3a92fcf7:stable_gimpfusion.py's txt2img body with its defaults: cfg 7.5,
    steps 50 (its slider's minimum is 10), `sampler_index` and no `sampler_name`, seed `seed or -1`,
    denoising_strength sent for txt2img too, negative prompt `(ui + " " + config).strip()`."""
    return {
        "prompt": FOX,
        "negative_prompt": "",
        "cfg_scale": 7.5,
        "denoising_strength": 0.8,
        "steps": 50,
        "width": 256,
        "height": 256,
        "sampler_index": "Euler a",
        "batch_size": batch_size,
        "seed": -1,
    }


def gimpfusion_reads(response: requests.Response) -> tuple[list, list, list]:
    """What stable-gimpfusion reads: `info = json.loads(response["info"])`, `info["infotexts"]`,
    `info["all_seeds"]`; images beyond len(all_seeds) would be taken for ControlNet annotator layers."""
    assert response.status_code == 200, response.text  # urllib2 raises on anything else
    answer = response.json()
    info = json.loads(answer["info"])
    images, infotexts, seeds = answer["images"], info["infotexts"], info["all_seeds"]
    assert len(seeds) == len(images) == len(infotexts)
    for image, infotext in zip(images, infotexts, strict=True):
        assert decode(image).info["parameters"] == infotext
    return images, infotexts, seeds


def test_stable_gimpfusion_txt2img(server):
    response = requests.post(
        f"{server}/sdapi/v1/txt2img", data=json.dumps(gimpfusion_txt2img()), headers=GIMPFUSION_HEADERS, timeout=60
    )
    images, infotexts, seeds = gimpfusion_reads(response)
    assert len(images) == 2 and seeds[1] == seeds[0] + 1
    assert all("Steps: 4," in text and "CFG scale: 0," in text for text in infotexts)
    warnings = " | ".join(json.loads(response.json()["info"])["warnings"])
    assert "steps 50 -> 4" in warnings and "cfg_scale 7.5 -> 0" in warnings
    assert "'Euler a' -> 'Euler'" in warnings  # read from sampler_index: sampler_name is absent


def test_stable_gimpfusion_img2img_with_raw_base64(server):
    # same source: the txt2img keys + resize_mode (0..3) + init_images [base64.b64encode(file.read())]
    # of a PNG saved by GIMP: raw base64, no data: prefix
    body = {**gimpfusion_txt2img(batch_size=1), "resize_mode": 0, "init_images": [png_b64(picture(256, 256))]}
    response = requests.post(
        f"{server}/sdapi/v1/img2img", data=json.dumps(body), headers=GIMPFUSION_HEADERS, timeout=60
    )
    images, infotexts, _ = gimpfusion_reads(response)
    assert len(images) == 1 and decode(images[0]).size == (256, 256)
    assert "Denoising strength: 0.8" in infotexts[0]


def test_stable_gimpfusion_inpainting_is_refused_naming_mask(server):
    # same source, its inpainting body: the img2img keys + mask (raw base64 PNG, white = inpaint),
    # inpaint_full_res, inpaint_full_res_padding 10, inpainting_mask_invert; no mask_blur, no inpainting_fill
    body = {
        **gimpfusion_txt2img(batch_size=1),
        "resize_mode": 0,
        "init_images": [png_b64(picture(256, 256))],
        "mask": png_b64(Image.new("L", (256, 256), 255)),
        "inpaint_full_res": True,
        "inpaint_full_res_padding": 10,
        "inpainting_mask_invert": 0,
    }
    response = requests.post(
        f"{server}/sdapi/v1/img2img", data=json.dumps(body), headers=GIMPFUSION_HEADERS, timeout=60
    )
    error = a1111_error(response, 422)
    assert error["field"] == "mask" and "inpaint" in error["detail"]


def test_cyanic_sd_krita_startup_and_txt2img(server):
    # DrCyanide/cyanic-sd-krita@5678aa1b:cyanic/sdapi_v1.py: its startup GETs, then txt2img with
    # cyanic/default_settings.json's steps 20, cfg_scale 7, sampler "" (until picked from /samplers),
    # batch_count renamed n_iter
    for path in ("options", "samplers", "upscalers", "sd-models", "face-restorers", "prompt-styles", "sd-vae",
                 "scripts", "loras", "embeddings", "hypernetworks"):  # fmt: skip
        answer = requests.get(f"{server}/sdapi/v1/{path}", timeout=10)
        assert answer.status_code == 200 and answer.json() is not None, path
    body = {
        "prompt": FOX,
        "negative_prompt": "",
        "sampler_name": "",
        "steps": 20,
        "cfg_scale": 7,
        "width": 256,
        "height": 256,
        "batch_size": 1,
        "n_iter": 2,
        "seed": -1,
    }
    results = post(server, "txt2img", body).json()
    if type(results["info"]) is str:  # noqa: E721 -- Cyanic's own test, verbatim
        results["info"] = json.loads(results["info"])
    info, parameters = results["info"], results["parameters"]
    assert (info["width"], info["height"]) == (256, 256)
    assert (parameters["batch_size"], parameters["n_iter"]) == (1, 2)  # used to trim grid images: none here
    assert len(results["images"]) == parameters["batch_size"] * parameters["n_iter"] == len(info["all_seeds"])
    for i, image in enumerate(results["images"]):
        assert image.startswith(PNG_MAGIC)  # otherwise Cyanic decodes it as a JPEG
        assert f"Seed: {info['all_seeds'][i]}," in decode(image).info["parameters"]
    assert not any("sampler" in w for w in info["warnings"])  # "" is no sampler asked
    assert post(server, "interrupt", {}).json() == {}  # its interrupt: POST {} without auth


def test_cyanic_sd_krita_img2img(server):
    # same source: img2img_img becomes init_images [raw base64 PNG]; denoise 0.7 by default
    body = {
        "prompt": FOX,
        "sampler_name": "",
        "steps": 20,
        "cfg_scale": 7,
        "width": 256,
        "height": 256,
        "denoising_strength": 0.7,
        "init_images": [png_b64(picture(256, 256))],
        "seed": 12,
    }
    results = ok(post(server, "img2img", body))
    assert results["info"]["all_seeds"] == [12] and results["images"][0].startswith(PNG_MAGIC)
    assert "Denoising strength: 0.7" in results["info"]["infotexts"][0]


SILLYTAVERN_NEGATIVE = (
    "lowres, bad anatomy, bad hands, text, error, cropped, worst quality, low quality, normal quality, "
    "jpeg artifacts, signature, watermark, username, blurry"
)


def test_sillytavern_txt2img_with_its_own_keys(server):
    # SillyTavern/SillyTavern@ba6f7b7a:src/endpoints/stable-diffusion.js forwards the browser's body
    # verbatim (`body: JSON.stringify(request.body)`), its own `url` and `auth` included, with
    # 'Authorization': getBasicAuthHeader(request.body.auth) = "Basic " for the default auth ''
    # (public/scripts/extensions/stable-diffusion/index.js generateAutoImage: DDIM, 'normal', 20 steps, CFG 7)
    body = {
        "url": "http://127.0.0.1:7860",
        "auth": "",
        "prompt": FOX,
        "negative_prompt": SILLYTAVERN_NEGATIVE,
        "sampler_name": "DDIM",
        "scheduler": "normal",
        "steps": 20,
        "cfg_scale": 7,
        "width": 256,
        "height": 256,
        "restore_faces": False,
        "enable_hr": False,
        "hr_upscaler": "Latent",
        "hr_scale": 2.0,
        "denoising_strength": 0.7,
        "hr_second_pass_steps": 0,
        "seed": 31,
        "override_settings": {"CLIP_stop_at_last_layers": 1},
        "override_settings_restore_afterwards": True,
        "clip_skip": 1,
        "save_images": True,
        "send_images": True,
        "do_not_save_grid": False,
        "do_not_save_samples": False,
    }
    response = post(server, "txt2img", body, Authorization="Basic " + base64.b64encode(b"").decode())
    assert response.ok, response.text  # otherwise: throw new Error('SD WebUI returned an error.')
    data = response.json()
    image = decode(data["images"][0])  # read as format 'png'
    assert image.format == "PNG" and image.size == (256, 256)
    info = json.loads(data["info"])
    warnings = " | ".join(info["warnings"])
    assert "steps 20 -> 4" in warnings and "cfg_scale 7 -> 0" in warnings and "negative_prompt ignored" in warnings
    assert "'DDIM' -> 'Euler'" in warnings and "'normal' -> 'Automatic'" in warnings
    assert "url" in warnings and "auth" in warnings  # the unknown keys, named ...
    assert "127.0.0.1:7860" not in warnings  # ... never by value
    assert "override_settings" not in warnings  # CLIP_stop_at_last_layers 1 is what GET /options says
    assert info["negative_prompt"] == "" and "Negative prompt" not in info["infotexts"][0]  # not used, not recorded
    assert info["library_ids"][0] is not None  # save_images or not, the library keeps it


def test_sillytavern_set_model_then_poll_progress(server):
    # same source: set-model posts {sd_model_checkpoint}, then polls GET /progress until
    # `progress == 0.0 && state.job_count === 0`
    auth = {"Authorization": "Basic "}
    title = requests.get(f"{server}/sdapi/v1/sd-models", headers=auth, timeout=10).json()[0]["title"]
    assert post(server, "options", {"sd_model_checkpoint": title}, **auth).status_code == 200
    progress = requests.get(f"{server}/sdapi/v1/progress", headers=auth, timeout=10).json()
    assert progress["progress"] == 0.0 and progress["state"]["job_count"] == 0


def test_sillytavern_interrupt_has_no_body_and_no_content_type(server):
    # same source: on client disconnect, ST fires POST /sdapi/v1/interrupt with no body, no Content-Type
    response = requests.post(f"{server}/sdapi/v1/interrupt", headers={"Authorization": "Basic "}, timeout=10)
    assert "Content-Type" not in response.request.headers and response.request.body is None
    assert response.status_code == 200 and response.json() == {}


# errors on the wire


def test_errors_are_a1111_json_and_unknown_routes_are_404(server):
    not_json = requests.post(f"{server}/sdapi/v1/txt2img", data=b"prompt=fox", timeout=10)
    assert a1111_error(not_json, 422)["field"] == "body"
    missing = a1111_error(requests.get(f"{server}/sdapi/v1/xyz", timeout=10), 404)
    assert missing["error"] == "not_found"
    wrong_method = a1111_error(requests.get(f"{server}/sdapi/v1/txt2img", timeout=10), 405)
    assert wrong_method["error"] == "method_not_allowed"
    bad_image = a1111_error(post(server, "png-info", {"image": "not base64 at all!"}), 422)
    assert bad_image["field"] == "image"


# interrupt and a busy server, on a fake engine whose batches wait for a gate


@pytest.fixture
def gated():
    """A second app on a fake engine that blocks every batch until the test sets the gate."""
    gate = threading.Event()
    engine = FakeEngine(gate)
    app = create_app(
        Settings(model="fake", validator_model="none", max_wait_ms=0, queue_size=2, library=None),
        engine=engine,
        background=False,
    )
    yield app.test_client(), app.extensions["sdturbo"], engine, gate
    gate.set()
    app.extensions["sdturbo"].stop()


def in_thread(fn) -> tuple[threading.Thread, dict]:
    answer: dict = {}
    thread = threading.Thread(target=lambda: answer.update(response=fn()))
    thread.start()
    return thread, answer


def test_interrupt_cancels_the_queued_a1111_requests_only(gated):
    client, studio, engine, gate = gated
    a1111 = {"prompt": "fox", "width": 256, "height": 256}
    running, first = in_thread(lambda: client.post("/sdapi/v1/txt2img", json={**a1111, "seed": 1}))
    wait_until(lambda: engine.batches)  # the first batch is running, held by the gate
    queued, second = in_thread(lambda: client.post("/sdapi/v1/txt2img", json={**a1111, "seed": 2}))
    other, studio_request = in_thread(lambda: client.post("/api/generate", json={"prompt": "fox", "seed": 3}))
    wait_until(lambda: studio.worker.depth == 2)
    busy = client.get("/sdapi/v1/progress").json
    assert busy["state"]["job_count"] == 3 and busy["state"]["job"] == "generating" and "2 waiting" in busy["textinfo"]
    assert client.post("/sdapi/v1/interrupt").json == {}
    assert studio.worker.depth == 1  # the A1111 request is cancelled at once; the studio's own is not
    gate.set()
    for thread in (running, queued, other):
        thread.join(10)
    interrupted = second["response"]
    assert interrupted.status_code == 200 and interrupted.json["images"] == []
    info = json.loads(interrupted.json["info"])
    assert info["interrupted"] is True and info["all_seeds"] == [] and info["infotexts"] == []
    finished = first["response"]  # the batch already running is not interrupted
    assert finished.status_code == 200 and len(finished.json["images"]) == 1
    assert json.loads(finished.json["info"])["interrupted"] is False
    assert studio_request["response"].status_code == 200
    assert sorted(r.seed for r in engine.requests) == [1, 3]  # seed 2 never reached the engine


def test_a_full_queue_is_503_in_a1111_shape_with_retry_after(gated):
    client, studio, engine, gate = gated
    body = {"prompt": "fox", "width": 256, "height": 256, "seed": 1}
    running, _ = in_thread(lambda: client.post("/sdapi/v1/txt2img", json=body))
    wait_until(lambda: engine.batches)
    queued, _ = in_thread(lambda: client.post("/sdapi/v1/txt2img", json={**body, "batch_size": 2}))
    wait_until(lambda: studio.worker.depth == 2)  # both queue places are taken
    response = client.post("/sdapi/v1/txt2img", json=body)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert set(response.json) >= ERROR_KEYS and response.json["error"] == "server_busy"
    assert "busy" in response.json["detail"]
    gate.set()
    running.join(10), queued.join(10)
    assert sorted(r.seed for r in engine.requests) == [1, 1, 2]  # the two queued before it were made


# findings of the review of 2026-11-25, each failing before its fix


def test_an_interrupted_request_answers_the_images_made_before_it():
    """batch_size 4 on a server batching 2: the first batch runs, the second is cancelled; the answer
    holds the two images made (A1111 returns what was finished), not nothing."""
    gate = threading.Event()
    engine = FakeEngine(gate)
    settings = Settings(model="fake", validator_model="none", max_wait_ms=0, max_batch_size=2, library=None)
    app = create_app(settings, engine=engine, background=False)
    client, studio = app.test_client(), app.extensions["sdturbo"]
    try:
        body = {"prompt": "fox", "width": 256, "height": 256, "seed": 10, "batch_size": 4}
        thread, answer = in_thread(lambda: client.post("/sdapi/v1/txt2img", json=body))
        wait_until(lambda: engine.batches and studio.worker.depth == 2)
        client.post("/sdapi/v1/interrupt")
        gate.set()
        thread.join(10)
    finally:
        gate.set()
        studio.stop()
    response = answer["response"]
    info = json.loads(response.json["info"])
    assert response.status_code == 200 and len(response.json["images"]) == 2
    assert info["interrupted"] is True and info["all_seeds"] == [10, 11] and len(info["infotexts"]) == 2
    assert studio.worker.depth == 0  # cancelled jobs are not counted as waiting


def test_send_images_is_checked_before_anything_is_made(gated):
    client, _, engine, gate = gated
    gate.set()
    response = client.post("/sdapi/v1/txt2img", json={"prompt": "fox", "send_images": "yes"})
    assert response.status_code == 422 and response.json["field"] == "send_images" and engine.requests == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("img2img", {"prompt": "fox", "init_images": ["data:image/png;base64"]}, "init_images"),
        ("png-info", {"image": "data:image/png"}, "image"),
        ("txt2img", {"prompt": "fox", "sampler_name": {}}, "sampler_name"),
        ("txt2img", {"prompt": "fox", "scheduler": ["karras"]}, "scheduler"),
        ("txt2img", {"prompt": "fox", "styles": [None]}, "styles"),
        ("options", {"foo": None}, "foo"),
        ("options", {"enable_pnginfo": 1}, "enable_pnginfo"),
    ],
)
def test_odd_values_are_422_naming_the_field(server, path, body, field):
    message = a1111_error(post(server, path, body), 422)["detail"]
    assert message.startswith(f"{field}:")


def test_nan_in_a_body_is_refused_not_echoed(server):
    response = requests.post(
        f"{server}/sdapi/v1/txt2img",
        data=b'{"prompt": "fox", "hr_scale": NaN}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert a1111_error(response, 422)["field"] == "body"


@pytest.mark.slow  # ~0.4 s of big payloads: the default suite's 90 s budget
def test_a_png_info_bomb_is_refused_without_decoding_it(server):
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "fox\nSteps: 1, Sampler: Euler, Seed: 3")
    Image.new("1", (15000, 15000)).save(buffer, format="PNG", pnginfo=info)  # 225 MP: over Pillow's bomb limit
    response = post(server, "png-info", {"image": base64.b64encode(buffer.getvalue()).decode()})
    assert a1111_error(response, 422)["field"] == "image"  # was a 500


def test_more_steps_than_ever_are_drawn_at_4_and_styles_empty_means_the_prompt_as_written(server):
    answer = ok(post(server, "txt2img", {"prompt": FOX, "steps": 5000, "styles": [], "width": 256, "height": 256}))
    assert answer["info"]["steps"] == 4 and "steps 5000 -> 4" in answer["info"]["warnings"][0]
    assert answer["info"]["all_prompts"] == [FOX] and answer["info"]["styles"] == []


def test_img2img_parameters_hold_the_strength_used(server):
    body = {"prompt": FOX, "init_images": [png_b64(picture(256, 256))], "width": 256, "height": 256}
    assert ok(post(server, "img2img", body))["parameters"]["denoising_strength"] == 0.75


@pytest.mark.slow  # ~0.4 s of big payloads: the default suite's 90 s budget
def test_a_16_mb_base64_image_is_read_not_refused_as_too_large(server):
    """The JSON body limit leaves room for a 20 MB image as base64 (4/3 larger)."""
    body = {"prompt": FOX, "init_images": ["A" * (16 * 2**20)], "width": 256, "height": 256}
    error = a1111_error(post(server, "img2img", body), 422)
    assert error["field"] == "init_images"  # read, then found not to be an image: not a 413
