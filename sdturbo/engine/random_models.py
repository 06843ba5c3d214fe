"""Random-weight SD-Turbo pipelines built from the real diffusers/transformers classes.

`tiny` is what tests, CI and weight-free demos load: same classes, same latent shapes as the
real model (a four-level VAE, so 512x512 runs on 64x64 latents), a few hundred KB of weights.
`random-full` is the full SD-Turbo architecture (shared sd-turbo-arch.md) for GPU timing.
Both are saved with `save_pretrained` and then loaded through the same `from_pretrained` path
as the real model. Their images are noise.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

RANDOM_MODELS = ("tiny", "random-full")
_FORMAT_VERSION = 1  # bump when the architecture below changes, so old caches are not reused


def random_model_dir(name: str, cache_dir: Path) -> Path:
    """Return the folder holding random model `name`, building it on first use."""
    target = Path(cache_dir) / f"{name}-v{_FORMAT_VERSION}"
    if (target / "model_index.json").is_file():
        return target
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    # build beside the target and rename, so a crash or a parallel build never leaves half a model
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build_random_pipeline(name, staging / "tokenizer-src").save_pretrained(staging / "model")
        try:
            os.replace(staging / "model", target)
        except OSError:
            if not (target / "model_index.json").is_file():  # lost a race only if the winner finished
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("built random %s model in %s (%.1f s)", name, target, time.perf_counter() - started)
    return target


def build_random_pipeline(name: str, scratch: Path):
    """Build a StableDiffusionPipeline with seeded random weights; `scratch` holds the vocab files."""
    import torch
    from diffusers import StableDiffusionPipeline

    if name not in RANDOM_MODELS:
        raise ValueError(f"unknown random model {name!r}; choose from {', '.join(RANDOM_MODELS)}")
    tokenizer = _byte_level_tokenizer(scratch)
    full = name == "random-full"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # same weights on every build, so a rebuilt cache gives the same images
        return StableDiffusionPipeline(
            unet=_unet(full),
            vae=_vae(full),
            text_encoder=_text_encoder(full, tokenizer),
            tokenizer=tokenizer,
            scheduler=_scheduler(),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )


def _bytes_to_unicode() -> list[str]:
    """The 256 printable characters CLIP's byte-level BPE uses for the 256 byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    codes = printable + [256 + i for i in range(len(extra))]
    return [chr(c) for c in codes]


def _byte_level_tokenizer(folder: Path):
    """A CLIPTokenizer over single bytes (no merges), written and read back offline."""
    from transformers import CLIPTokenizer

    chars = _bytes_to_unicode()
    tokens = [*chars, *(c + "</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    # without model_max_length=77 encoding fails with "int too big to convert"
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def _unet(full: bool):
    from diffusers import UNet2DConditionModel

    if full:
        return UNet2DConditionModel(
            block_out_channels=(320, 640, 1280, 1280),
            attention_head_dim=(5, 10, 20, 20),
            cross_attention_dim=1024,
            layers_per_block=2,
            use_linear_projection=True,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            sample_size=64,
            norm_num_groups=32,
        )
    return UNet2DConditionModel(
        block_out_channels=(4, 8),
        attention_head_dim=(2, 4),
        cross_attention_dim=8,
        layers_per_block=1,
        use_linear_projection=True,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        sample_size=64,
        norm_num_groups=2,
    )


def _vae(full: bool):
    from diffusers import AutoencoderKL

    # four levels in both: the pipeline's latents are H / 2**(levels-1), i.e. H/8 as in SD-Turbo
    return AutoencoderKL(
        block_out_channels=(128, 256, 512, 512) if full else (4, 8, 8, 8),
        layers_per_block=2 if full else 1,
        norm_num_groups=32 if full else 2,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        sample_size=512,
        scaling_factor=0.18215,
    )


def _text_encoder(full: bool, tokenizer):
    from transformers import CLIPTextConfig, CLIPTextModel

    size = dict(
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=23,
        num_attention_heads=16,
        vocab_size=49408,
        projection_dim=512,
    )
    if not full:
        size = dict(
            hidden_size=8,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            vocab_size=len(tokenizer),
            projection_dim=8,
        )
    eos = tokenizer.eos_token_id
    config = CLIPTextConfig(
        **size,
        hidden_act="gelu",
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    return CLIPTextModel(config)


def _scheduler():
    from diffusers import EulerDiscreteScheduler

    # SD-Turbo's shipped scheduler config; steps_offset=1 avoids a deprecation warning per load
    return EulerDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="epsilon",
        timestep_spacing="trailing",
        steps_offset=1,
    )
