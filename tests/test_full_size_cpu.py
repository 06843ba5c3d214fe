"""The full-size SD-Turbo architecture (random weights) through the engine on the CPU: `pytest -m slow`.

What the GPU run will do, minus the GPU: same shapes and graphs, in fp32/bf16. Takes about three
minutes on two cores after the model is built (~30 s, ~5 GB under the cache folder; set
SDTURBO_TEST_CACHE_DIR to keep it between runs).
"""

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from bench import engine_bench
from sdturbo.config import Settings
from sdturbo.engine import Engine, GenerationRequest
from sdturbo.engine.random_models import random_model_dir

pytestmark = pytest.mark.slow

PROMPTS, SEEDS = ["anime fox spirit", "mecha pilot in rain"], [1, 2]
EAGER = "channels_last,fuse_qkv,prompt_cache,uint8_decode"


@pytest.fixture(scope="module")
def full_dir(tiny_settings):
    return random_model_dir("random-full", tiny_settings.cache_dir)


@pytest.fixture(scope="module")
def stock(full_dir):
    pipe = StableDiffusionPipeline.from_pretrained(full_dir)
    pipe.set_progress_bar_config(disable=True)
    generators = [torch.Generator("cpu").manual_seed(s) for s in SEEDS]
    images = pipe(PROMPTS, num_inference_steps=2, guidance_scale=0.0, width=256, height=256, generator=generators)
    return [np.asarray(image, np.float32) for image in images.images]


def differences(tiny_settings, stock, **settings) -> np.ndarray:
    engine = Engine(Settings(model="random-full", device="cpu", cache_dir=tiny_settings.cache_dir, **settings))
    engine.load()
    results = engine.generate([GenerationRequest(p, s, 2, 256, 256) for p, s in zip(PROMPTS, SEEDS, strict=True)])
    return np.concatenate(
        [np.abs(np.asarray(r.image, np.float32) - x).ravel() for r, x in zip(results, stock, strict=True)]
    )


def test_random_full_images_are_not_degenerate(stock):
    """Random weights must still give varied pixels, or parity checks at full size would prove nothing."""
    for image in stock:
        assert 20 < image.mean() < 235 and image.std() > 10


def test_eager_optimizations_match_stock_at_full_size(tiny_settings, stock):
    diff = differences(tiny_settings, stock, optimize=EAGER)
    assert diff.max() <= 1.0  # fp32: rounding only


def test_bf16_stays_within_the_gpu_tolerance(tiny_settings, stock):
    """bf16 against fp32 stock; measured here: mean 0.47, p99 2, max 4 levels (2026-11-25)."""
    diff = differences(tiny_settings, stock, optimize=EAGER, dtype="bf16")
    assert diff.mean() <= 2.0 and np.percentile(diff, 99) <= 16


def test_compiled_full_size_graphs_match_stock(tiny_settings, stock):
    """fullgraph=True at full size: the fused-QKV UNet and the VAE decoder compile without a graph
    break (inductor's CPU backend; ~70 s). Measured here: max 1 level (2026-11-25)."""
    settings = dict(optimize="fast", compile_mode="default", compile_sizes="256x256", max_batch_size=1)
    engine = Engine(Settings(model="random-full", device="cpu", cache_dir=tiny_settings.cache_dir, **settings))
    engine.load()
    engine.warmup()
    assert engine.graphs == {(1, 256, 256)}
    results = engine.generate([GenerationRequest(p, s, 2, 256, 256) for p, s in zip(PROMPTS, SEEDS, strict=True)])
    for result, expected in zip(results, stock, strict=True):
        assert np.abs(np.asarray(result.image, np.float32) - expected).max() <= 1.0


def test_bench_runs_the_full_size_model(tiny_settings, tmp_path):
    argv = ["--random-full", "--device", "cpu", "--rows", "256:1", "--batches", "1", "--iters", "1"]
    assert engine_bench.main([*argv, "--optimize", EAGER, "--out", str(tmp_path)]) == 0
    assert "| 256² | 1 |" in (tmp_path / "engine_bench.md").read_text()
