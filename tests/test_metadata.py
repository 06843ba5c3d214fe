import io

import pytest
from PIL import Image

from sdturbo.metadata import a1111_parameters, fast_png_bytes, png_bytes, read_parameters


def test_a1111_format():
    text = a1111_parameters("anime fox", 1, 42, 512, 512, "sd-turbo")
    assert text == "anime fox\nSteps: 1, Sampler: Euler, CFG scale: 0, Seed: 42, Size: 512x512, Model: sd-turbo"


def test_png_chunk_roundtrip_and_deterministic():
    image = Image.new("RGB", (64, 32), (10, 20, 30))
    data = png_bytes(image, "p\nSteps: 2")
    assert data == png_bytes(image, "p\nSteps: 2")
    assert read_parameters(io.BytesIO(data)) == "p\nSteps: 2"


def test_non_latin_prompt_is_kept():
    data = png_bytes(Image.new("RGB", (8, 8)), "狐の少女\nSteps: 1")
    assert read_parameters(io.BytesIO(data)) == "狐の少女\nSteps: 1"


def test_read_parameters_absent():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    assert read_parameters(io.BytesIO(buffer.getvalue())) is None


def test_batch_encoding_on_a_thread_pool_equals_serial():
    from sdturbo.schema import GenerationResult, encode_pngs

    results = [
        GenerationResult(Image.new("RGB", (64, 64), (i, 2 * i, 3 * i)), f"p{i}", i, 1, 64, 64, "m", 1.0, 5)
        for i in range(5)
    ]
    assert encode_pngs(results) == [r.png_bytes() for r in results]


def test_fast_rle_png_is_a_valid_png_with_the_same_pixels():
    import numpy as np

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = png_bytes(image, "p\nSteps: 1", compress_level=1, rle=True)
    decoded = Image.open(io.BytesIO(data))
    assert np.array_equal(np.asarray(decoded), np.asarray(image)) and decoded.text["parameters"] == "p\nSteps: 1"


@pytest.mark.parametrize("parameters", ["p\nSteps: 1", "狐の少女, anime style\nSteps: 2, Seed: 7"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_fast_png_is_lossless_with_the_parameters_chunk(parameters, mode):
    import numpy as np

    pixels = np.random.default_rng(1).integers(0, 255, (48, 80, len(mode)), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if mode == "L" else pixels, mode)
    data = fast_png_bytes(image, parameters)
    decoded = Image.open(io.BytesIO(data))
    decoded.load()  # checks every chunk's CRC
    assert decoded.mode == mode and np.array_equal(np.asarray(decoded), np.asarray(image))
    assert read_parameters(io.BytesIO(data)) == parameters


def test_fast_png_uses_fpng_and_falls_back_to_pillow(monkeypatch):
    from sdturbo import metadata

    image = Image.new("RGB", (32, 32), (200, 10, 10))
    assert metadata.fpng is not None, "fpng is in requirements.txt"
    with_fpng = fast_png_bytes(image, "p")
    monkeypatch.setattr(metadata, "fpng", None)
    assert fast_png_bytes(image, "p") == png_bytes(image, "p", compress_level=1, rle=True) != with_fpng
