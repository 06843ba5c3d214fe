"""Every image the studio answers, in every dialect and format, carries its settings where A1111's PNG Info
looks (PNG text chunk; JPEG/WebP EXIF UserComment read with piexif) and parses back with A1111's rules."""

import base64
import io

import piexif
import piexif.helper
import pytest
from PIL import Image

from sdturbo.library.infotext import parse_parameters
from tests.fakes import FakeEngine

LABEL = "sd-turbo, v2: fp16"  # a model folder name with A1111's separators in it
PROMPT = "café fox, naïve style"  # not ASCII: iTXt in PNGs


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from sdturbo.config import Settings
    from sdturbo.web import create_app

    settings = Settings(model="tiny", device="cpu", validator_model="none", style="none",
                        library=tmp_path_factory.mktemp("library"))  # fmt: skip
    app = create_app(settings, FakeEngine(label=LABEL), background=False)
    yield app.test_client()
    app.extensions["sdturbo"].stop()


def a1111_read(data: bytes) -> str:
    """A1111's modules/images.py read_info_from_image: the `parameters` text, else EXIF UserComment."""
    with Image.open(io.BytesIO(data)) as image:
        if "parameters" in image.info:
            return image.info["parameters"]
        comment = piexif.load(image.info["exif"])["Exif"][piexif.ExifIFD.UserComment]
        return piexif.helper.UserComment.load(comment)


def decoded(text: str) -> bytes:
    return base64.b64decode(text)


def made(client, path: str, body: dict) -> list[bytes]:
    answer = client.post(path, json=body)
    assert answer.status_code == 200, answer.json
    data = answer.json
    if path == "/predict":
        return [decoded(data["result"])]
    if path.startswith("/v1/"):
        return [decoded(item["b64_json"]) for item in data["data"]]
    if path.startswith("/sdapi/"):
        return [decoded(image) for image in data["images"]]
    return [decoded(data["image"])]


@pytest.mark.parametrize(
    ("path", "body", "fmt"),
    [
        ("/api/generate", {"format": "png"}, "PNG"),
        ("/api/generate", {"format": "jpeg"}, "JPEG"),
        ("/api/generate", {"format": "webp"}, "WEBP"),
        ("/predict", {}, "PNG"),
        ("/v1/images/generations", {}, "PNG"),
        ("/v1/images/generations", {"output_format": "jpeg"}, "JPEG"),
        ("/v1/images/generations", {"output_format": "webp"}, "WEBP"),
        ("/sdapi/v1/txt2img", {"steps": 1, "cfg_scale": 1, "sampler_name": "Euler"}, "PNG"),
    ],
)
def test_every_answer_round_trips_through_a1111s_reader_and_parser(client, path, body, fmt):
    seed = {} if path == "/predict" else {"seed": 1234}
    (data,) = made(client, path, {"prompt": PROMPT, **seed, **body})
    assert Image.open(io.BytesIO(data)).format == fmt
    parsed = parse_parameters(a1111_read(data))
    assert parsed.prompt == PROMPT
    assert parsed.fields["Model"] == LABEL  # quoted, so its "," and ":" do not split it
    assert parsed.fields["RNG"] == "CPU" and parsed.fields["Sampler"] == "Euler"
    if seed:
        assert parsed.fields["Seed"] == "1234"


def test_library_files_and_img2img_carry_the_same_text(client):
    (first,) = made(client, "/api/generate", {"prompt": PROMPT, "seed": 7, "width": 256, "height": 256})
    answer = client.post("/api/generate", json={"prompt": PROMPT, "seed": 7, "width": 256, "height": 256}).json
    saved = client.get(answer["library"]["url"]).data
    assert a1111_read(saved) == a1111_read(first) == answer["parameters"]
    image = base64.b64encode(first).decode()
    body = {"prompt": PROMPT, "init_images": [image], "denoising_strength": 0.5, "steps": 2, "seed": 8,
            "width": 256, "height": 256}  # fmt: skip
    (edited,) = made(client, "/sdapi/v1/img2img", body)
    fields = parse_parameters(a1111_read(edited)).fields
    assert fields["Denoising strength"] == "0.5" and fields["Seed"] == "8"


def test_a1111_png_info_endpoint_reads_jpeg_exif_and_png_text(client):
    for fmt in ("png", "jpeg"):
        (data,) = made(client, "/api/generate", {"prompt": PROMPT, "seed": 9, "format": fmt})
        info = client.post("/sdapi/v1/png-info", json={"image": base64.b64encode(data).decode()}).json
        assert info["info"] == a1111_read(data)
        assert info["parameters"]["Seed"] == "9" and info["parameters"]["Model"] == LABEL
        assert info["parameters"]["Size-1"] == "512" and info["parameters"]["Prompt"] == PROMPT
