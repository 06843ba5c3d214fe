"""Image parameters in the AUTOMATIC1111 "parameters" PNG text chunk."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

try:  # fpng: a PNG writer 10-20x faster than zlib-based ones, for the server's hot path
    import fpng
except ImportError:  # no wheel for this platform: Pillow's fastest settings instead
    fpng = None


def a1111_parameters(
    prompt: str,
    steps: int,
    seed: int,
    width: int,
    height: int,
    model: str,
    vae: str | None = None,
    strength: float | None = None,
) -> str:
    """The text A1111's PNG Info reads: the prompt, then one line of settings (image-to-image adds
    "Denoising strength" as A1111's img2img tab writes it).

    "RNG: CPU": the engine draws each image's noise on the CPU from its seed, which A1111 reproduces
    with its CPU noise source (its default, GPU, would draw different noise).
    """
    settings = {
        "Steps": steps,
        "Sampler": "Euler",
        "CFG scale": 0,
        "Seed": seed,
        "Size": f"{width}x{height}",
        "Model": model,
        "RNG": "CPU",
        "Denoising strength": None if strength is None else f"{strength:g}",
        "VAE": vae,
    }
    line = ", ".join(f"{key}: {quote(value)}" for key, value in settings.items() if value is not None)
    return f"{prompt}\n{line}"


def quote(value: object) -> str:
    """A settings value as A1111's infotext writer quotes it: as a JSON string when it holds `,` `:` or a
    newline (its parser would split it there), else as is."""
    text = str(value)
    if "," not in text and ":" not in text and "\n" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


Z_RLE = 3  # zlib strategy: nearly Huffman-only speed, better than it on PNG data


def png_bytes(
    image: Image.Image, parameters: str, compress_level: int = 6, rle: bool = False, extra: dict[str, str] | None = None
) -> bytes:
    """Encode `image` as PNG with a `parameters` tEXt chunk (and `extra` ones); same input gives the same bytes.

    `rle` picks zlib's run-length strategy (Pillow's `compress_type`): measured here on 512² images at
    level 1 it cut noise from 32 to 19 ms and halved a smooth image's size, for the server's hot path.
    """
    info = PngImagePlugin.PngInfo()
    for key, text in {"parameters": parameters, **(extra or {})}.items():
        if text.isascii():
            info.add_text(key, text)
        else:  # readers that decode tEXt as UTF-8 (ComfyUI) garble Latin-1 text: iTXt is UTF-8 by definition
            info.add_itxt(key, text)
    buffer = io.BytesIO()
    extra = {"compress_type": Z_RLE} if rle else {}
    image.save(buffer, format="PNG", pnginfo=info, compress_level=compress_level, **extra)
    return buffer.getvalue()


def fast_png_bytes(image: Image.Image, parameters: str, extra: dict[str, str] | None = None) -> bytes:
    """PNG for answering a request: lossless like `png_bytes`, with the `parameters` chunk, fast to make.

    fpng (when installed) measured 1.3-1.6 ms against Pillow's 16 ms (level 1, RLE) for a picture-like
    512² RGB image on this project's CPU, at about a third larger files; the same pixels either way.
    """
    if fpng is None or image.mode not in ("RGB", "RGBA"):
        return png_bytes(image, parameters, compress_level=1, rle=True, extra=extra)
    data = fpng.from_ndarray(np.asarray(image))
    end_of_header = 8 + 25  # the PNG signature, then the IHDR chunk (13 bytes of data)
    chunks = b"".join(_text_chunk(key, text) for key, text in {"parameters": parameters, **(extra or {})}.items())
    return data[:end_of_header] + chunks + data[end_of_header:]


def plain_png(image: Image.Image) -> bytes:
    """A PNG without text chunks, fast (fpng where installed): init images kept beside their results."""
    if fpng is None or image.mode not in ("RGB", "RGBA"):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
    return fpng.from_ndarray(np.asarray(image))


def _text_chunk(key: str, text: str) -> bytes:
    """A tEXt chunk when the text is ASCII, else iTXt (UTF-8), as `png_bytes` writes them."""
    if text.isascii():
        kind, body = b"tEXt", key.encode("latin-1") + b"\0" + text.encode("ascii")
    else:  # keyword, no compression, no language tag, no translated keyword
        kind, body = b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


EXIF_IFD, USER_COMMENT = 0x8769, 0x9286  # the Exif sub-IFD and its UserComment tag
UNICODE_PREFIX = b"UNICODE\0"  # EXIF's character-code prefix for UTF-16 text (piexif's "unicode" encoding)
FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
DEFAULT_QUALITY = 90  # JPEG and WebP


def exif_user_comment(text: str) -> bytes:
    """EXIF bytes holding `text` as UserComment, as A1111 writes JPEG and WebP (piexif, encoding "unicode").

    Written here because Pillow's Exif writer types a bytes value BYTE, which piexif (A1111's reader)
    does not decode; UserComment must be UNDEFINED. Big-endian TIFF: IFD0 points to the Exif IFD,
    whose one entry points to the comment.
    """
    comment = UNICODE_PREFIX + text.encode("utf-16-be")
    undefined, long_ = 7, 4  # TIFF field types
    ifd0 = struct.pack(">HHHII", 1, EXIF_IFD, long_, 1, 26) + b"\0\0\0\0"  # at 8, 18 bytes; Exif IFD at 26
    exif_ifd = struct.pack(">HHHII", 1, USER_COMMENT, undefined, len(comment), 44) + b"\0\0\0\0"  # data at 44
    return b"Exif\0\0" + b"MM\0*" + struct.pack(">I", 8) + ifd0 + exif_ifd + comment


def encode(
    image: Image.Image, parameters: str, fmt: str, quality: int = DEFAULT_QUALITY, extra: dict[str, str] | None = None
) -> bytes:
    """`image` as `fmt` (png, jpeg, webp) carrying `parameters`: PNG text chunks (fast, for answers), or
    EXIF UserComment for JPEG and WebP; `extra` chunks go into PNGs only."""
    if fmt == "png":
        return fast_png_bytes(image, parameters, extra)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt.upper(), quality=quality, exif=exif_user_comment(parameters))
    return buffer.getvalue()


def read_parameters(path_or_file) -> str | None:
    """The `parameters` text of a PNG (text chunk) or JPEG/WebP (EXIF UserComment), or None if it has none.

    Reads headers only, never pixels (a PNG's text chunks before its image data, as every writer puts
    them): a decompression bomb costs nothing here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path_or_file) as image:
            text = image.info.get("parameters")
            if isinstance(text, str):
                return text
            comment = image.getexif().get_ifd(EXIF_IFD).get(USER_COMMENT)
    if isinstance(comment, bytes) and comment.startswith(UNICODE_PREFIX):
        return comment[len(UNICODE_PREFIX) :].decode("utf-16-be", errors="replace")
    return None


def save_image(image: Image.Image, path: str | Path, parameters: str | None = None) -> Path:
    """Write `image` to `path` (PNG, JPEG or WebP by its extension) with its settings (`parameters`, by
    default `image.info["parameters"]`, which generated images carry), atomically: a failed write
    leaves no partial file."""
    path = Path(path)
    fmt = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path.name}: the file name must end in .png, .jpg, .jpeg or .webp")
    parameters = image.info.get("parameters", "") if parameters is None else parameters
    data = png_bytes(image, parameters) if fmt == "png" else encode(image, parameters, fmt)
    return write_atomically(path, data)


def write_atomically(path: str | Path, data: bytes, *, sync: bool = True, durable: bool = False) -> Path:
    """Write `data` to `path` so that it is either as before or complete: a unique temporary file beside
    it, fsync, rename. On failure the temporary file is removed and the OSError names `path`.

    `sync=False`: no fsync at all (files that are cheap to make again). `durable`: the folder must be
    synced too, else the file is taken back and the error raised (the library: a write reported as
    failed must not reappear after a power cut); otherwise that last sync is best effort."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")  # unique per call
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            if sync:
                file.flush()
                os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        os.replace(temporary, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:  # name the file the caller asked for
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    if sync:
        try:
            _sync_folder(path.parent)
        except OSError:
            if durable:
                path.unlink(missing_ok=True)
                raise
            # best effort elsewhere: Windows and some file systems refuse to sync a folder
    return path


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def slug(text: str, length: int) -> str:
    """A file-name-safe form of `text`: lower-case letters and digits joined by "-", at most `length`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:length]
