"""The warm SD-Turbo pipeline: load once, then turn requests into results. Knows no HTTP."""

from __future__ import annotations

import contextlib
import logging
import time

import torch

from sdturbo.config import Optimization, Settings
from sdturbo.engine import fastpath, optimize
from sdturbo.engine.device import (
    apply_attention,
    attention_context,
    dtype_name,
    resolve_attention,
    resolve_device,
    resolve_dtype,
)
from sdturbo.engine.loading import ModelSource, load_pipeline, load_preview_vae, resolve_source
from sdturbo.schema import GenerationRequest, GenerationResult, Shape

log = logging.getLogger(__name__)


class Engine:
    """Owns one pipeline; not thread-safe (diffusers pipelines are not), so one caller at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipe = None
        self.img2img = None  # the image-to-image pipeline over the same modules (no second copy of the weights)
        self.source: ModelSource | None = None
        self.device: torch.device | None = None
        self.dtype: torch.dtype | None = None
        self.attention: str | None = None
        self.optimizations: list[str] = []
        self.prompt_cache: fastpath.PromptCache | None = None
        self.preview_vae = None  # AutoencoderTiny for requests with preview=True, when configured
        self.graphs: set[tuple[int, int, int]] = set()  # (batch bucket, width, height) compiled and warmed

    @property
    def loaded(self) -> bool:
        return self.pipe is not None

    def info(self) -> dict:
        """What is loaded, for health checks and logs."""
        if self.source is None:
            return {"model": self.settings.model, "loaded": False}
        return {
            "model": self.source.location,
            "label": self.source.label,
            "random_weights": self.source.is_random,
            "device": str(self.device),
            "dtype": dtype_name(self.dtype),
            "attention": self.attention,
            "optimizations": self.optimizations,
            "compiled_shapes": sorted(self.graphs),  # (batch, width, height) served by compiled graphs
            "preview_vae": self.settings.preview_vae or None,
            "max_batch_size": self.settings.max_batch_size,
            "loaded": self.loaded,
        }

    def load(self) -> None:
        """Resolve device/precision, load the weights once and log how long it took."""
        started = time.perf_counter()
        self.device = resolve_device(self.settings.device)
        self.dtype = resolve_dtype(self.settings.dtype, self.device)
        # checked before the weights load, so a bad choice fails fast
        attention = resolve_attention(self.settings.attention, self.device, self.dtype, self._compiled)
        self.source = resolve_source(self.settings.model, self.settings.cache_dir)
        pipe = load_pipeline(self.source, self.dtype).to(self.device)
        if self.settings.preview_vae:  # far less decoder work than the full VAE, softer images: previews only
            self.preview_vae = load_preview_vae(self.settings.preview_vae, self.dtype).to(self.device)
            log.info("preview VAE %s loaded for preview requests (live mode)", self.settings.preview_vae)
        pipe.set_progress_bar_config(disable=True)  # callers show their own progress
        self.attention = apply_attention(pipe, attention)
        self.optimizations = optimize.apply(
            pipe, self.settings.optimize, self.settings.compile_mode, self.settings.cache_dir
        )
        self.prompt_cache = fastpath.PromptCache(pipe) if self._uses(Optimization.PROMPT_CACHE) else None
        # image-to-image over the same modules: no second copy of the weights. Built from the components,
        # not with from_pipe, which casts every shared module to its dtype argument (float32 by default:
        # on a GPU that silently turned the fp16 engine into fp32, 1.3-1.7x slower at twice the memory).
        # The class itself, not AutoPipelineForImage2Image, whose import pulls in every pipeline family (~3 s)
        from diffusers import StableDiffusionImg2ImgPipeline  # imported with the weights, not with this module

        self.img2img = StableDiffusionImg2ImgPipeline(**pipe.components, requires_safety_checker=False)
        self.img2img.set_progress_bar_config(disable=True)
        self.pipe = pipe
        log.info(
            "loaded %s (%s) on %s, %s, %s attention in %.2f s",
            self.source.location,
            self.source.kind,
            self.device,
            dtype_name(self.dtype),
            self.attention,
            time.perf_counter() - started,
        )
        if self.source.is_random:
            log.warning(
                "model %r has random weights: its images are noise, for tests and timing only", self.settings.model
            )
        elif self.device.type == "cpu":
            log.warning(
                "running SD-Turbo on the CPU in %s: this will be slow (about 12 s per 512x512 image in fp32 "
                "on two cores; bf16 about half that); a CUDA GPU makes it milliseconds",
                dtype_name(self.dtype),
            )

    def warmup(self, shapes: list[tuple[int, int, int]] | None = None) -> float:
        """Run 1-step images so the first user request is not the slow one; return seconds.

        `shapes` are (batch, width, height). By default: one 512x512 image, or, when compiled, every
        batch-size bucket up to max_batch_size at every compile size: each is a graph. Compiled
        requests of any other shape run eager instead of stalling on a fresh compile.
        """
        started = time.perf_counter()
        if shapes is None:
            shapes = [(1, 512, 512)]
            if self._compiled:
                top = self.settings.max_batch_size
                buckets = sorted({fastpath.bucket_size(n, top) for n in range(1, top + 1)})
                shapes = [(b, w, h) for w, h in self.settings.compile_sizes for b in buckets]
        # CUDA graph trees run a compiled function eagerly on its first call and record the graph
        # on the second: two passes, so no user request pays for a recording
        passes = 2 if self._compiled and self.device.type == "cuda" else 1
        for batch, width, height in shapes:
            for warm_pass in range(passes):
                # a new prompt each pass: a prompt-cache hit would skip the text encoder's second pass
                requests = [GenerationRequest(f"warm-up {warm_pass}", i, 1, width, height) for i in range(batch)]
                for indices in self._chunks(requests):
                    self._run_chunk([requests[i] for i in indices], warming=True)
        seconds = time.perf_counter() - started
        log.info("warm-up of %d shape(s) (batch, width, height) %s took %.2f s", len(shapes), shapes, seconds)
        return seconds

    def _uses(self, speedup: Optimization) -> bool:
        return speedup in self.settings.optimize

    @property
    def _compiled(self) -> bool:
        return self._uses(Optimization.COMPILE)

    @property
    def warms_by_default(self) -> bool:
        """Whether a direct caller should warm up: on GPUs the first call is slow, and when compiled
        only warmed shapes use the compiled graphs. (Call after load().)"""
        return self.device.type != "cpu" or self._compiled

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Make one image per request, in order; compatible requests share pipeline calls."""
        if self.pipe is None:
            raise RuntimeError("Engine.load() must be called before generate()")
        results: list[GenerationResult | None] = [None] * len(requests)
        for indices in self._chunks(requests):
            try:
                chunk_results = self._run_chunk([requests[i] for i in indices])
            except torch.cuda.OutOfMemoryError:
                # give the failed call's memory back before the batcher retries the halves
                torch.cuda.empty_cache()
                raise
            for i, result in zip(indices, chunk_results, strict=True):
                results[i] = result
        return results  # type: ignore[return-value]  # every slot was filled above

    def _chunks(self, requests: list[GenerationRequest]) -> list[list[int]]:
        """Indices grouped by request shape (the batcher's key too), each group cut to max_batch_size."""
        groups: dict[Shape, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.shape, []).append(i)
        size = self.settings.max_batch_size
        return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]

    def _warmed(self, count: int, width: int, height: int) -> bool:
        """Whether warm-up compiled the graph a call of `count` images at this size would use."""
        return (fastpath.bucket_size(count, self.settings.max_batch_size), width, height) in self.graphs

    def _batch_size(self, count: int, width: int, height: int, warming: bool = False) -> int:
        """Images one pipeline call makes for `count` requests of this size.

        Compiled: warm-up compiles a graph per (batch bucket, width, height), and later calls of a
        warmed shape are padded to its bucket to use that graph. Other shapes run eager, unpadded:
        a fresh compile would stall every queued request for minutes.
        """
        if self._compiled and (warming or self._warmed(count, width, height)):
            return fastpath.bucket_size(count, self.settings.max_batch_size)
        return count

    @contextlib.contextmanager
    def context(self, count: int, width: int, height: int, warming: bool = False):
        """What a pipeline call of `count` images runs in: inference mode, the attention kernel and
        the compile stance. Public so benchmarks time single stages the way requests run."""
        stance = "default"
        if self._compiled and not warming:  # outside warm-up never compile: unwarmed shapes run eager
            stance = "eager_on_recompile" if self._warmed(count, width, height) else "force_eager"
        # set_stance takes effect when constructed, so it is built here, on entry
        with torch.inference_mode(), attention_context(self.attention), torch.compiler.set_stance(stance):
            yield

    def _run_chunk(self, chunk: list[GenerationRequest], warming: bool = False) -> list[GenerationResult]:
        """One pipeline call for requests that share steps and size."""
        first = chunk[0]
        size = self._batch_size(len(chunk), first.width, first.height, warming)
        padded = chunk + [chunk[-1]] * (size - len(chunk))  # copies fill a compiled graph's batch bucket
        # one CPU generator per image: image i depends only on its own seed, on any device and batch size
        generators = [torch.Generator("cpu").manual_seed(r.seed) for r in padded]
        prompts = [r.prompt for r in padded]
        preview = first.preview and self.preview_vae is not None
        uint8 = preview or self._uses(Optimization.UINT8_DECODE)
        vae = self.preview_vae if preview else self.pipe.vae
        started = time.perf_counter()
        with self.context(len(chunk), first.width, first.height, warming):
            text = {"prompt_embeds": self.prompt_cache.embeds(prompts)} if self.prompt_cache else {"prompt": prompts}
            if first.strength is None:
                source = {"width": first.width, "height": first.height}
                pipe = self.pipe
            else:  # image-to-image: the size is the init images'
                source = {"image": [r.init_image for r in padded], "strength": first.strength}
                pipe = self.img2img
            output = pipe(
                **text,
                **source,
                num_inference_steps=first.steps,
                guidance_scale=0.0,  # SD-Turbo is trained without classifier-free guidance
                generator=generators,
                output_type="latent" if uint8 else "pil",
            )
            images = fastpath.decode_uint8(vae, output.images) if uint8 else output.images
        elapsed_ms = (time.perf_counter() - started) * 1000
        if len(images) != len(padded):
            raise RuntimeError(f"pipeline returned {len(images)} images for {len(padded)} prompts")
        if warming and self._compiled:
            self.graphs.add((size, first.width, first.height))
        images = images[: len(chunk)]
        label = self.source.label
        return [
            GenerationResult(
                image,
                r.prompt,
                r.seed,
                r.steps,
                r.width,
                r.height,
                label,
                elapsed_ms,
                len(chunk),
                self.settings.preview_vae if preview else None,
                r.strength,
            )
            for r, image in zip(chunk, images, strict=True)
        ]
