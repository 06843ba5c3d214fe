"""Opt-in speed-ups, applied once at load time in one place. The default path is plain diffusers.

Each trick is one block with the reason it exists; parity with stock diffusers is tested for
every one that can change numbers (tests/test_optimize.py, and -m gpu at full size). What the
hot path calls on every request (batch buckets, the prompt cache, uint8 decode) is in fastpath.py.
"""

from __future__ import annotations

import logging
import os

import torch
import torch._inductor.config

from sdturbo.config import Optimization

log = logging.getLogger(__name__)

RECOMPILE_LIMIT = 64  # graphs per compiled function (buckets x compile sizes); torch's default of 8 is too few
# diffusers' torch.compile recipe for Stable Diffusion UNets (its "Accelerate inference" guide);
# Triton-only knobs, read when a graph is compiled. Coordinate-descent tuning benchmarks every
# kernel, so it goes with max-autotune only: with it, reduce-overhead had not finished warming two
# shapes after 8 minutes on an H100 (docs/BENCHMARKS.md, 2026-11-26)
INDUCTOR_TUNING = {
    "conv_1x1_as_mm": True,
    "coordinate_descent_tuning": True,
    "coordinate_descent_check_all_directions": True,
    "epilogue_fusion": False,
}


def apply(pipe, chosen: Optimization, compile_mode: str, cache_dir) -> list[str]:
    """Apply the chosen speed-ups to a loaded pipeline; return what was applied, in order."""
    applied = []
    if Optimization.CHANNELS_LAST in chosen:  # NHWC lets cuDNN pick its fastest conv kernels (tensor cores)
        # the UNet only: the VAE decoder in NHWC was 5-6 ms slower than stock's on an H100 and an H200
        pipe.unet.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    if Optimization.FUSE_QKV in chosen:  # one matmul for q, k and v instead of three in every self-attention
        pipe.fuse_qkv_projections()
        applied.append("fuse_qkv")
    if Optimization.COMPILE in chosen:  # inductor kernels; graphs kept on disk so a restart does not recompile
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir / "inductor"))
        if compile_mode.startswith("max-autotune"):
            for key, value in INDUCTOR_TUNING.items():
                setattr(torch._inductor.config, key, value)
        # cache_size_limit: the name torch 2.7 knows; later versions alias it to recompile_limit
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, RECOMPILE_LIMIT)
        # dynamic=False: one static graph per (batch bucket, size), never a slower shape-generic one
        pipe.unet = torch.compile(pipe.unet, mode=compile_mode, fullgraph=True, dynamic=False)
        # the text encoder too: eager, it was 7-10 ms of a new prompt's ~30 ms once the UNet and VAE
        # ran as CUDA graphs on an H100 (docs/BENCHMARKS.md); its graphs are per prompt count
        pipe.text_encoder = torch.compile(pipe.text_encoder, mode=compile_mode, fullgraph=True, dynamic=False)
        pipe.vae.decode = torch.compile(pipe.vae.decode, mode=compile_mode, fullgraph=True, dynamic=False)
        applied.append(f"compile({compile_mode})")
    # used per call by the engine (fastpath.py)
    applied += (chosen & (Optimization.PROMPT_CACHE | Optimization.UINT8_DECODE)).labels
    if applied:
        log.info("optimizations applied: %s", ", ".join(applied))
    return applied
