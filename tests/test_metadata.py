import io

import pytest
from PIL import Image

from sdturbo.metadata import a1111_parameters, fast_png_bytes, png_bytes, read_parameters


def test_a1111_format():
    text = a1111_parameters("anime fox", 1, 42, 512, 512, "sd-turbo")
    assert text == (
        "anime fox\nSteps: 1, Sampler: Euler, CFG scale: 0, Seed: 42, Size: 512x512, Model: sd-turbo, RNG: CPU"
    )


@pytest.mark.parametrize("model", ["sd-turbo", "sd-turbo, v2: fp16", 'a "quoted" name', "two\nlines", "café, naïve"])
def test_values_with_separators_are_quoted_and_read_back_by_a1111s_parser(model):
    from sdturbo.library.infotext import parse_parameters

    text = a1111_parameters("anime fox, night: rain", 2, 42, 512, 768, model, vae="taesd", strength=0.5)
    fields = parse_parameters(text).fields  # A1111's own re_param_code and unquote
    assert fields["Model"] == model
    assert (fields["Seed"], fields["Size"], fields["RNG"], fields["VAE"]) == ("42", "512x768", "CPU", "taesd")
    assert fields["Denoising strength"] == "0.5"
    assert parse_parameters(text).prompt == "anime fox, night: rain"  # the prompt line is never quoted


def _chunk_types(data: bytes) -> dict[str, bytes]:
    """{keyword: chunk type} of a PNG's text chunks."""
    import struct

    found, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind in (b"tEXt", b"iTXt"):
            found[data[pos + 8 : pos + 8 + length].split(b"\0", 1)[0].decode("latin-1")] = kind
        pos += 12 + length
    return found


@pytest.mark.parametrize("writer", ["png_bytes", "fast_png_bytes"])
def test_non_ascii_text_goes_in_itxt_so_utf8_readers_see_it_right(writer):
    from sdturbo import metadata

    image = Image.new("RGB", (16, 16))
    write = getattr(metadata, writer)
    # Latin-1 "café" in tEXt is decoded as U+FFFD by readers that take tEXt as UTF-8 (ComfyUI)
    assert _chunk_types(write(image, "café fox\nSteps: 1", extra={"note": "plain"})) == {
        "parameters": b"iTXt",
        "note": b"tEXt",
    }
    assert read_parameters(io.BytesIO(write(image, "café fox\nSteps: 1"))) == "café fox\nSteps: 1"


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_jpeg_and_webp_carry_the_text_as_exif_user_comment_the_way_a1111_reads_it(fmt):
    import piexif
    import piexif.helper

    from sdturbo.metadata import encode

    text = "狐の少女, café\nSteps: 1, Seed: 7"
    data = encode(Image.new("RGB", (64, 64), (200, 30, 30)), text, fmt)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == fmt.upper()
        exif = image.info["exif"]
    # A1111's modules/images.py read_info_from_image: piexif.load, then UserComment.load
    comment = piexif.load(exif)["Exif"][piexif.ExifIFD.UserComment]
    assert piexif.helper.UserComment.load(comment) == text
    assert read_parameters(io.BytesIO(data)) == text


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_save_image_writes_the_parameters_by_extension(tmp_path, suffix):
    from sdturbo.metadata import save_image

    image = Image.new("RGB", (32, 32))
    image.info["parameters"] = "anime fox\nSteps: 1"
    path = save_image(image, tmp_path / f"fox{suffix}")
    assert read_parameters(path) == "anime fox\nSteps: 1"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_save_image_refuses_an_unknown_extension(tmp_path):
    from sdturbo.metadata import save_image

    with pytest.raises(ValueError, match=r"\.png, \.jpg, \.jpeg or \.webp"):
        save_image(Image.new("RGB", (8, 8)), tmp_path / "fox.gif")
    assert not list(tmp_path.iterdir())


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
