"""SDTurboGenerator: the public, friendly face over the engine."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image, ImageOps

from sdturbo import init_image, metadata
from sdturbo.config import Settings
from sdturbo.engine import Engine, GenerationRequest, GenerationResult
from sdturbo.errors import InvalidParameterError, field_names
from sdturbo.params import (
    DEFAULT_IMG2IMG_STEPS,
    DEFAULT_STRENGTH,
    check_prompt,
    check_prompts,
    check_seed,
    random_seed,
)

log = logging.getLogger(__name__)


class SDTurboGenerator:
    """Keeps SD-Turbo warm and turns prompts into images (1-4 steps, guidance 0).

    `model`, `device`, `dtype`, `attention` and `max_batch_size` default to the SDTURBO_MODEL,
    SDTURBO_DEVICE, ... environment variables, else stabilityai/sd-turbo on the best device.
    The model loads on `load()` or on first use.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        dtype: str | None = None,
        attention: str | None = None,
        max_batch_size: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        overrides = dict(model=model, device=device, dtype=dtype, attention=attention, max_batch_size=max_batch_size)
        self.settings = settings or Settings.from_env(**overrides)
        self.engine = Engine(self.settings)

    @property
    def is_random_model(self) -> bool:
        """True when the loaded weights are random (tiny test model): images are noise."""
        return self.load().engine.source.is_random

    def load(self, warmup: bool | None = None) -> SDTurboGenerator:
        """Load the pipeline once; warm it up (default: on GPUs, where the first call is slow, and
        whenever "compile" is chosen: only warmed shapes use the compiled graphs)."""
        if not self.engine.loaded:
            self.engine.load()
            if warmup is None:
                warmup = self.engine.warms_by_default
            if warmup:
                self.engine.warmup()
        return self

    def generate(
        self, prompt: str, num_inference_steps: int = 1, seed: int | None = None, width: int = 512, height: int = 512
    ) -> Image.Image:
        """One image for `prompt`; a random seed is drawn when `seed` is None."""
        return self.generate_result(prompt, num_inference_steps, seed, width, height).image

    def generate_result(
        self, prompt: str, num_inference_steps: int = 1, seed: int | None = None, width: int = 512, height: int = 512
    ) -> GenerationResult:
        """Like `generate`, with the seed used, size, steps and timing."""
        check_prompt(prompt)
        return self.generate_batch_results([prompt], num_inference_steps, seed, width, height)[0]

    def generate_batch(
        self,
        prompts: list[str],
        num_inference_steps: int = 1,
        seed: int | None = None,
        width: int = 512,
        height: int = 512,
    ) -> list[Image.Image]:
        """One image per prompt; image i uses seed + i, the same image `generate` gives for that seed."""
        return [r.image for r in self.generate_batch_results(prompts, num_inference_steps, seed, width, height)]

    def generate_batch_results(
        self,
        prompts: list[str],
        num_inference_steps: int = 1,
        seed: int | None = None,
        width: int = 512,
        height: int = 512,
    ) -> list[GenerationResult]:
        """Like `generate_batch`, returning results; runs as one pipeline call per max_batch_size chunk."""
        prompts = check_prompts(prompts)
        seed = random_seed(len(prompts)) if seed is None else check_seed(seed, count=len(prompts))
        with field_names({"steps": "num_inference_steps"}):
            requests = [
                GenerationRequest(p, seed + i, num_inference_steps, width, height) for i, p in enumerate(prompts)
            ]
        return self.run(requests)

    def vary(
        self,
        image: Image.Image,
        prompt: str,
        strength: float = DEFAULT_STRENGTH,
        num_inference_steps: int = DEFAULT_IMG2IMG_STEPS,
        seed: int | None = None,
    ) -> Image.Image:
        """Image-to-image: `image` moved toward `prompt` by `strength` (0.1-1.0; steps x strength >= 1).

        The image is turned upright, scaled to cover its nearest allowed size and centre-cropped; the
        result has that size."""
        return self.vary_batch_results(image, [prompt], strength, num_inference_steps, seed)[0].image

    def vary_batch(
        self,
        image: Image.Image,
        prompts: list[str],
        strength: float = DEFAULT_STRENGTH,
        num_inference_steps: int = DEFAULT_IMG2IMG_STEPS,
        seed: int | None = None,
    ) -> list[Image.Image]:
        """One variation of `image` per prompt in one pipeline call; variation i uses seed + i."""
        return [r.image for r in self.vary_batch_results(image, prompts, strength, num_inference_steps, seed)]

    def vary_batch_results(
        self,
        image: Image.Image,
        prompts: list[str],
        strength: float = DEFAULT_STRENGTH,
        num_inference_steps: int = DEFAULT_IMG2IMG_STEPS,
        seed: int | None = None,
    ) -> list[GenerationResult]:
        """Like `vary_batch`, returning results (seed, strength and parameters with each image)."""
        if not isinstance(image, Image.Image):
            raise InvalidParameterError("image", f"must be a PIL image, got {type(image).__name__}")
        init = init_image.fit(ImageOps.exif_transpose(image).convert("RGB")).image
        prompts = check_prompts(prompts)
        seed = random_seed(len(prompts)) if seed is None else check_seed(seed, count=len(prompts))
        with field_names({"steps": "num_inference_steps"}):
            requests = [
                GenerationRequest(
                    p, seed + i, num_inference_steps, init.width, init.height, init_image=init, strength=strength
                )
                for i, p in enumerate(prompts)
            ]
        return self.run(requests)

    @staticmethod
    def save(image: Image.Image, path: str | Path) -> Path:
        """Write a generated image to `path` (.png, .jpg or .webp) with the settings it carries in
        `image.info["parameters"]` (A1111's PNG Info reads them), atomically."""
        return metadata.save_image(image, path)

    def run(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Explicit requests, each with its own seed, as batched pipeline calls (resumable jobs use this)."""
        return self.load().engine.generate(requests)
