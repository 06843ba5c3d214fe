"""Opt-in speed-ups, applied once at load time in one place. The default path is plain diffusers.

Each trick is one block with the reason it exists; parity with stock diffusers is tested for
every one that can change numbers (tests/test_optimize.py, and -m gpu at full size).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict

import numpy as np
import torch
import torch._inductor.config
from PIL import Image

log = logging.getLogger(__name__)

BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # compiled graphs are specialised per batch size: pad up to one of these
RECOMPILE_LIMIT = 64  # graphs per compiled function (buckets x compile sizes); torch's default of 8 is too few
# diffusers' torch.compile recipe for Stable Diffusion UNets (its "Accelerate inference" guide);
# Triton-only knobs, read when a graph is compiled (unmeasured here: no GPU so far, see docs/BENCHMARKS.md)
INDUCTOR_TUNING = {
    "conv_1x1_as_mm": True,
    "coordinate_descent_tuning": True,
    "coordinate_descent_check_all_directions": True,
    "epilogue_fusion": False,
}


def apply(pipe, names: tuple[str, ...], compile_mode: str, cache_dir) -> list[str]:
    """Apply the chosen speed-ups to a loaded pipeline; return what was applied, in order."""
    applied = []
    if "channels_last" in names:  # NHWC lets cuDNN pick its fastest conv kernels (tensor cores)
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    if "fuse_qkv" in names:  # one matmul for q, k and v instead of three in every self-attention
        pipe.fuse_qkv_projections()
        applied.append("fuse_qkv")
    if "compile" in names:  # inductor kernels; graphs kept on disk so a restart does not recompile
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir / "inductor"))
        for key, value in INDUCTOR_TUNING.items():
            setattr(torch._inductor.config, key, value)
        # cache_size_limit: the name torch 2.7 knows; later versions alias it to recompile_limit
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, RECOMPILE_LIMIT)
        # dynamic=False: one static graph per (batch bucket, size), never a slower shape-generic one
        pipe.unet = torch.compile(pipe.unet, mode=compile_mode, fullgraph=True, dynamic=False)
        pipe.vae.decode = torch.compile(pipe.vae.decode, mode=compile_mode, fullgraph=True, dynamic=False)
        applied.append(f"compile({compile_mode})")
    applied += [n for n in ("prompt_cache", "uint8_decode") if n in names]  # used by the engine per call
    if applied:
        log.info("optimizations applied: %s", ", ".join(applied))
    return applied


def bucket_size(count: int, max_batch: int) -> int:
    """The smallest compile bucket holding `count` images (never above max_batch)."""
    return min(next(b for b in BUCKETS if b >= count), max(max_batch, count))


class PromptCache:
    """LRU of text-encoder outputs per prompt: repeated prompts (live mode, batches) skip CLIP."""

    def __init__(self, pipe, size: int = 256) -> None:
        self.pipe, self.size = pipe, size
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()

    def embeds(self, prompts: list[str]) -> torch.Tensor:
        """(B, 77, hidden) embeddings for `prompts`, encoding only the ones not cached."""
        missing = list(dict.fromkeys(p for p in prompts if p not in self._cache))
        if missing:
            fresh, _ = self.pipe.encode_prompt(missing, self.pipe._execution_device, 1, False)  # (M, 77, D)
            for prompt, embedding in zip(missing, fresh, strict=True):
                self._cache[prompt] = embedding
        for prompt in prompts:
            self._cache.move_to_end(prompt)
        embeds = torch.stack([self._cache[p] for p in prompts])
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return embeds


def decode_uint8(vae, latents: torch.Tensor) -> list[Image.Image]:
    """VAE-decode latents and convert to uint8 on the device, then copy to the host once."""
    return to_pil_uint8(vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0])


def to_pil_uint8(image: torch.Tensor) -> list[Image.Image]:
    """Decoded (B, 3, H, W) images in [-1, 1] to PIL, converted to uint8 on their device.

    Same arithmetic as diffusers' postprocess (denormalize in the VAE dtype, then *255 and round
    in fp32), so the pixels equal the stock "pil" output; only the float host copy is gone.
    """
    image = (image / 2 + 0.5).clamp(0, 1)
    pixels = (image.float() * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()  # (B, H, W, 3)
    return [Image.fromarray(a) for a in np.asarray(pixels.cpu())]
