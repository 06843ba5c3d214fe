"""Image-to-image: the engine against stock diffusers on the same tiny weights, batching, the strength
rule, init images read safely, the Python API and the CLI."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from sdturbo import init_image
from sdturbo.errors import InvalidParameterError, TooLarge
from sdturbo.params import check_strength
from sdturbo.schema import GenerationRequest


def noise(width=256, height=256, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def img2img(prompt, seed, init, strength=0.5, steps=2) -> GenerationRequest:
    return GenerationRequest(prompt, seed, steps, init.width, init.height, init_image=init, strength=strength)


def test_img2img_runs_on_the_same_weights_and_matches_stock_diffusers(generator):
    from diffusers import StableDiffusionImg2ImgPipeline

    engine = generator.engine
    assert engine.img2img.unet is engine.pipe.unet and engine.img2img.vae is engine.pipe.vae  # no second copy
    init = noise()
    ours = engine.generate([img2img("anime fox", 7, init, strength=0.75, steps=4)])[0]
    stock = StableDiffusionImg2ImgPipeline(**engine.pipe.components)
    stock.set_progress_bar_config(disable=True)
    expected = stock(
        prompt=["anime fox"],
        image=[init],
        strength=0.75,
        num_inference_steps=4,
        guidance_scale=0.0,
        generator=[torch.Generator("cpu").manual_seed(7)],
    ).images[0]
    assert np.array_equal(pixels(ours.image), pixels(expected))
    assert ours.strength == 0.75 and "Denoising strength: 0.75" in ours.parameters


def test_a_batch_of_img2img_equals_each_request_alone(generator, pipe_calls):
    init = noise(seed=1)
    requests = [img2img(f"anime fox {i}", 10 + i, init) for i in range(3)]
    batch = generator.engine.generate(requests)
    assert pipe_calls == []  # the img2img pipeline ran, not the text-to-image one
    for request, result in zip(requests, batch, strict=True):
        alone = generator.engine.generate([request])[0]
        assert np.abs(pixels(result.image) - pixels(alone.image)).max() <= 1  # the documented batch tolerance
        assert result.batch_size == 3 and alone.batch_size == 1


def test_only_same_strength_requests_share_a_call():
    init = noise()
    assert img2img("a", 1, init, 0.5).shape == img2img("b", 2, init, 0.5).shape
    assert img2img("a", 1, init, 0.5).shape != img2img("a", 1, init, 0.75).shape
    assert img2img("a", 1, init).shape != GenerationRequest("a", 1, 2, 256, 256).shape


@pytest.mark.parametrize(
    ("strength", "steps", "message"),
    [
        (0.2, 2, "0.2 with 2 step\\(s\\) leaves no denoising step .* use strength 0.5 or more with 2 step"),
        (0.3, 1, "use strength 1 or more with 1 step"),
        (0.05, 4, "must be a number from 0.1 to 1"),
        (1.5, 2, "must be a number from 0.1 to 1"),
        ("half", 2, "must be a number from 0.1 to 1"),
    ],
)
def test_the_strength_rule_says_which_values_work(strength, steps, message):
    with pytest.raises(InvalidParameterError, match=message):
        check_strength(strength, steps)


def test_an_img2img_request_checks_its_init_image_and_strength():
    with pytest.raises(InvalidParameterError, match="strength: is for image-to-image"):
        GenerationRequest("a", 1, 2, 256, 256, strength=0.5)
    with pytest.raises(InvalidParameterError, match="image: is 256x256, the request 512x512"):
        GenerationRequest("a", 1, 2, 512, 512, init_image=noise(), strength=0.5)
    assert check_strength(0.25, 4) == 0.25 and check_strength(1, 1) == 1.0


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_init_images_are_turned_upright_and_fitted_with_the_crop_reported():
    tall = Image.new("RGB", (600, 1000), "white")
    tall.paste((255, 0, 0), (0, 0, 600, 100))  # a red band at the top
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": stored sideways
    stored = tall.transpose(Image.Transpose.ROTATE_90)
    fitted = init_image.load(encoded(stored, "JPEG", exif=exif.tobytes(), quality=95))
    assert fitted.original == (600, 1000)  # upright
    assert fitted.image.size == (448, 768) and fitted.image.getpixel((224, 5))[0] > 200  # red still on top
    wide = init_image.load(encoded(Image.new("RGB", (1000, 700)), "PNG"), (512, 512))
    assert wide.image.size == (512, 512) and wide.crop == (150, 0, 700, 700)  # centre square of the original
    assert init_image.load(encoded(Image.new("RGB", (300, 300)), "WEBP")).image.size == (320, 320)


def test_bad_uploads_are_refused_naming_the_field():
    png = encoded(Image.new("RGB", (64, 64)), "PNG")
    cases = [
        (png[: len(png) // 2], "image: is not a readable image \\(truncated or corrupt\\)"),
        (encoded(Image.new("RGB", (8, 8)), "GIF"), "image: must be a PNG, JPEG or WebP image"),
        (b"not an image at all", "image: must be a PNG, JPEG or WebP image"),
        (b"", "image: is empty"),
        (bomb(8000, 6000), "^image: declares 8000x6000 pixels; at most 40 megapixels$"),
        (bomb(20_000, 20_000), "image: is too large an image to decode safely"),
    ]
    for data, message in cases:
        with pytest.raises(InvalidParameterError, match=message):
            init_image.read(data)
    with pytest.raises(TooLarge, match="image: must be at most 20 MB"):
        init_image.read(b"\0" * (init_image.MAX_BYTES + 1))


def bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height pixels but whose data is a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_vary_makes_variations_of_an_image_with_the_python_api(generator):
    photo = noise(700, 500, seed=3)
    results = generator.vary_batch_results(photo, ["anime fox", "anime cat"], strength=0.5, seed=40)
    assert [(r.seed, r.strength, r.width, r.height) for r in results] == [
        (40, 0.5, 704, 512),
        (41, 0.5, 704, 512),
    ]  # nearest allowed size
    single = generator.vary(photo, "anime cat", strength=0.5, seed=41)
    assert np.abs(pixels(single) - pixels(results[1].image)).max() <= 1


@pytest.mark.slow  # loads the tiny model into a new CLI studio: ~1.5 s
def test_the_cli_takes_an_init_image_and_records_the_strength(tmp_path, capsys):
    from sdturbo.cli.generate import main

    init = tmp_path / "init.jpg"
    init.write_bytes(encoded(Image.new("RGB", (900, 600), "red"), "JPEG"))
    argv = ["--model", "tiny", "--prompt", "anime fox", "--init-image", str(init), "--strength", "0.75"]
    assert main([*argv, "--seed", "3", "--width", "768", "--out", str(tmp_path / "out")]) == 0
    [made] = (tmp_path / "out").glob("*.png")
    with Image.open(made) as image:
        assert image.size == (768, 512)
        assert "Steps: 2" in image.text["parameters"] and "Denoising strength: 0.75" in image.text["parameters"]
    assert main([*argv[:4], "--strength", "0.75"]) == 2
    assert "--strength: is for image-to-image: give --init-image too" in capsys.readouterr().err
