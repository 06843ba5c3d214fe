"""Requests and results of the engine: plain dataclasses, importable without torch."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from sdturbo import metadata
from sdturbo.errors import InvalidParameterError
from sdturbo.params import DEFAULT_SIDE, DEFAULT_STEPS, check_seed, check_side, check_steps, check_strength


class Shape(NamedTuple):
    """What requests must share to run in one pipeline call: the batcher's key and the engine's grouping."""

    steps: int
    width: int
    height: int
    preview: bool
    strength: float | None = None  # image-to-image requests share a call only at the same strength


@dataclass(frozen=True)
class GenerationRequest:
    """One image to make, built once at a front end's edge; every layer below trusts it.

    The user's prompt is checked (1-1000 characters) before the style template wraps it, by
    `Studio.prepare`; here `prompt` is what the model renders, so only its type is checked:
    a long styled prompt is CLIP's to truncate (diffusers logs what it cuts), never an error.
    """

    prompt: str  # the text the model renders: the user's prompt inside the style template
    seed: int
    steps: int = DEFAULT_STEPS
    width: int = DEFAULT_SIDE
    height: int = DEFAULT_SIDE
    preview: bool = False  # decode with the fast preview VAE when the engine has one (live mode)
    style: str = field(default="none", kw_only=True)  # the style preset that made `prompt`
    user_prompt: str = field(default="", kw_only=True)  # as the user typed it ("" = `prompt` itself)
    # image-to-image: the init image (RGB, exactly width x height) and how far to move from it
    init_image: Image.Image | None = field(default=None, kw_only=True, repr=False, compare=False)
    strength: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidParameterError("prompt", f"must be a non-empty string, got {self.prompt!r}")
        check_seed(self.seed)
        check_steps(self.steps, "steps")
        check_side(self.width, "width")
        check_side(self.height, "height")
        if not isinstance(self.preview, bool):
            raise InvalidParameterError("preview", f"must be true or false, got {self.preview!r}")
        if self.init_image is None and self.strength is not None:
            raise InvalidParameterError("strength", "is for image-to-image: give an init image too")
        if self.init_image is not None:
            if not isinstance(self.init_image, Image.Image) or self.init_image.mode != "RGB":
                raise InvalidParameterError("image", "must be an RGB image")
            if self.init_image.size != (self.width, self.height):
                raise InvalidParameterError(
                    "image",
                    f"is {self.init_image.width}x{self.init_image.height}, the request {self.width}x{self.height}",
                )
            object.__setattr__(self, "strength", check_strength(self.strength, self.steps))

    @property
    def shape(self) -> Shape:
        return Shape(self.steps, self.width, self.height, self.preview, self.strength)


@dataclass(frozen=True)
class GenerationResult:
    """An image with everything needed to make it again."""

    image: Image.Image = field(repr=False)
    prompt: str
    seed: int
    steps: int
    width: int
    height: int
    model: str  # short model label, e.g. "sd-turbo" or "tiny-random"
    elapsed_ms: float  # wall time of the pipeline call that made this image (shared by its batch)
    batch_size: int  # how many images that call made
    vae: str | None = None  # set when a preview VAE decoded it instead of the model's own
    strength: float | None = None  # image-to-image: the denoising strength from its init image
    replica: str | None = None  # the Ray Serve replica that made it (sdturbo.cluster); None in-process

    def __post_init__(self) -> None:
        # the image carries its settings, as a PNG read back would (metadata.save_image writes them)
        self.image.info["parameters"] = self.parameters

    @property
    def parameters(self) -> str:
        """The AUTOMATIC1111 "parameters" text stored in saved PNGs."""
        return metadata.a1111_parameters(
            self.prompt, self.steps, self.seed, self.width, self.height, self.model, self.vae, self.strength
        )

    def png_bytes(self, *, fast: bool = False, extra: dict[str, str] | None = None) -> bytes:
        """The image as PNG bytes with the parameters chunk (and `extra` text chunks); `fast`: for
        answering requests, larger files."""
        if fast:
            return metadata.fast_png_bytes(self.image, self.parameters, extra)
        return metadata.png_bytes(self.image, self.parameters, extra=extra)

    def save(self, path: str | Path) -> Path:
        """Write the image with its parameters (PNG, JPEG or WebP by the extension) to `path`, atomically."""
        return metadata.save_image(self.image, path, self.parameters)


def encode_pngs(results: list[GenerationResult]) -> list[bytes]:
    """PNG bytes of a batch, encoded on a thread pool (zlib releases the GIL): a batch encodes in parallel."""
    workers = max(1, min(len(results), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda result: result.png_bytes(), results))
