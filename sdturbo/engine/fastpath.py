"""Per-call speed paths the engine runs on every request: batch buckets, the prompt cache, uint8 decode.

Chosen by Settings.optimize (load-time code that changes the pipeline itself is in optimize.py).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # compiled graphs are specialised per batch size: pad up to one of these


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
                # a copy, never a view: a compiled text encoder's output can be a CUDA graph's buffer,
                # which its next run overwrites (encode_prompt copies it today; this does not rely on that)
                self._cache[prompt] = embedding.clone()
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
