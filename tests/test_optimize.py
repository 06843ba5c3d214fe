"""Every speed-up against stock diffusers on the same tiny weights and seeds (CPU, fp32).

Tolerance: at most one uint8 level per pixel (float rounding), except where exactness is claimed.
"""

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from sdturbo.config import Settings
from sdturbo.engine import Engine, GenerationRequest, fastpath
from sdturbo.engine.random_models import random_model_dir
from sdturbo.errors import InvalidParameterError

PROMPTS = ["a fox in the snow", "a castle on a hill", "a fox in the snow"]
SEEDS = [3, 4, 5]


@pytest.fixture(scope="module")
def stock(tiny_settings):
    """What a user of plain diffusers gets: the model card recipe, eager, default attention."""
    pipe = StableDiffusionPipeline.from_pretrained(random_model_dir("tiny", tiny_settings.cache_dir))
    pipe.set_progress_bar_config(disable=True)
    generators = [torch.Generator("cpu").manual_seed(s) for s in SEEDS]
    images = pipe(
        PROMPTS, num_inference_steps=2, guidance_scale=0.0, width=256, height=256, generator=generators
    ).images
    return [np.asarray(image, dtype=np.float32) for image in images]


def ours(tiny_settings, names, **settings):
    engine = Engine(Settings(model="tiny", device="cpu", cache_dir=tiny_settings.cache_dir, optimize=names, **settings))
    engine.load()
    results = engine.generate([GenerationRequest(p, s, 2, 256, 256) for p, s in zip(PROMPTS, SEEDS, strict=True)])
    return engine, [np.asarray(r.image, dtype=np.float32) for r in results]


def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


def test_default_engine_is_stock_diffusers(tiny_settings, stock):
    assert max_diff(ours(tiny_settings, ())[1], stock) == 0.0


@pytest.mark.parametrize("name", ["channels_last", "fuse_qkv", "prompt_cache"])
def test_optimization_matches_stock(tiny_settings, stock, name):
    engine, images = ours(tiny_settings, name)
    assert engine.optimizations == [name]
    assert max_diff(images, stock) <= 1.0


@pytest.mark.parametrize(
    ("attention", "first", "flash"), [("sdpa-math", "MATH", False), ("sdpa-flash", "FLASH_ATTENTION", True)]
)
def test_preferred_sdpa_kernel_is_tried_first_and_matches_stock(
    tiny_settings, stock, monkeypatch, attention, first, flash
):
    from torch.nn.attention import SDPBackend

    seen = set()
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):  # the kernel SDPA tries first, and whether flash is allowed, at each call
        seen.add((torch._C._get_sdp_priority_order()[0], torch.backends.cuda.flash_sdp_enabled()))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    engine, images = ours(tiny_settings, (), attention=attention)
    assert engine.attention == attention and engine.info()["attention"] == attention
    assert seen == {(int(getattr(SDPBackend, first)), flash)}
    assert torch.backends.cuda.math_sdp_enabled()  # restored after each call; math never switched off
    assert max_diff(images, stock) <= 1.0


@pytest.mark.parametrize("attention", ["sdpa-efficient", "sdpa-cudnn"])
def test_cuda_only_sdpa_kernels_are_refused_on_the_cpu(tiny_settings, attention):
    with pytest.raises(
        InvalidParameterError, match=f"attention: {attention} does not run on cpu; use sdpa, sdpa-flash"
    ):
        ours(tiny_settings, (), attention=attention)


def test_uint8_decode_is_exact(tiny_settings, stock):
    assert max_diff(ours(tiny_settings, "uint8_decode")[1], stock) == 0.0


def test_all_but_compile_together(tiny_settings, stock):
    engine, images = ours(tiny_settings, "channels_last,fuse_qkv,prompt_cache,uint8_decode")
    assert len(engine.optimizations) == 4 and max_diff(images, stock) <= 1.0


def test_prompt_cache_skips_the_text_encoder_for_known_prompts(tiny_settings, monkeypatch):
    engine, _ = ours(tiny_settings, "prompt_cache")
    calls = []
    real = engine.pipe.encode_prompt

    def spy(prompts, *args, **kwargs):
        if prompts is not None:  # the pipeline also calls it with ready prompt_embeds, which costs nothing
            calls.append(prompts)
        return real(prompts, *args, **kwargs)

    monkeypatch.setattr(engine.pipe, "encode_prompt", spy)
    engine.generate(
        [GenerationRequest("a fox in the snow", 1, 1, 256, 256), GenerationRequest("a new prompt", 2, 1, 256, 256)]
    )
    assert calls == [["a new prompt"]]


def test_cache_is_bounded(tiny_settings):
    engine, _ = ours(tiny_settings, "prompt_cache")
    engine.prompt_cache.size = 2
    engine.prompt_cache.embeds(["a", "b", "c"])
    assert list(engine.prompt_cache._cache) == ["b", "c"]


def warmed_engine(tiny_settings, **settings) -> Engine:
    """A compiled tiny engine, loaded and warmed at 256x256 (only warmed shapes use the graphs)."""
    settings = {"optimize": "compile", **settings}
    engine = Engine(
        Settings(model="tiny", device="cpu", cache_dir=tiny_settings.cache_dir, compile_sizes="256x256", **settings)
    )
    engine.load()
    engine.warmup()
    return engine


class CountingBackend:
    """A torch.compile backend that runs the captured FX graph as is, counting compiles and calls."""

    def __init__(self) -> None:
        self.compiles, self.calls = 0, 0

    def __call__(self, graph_module, example_inputs):
        self.compiles += 1

        def run(*args):
            self.calls += 1
            return graph_module.forward(*args)

        return run


def counting_compile(monkeypatch) -> CountingBackend:
    """torch.compile with the counting backend: dynamo traces the real graphs, no inductor."""
    backend, real_compile = CountingBackend(), torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, mode, **kw: real_compile(fn, backend=backend, **kw))
    return backend


@pytest.mark.slow  # traces 9 graphs with dynamo: ~10-25 s
def test_warmed_shapes_use_compiled_graphs_and_other_shapes_run_eager(tiny_settings, stock, monkeypatch):
    """The dispatch around torch.compile, with a counting backend instead of inductor (fast)."""
    backend = counting_compile(monkeypatch)
    engine = warmed_engine(tiny_settings, max_batch_size=4)
    assert engine.graphs == {(1, 256, 256), (2, 256, 256), (4, 256, 256)}
    assert backend.compiles == 9  # one static graph per bucket for the text encoder, the UNet and the VAE decoder
    assert engine.info()["compiled_shapes"] == [(1, 256, 256), (2, 256, 256), (4, 256, 256)]
    seen = []
    real_call = type(engine.pipe).__call__
    monkeypatch.setattr(
        type(engine.pipe), "__call__", lambda self, **kw: seen.append(len(kw["prompt"])) or real_call(self, **kw)
    )
    calls = backend.calls
    results = engine.generate([GenerationRequest(p, s, 2, 256, 256) for p, s in zip(PROMPTS, SEEDS, strict=True)])
    assert seen == [4] and len(results) == 3  # three requests padded to the 4-bucket: one graph call per stage
    # text encoder once, UNet twice (2 steps), VAE once, no recompile
    assert backend.calls - calls == 4 and backend.compiles == 9
    assert max_diff([np.asarray(r.image, dtype=np.float32) for r in results], stock) <= 1.0
    calls = backend.calls
    odd = engine.generate([GenerationRequest(PROMPTS[0], SEEDS[0], 1, 320, 256)])
    assert seen[-1] == 1 and odd[0].image.size == (320, 256)  # unwarmed size: eager, not padded
    assert backend.calls == calls and backend.compiles == 9


@pytest.mark.slow  # traces 7 graphs with dynamo: ~10-20 s
def test_compiled_text_encoder_with_the_prompt_cache(tiny_settings, stock, monkeypatch):
    """With the cache the text encoder sees only the new prompts: its graph is the one-prompt one
    (a live-typing user's), and a batch of several new prompts runs it eager, never recompiling."""
    backend = counting_compile(monkeypatch)
    engine = warmed_engine(tiny_settings, max_batch_size=4, optimize="compile,prompt_cache")
    assert backend.compiles == 7  # UNet and VAE per bucket, the text encoder for one prompt
    calls = backend.calls
    results = engine.generate([GenerationRequest(p, s, 2, 256, 256) for p, s in zip(PROMPTS, SEEDS, strict=True)])
    assert backend.calls - calls == 3 and backend.compiles == 7  # two new prompts: text encoder eager
    assert max_diff([np.asarray(r.image, dtype=np.float32) for r in results], stock) <= 1.0
    calls = backend.calls
    engine.generate([GenerationRequest("a lone samurai", 1, 2, 256, 256)])
    assert backend.calls - calls == 4  # one new prompt: through the text encoder's graph
    calls = backend.calls
    again = engine.generate([GenerationRequest(PROMPTS[0], SEEDS[0], 2, 256, 256)])
    assert backend.calls - calls == 3  # a cache hit skips the text encoder
    assert max_diff([np.asarray(again[0].image, dtype=np.float32)], stock[:1]) <= 1.0  # batch 1, not 4: within 1


def test_the_prompt_cache_keeps_copies(tiny_settings, monkeypatch):
    """A compiled text encoder's output can be a CUDA graph's buffer that its next run overwrites."""
    engine, _ = ours(tiny_settings, "prompt_cache")
    out = torch.zeros(1, 77, 8)
    monkeypatch.setattr(engine.pipe, "encode_prompt", lambda prompts, *args: (out, None))
    cached = engine.prompt_cache.embeds(["a"])
    out.fill_(1.0)  # the next run writes into the same buffer
    assert cached.abs().sum() == 0 and engine.prompt_cache.embeds(["a"]).abs().sum() == 0


def test_generator_warms_a_compiled_engine_even_on_the_cpu(monkeypatch):
    from sdturbo.generator import SDTurboGenerator

    generator = SDTurboGenerator(settings=Settings(model="tiny", device="cpu", optimize="compile"))
    engine, warmed = generator.engine, []

    def load():
        engine.pipe, engine.device = object(), torch.device("cpu")

    monkeypatch.setattr(engine, "load", load)
    monkeypatch.setattr(engine, "warmup", lambda: warmed.append(True))
    generator.load()
    assert warmed == [True]  # only warmed shapes use the compiled graphs


def test_bucket_sizes():
    assert [fastpath.bucket_size(n, 8) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    assert fastpath.bucket_size(5, 6) == 6 and fastpath.bucket_size(20, 64) == 32


@pytest.mark.slow  # real inductor compile: ~1-2 min
def test_torch_compile_matches_stock(tiny_settings, stock):
    """The real inductor compile (about a minute on two CPU cores), one bucket at one size."""
    engine = warmed_engine(tiny_settings, compile_mode="default", max_batch_size=1)
    assert engine.optimizations == ["compile(default)"]
    assert engine.graphs == {(1, 256, 256)}
    results = engine.generate([GenerationRequest(p, s, 2, 256, 256) for p, s in zip(PROMPTS, SEEDS, strict=True)])
    assert max_diff([np.asarray(r.image, dtype=np.float32) for r in results], stock) <= 1.0


def test_optimization_names_are_checked():
    assert Settings(optimize="fast").optimize.labels == [
        "channels_last",
        "fuse_qkv",
        "prompt_cache",
        "uint8_decode",
        "compile",
    ]
    assert Settings(optimize="uint8_decode, channels_last").optimize.labels == ["channels_last", "uint8_decode"]
    with pytest.raises(InvalidParameterError, match="optimize: unknown optimization 'turbo'; choose from"):
        Settings(optimize="turbo")
    with pytest.raises(InvalidParameterError, match="compile_mode: must be one of default"):
        Settings(compile_mode="fastest")


def test_preview_vae_swaps_in_autoencoder_tiny(tiny_settings, tmp_path, stock):
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    AutoencoderTiny().save_pretrained(tmp_path / "taesd-random")  # same classes as madebyollin/taesd
    path = str(tmp_path / "taesd-random")
    engine, images = ours(tiny_settings, (), preview_vae=path)
    assert type(engine.preview_vae).__name__ == "AutoencoderTiny" and engine.info()["preview_vae"] == path
    assert max_diff(images, stock) == 0.0  # ordinary requests keep the model's own VAE
    preview = engine.generate([GenerationRequest(PROMPTS[0], SEEDS[0], 2, 256, 256, preview=True)])[0]
    assert preview.vae == path and preview.parameters.endswith(f"VAE: {path}")
    pixels = np.asarray(preview.image, dtype=np.float32)
    assert pixels.shape == stock[0].shape and np.abs(pixels - stock[0]).max() > 0  # approximate decoder


def test_missing_preview_vae_explains(tiny_settings, tmp_path):
    from sdturbo.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="preview VAE .*hf download madebyollin/taesd"):
        ours(tiny_settings, (), preview_vae=str(tmp_path / "nope"))


@pytest.mark.parametrize(("mode", "tuned"), [("max-autotune", True), ("reduce-overhead", False), ("default", False)])
def test_inductor_tuning_goes_with_max_autotune_only_and_the_vae_stays_contiguous(tiny_settings, mode, tuned):
    """Coordinate-descent tuning kept reduce-overhead warming for over 8 minutes on an H100, and an
    NHWC VAE decoder was slower than stock's there (docs/BENCHMARKS.md); torch.compile only wraps here."""
    from sdturbo.engine import optimize

    saved = torch._inductor.config.save_config()
    pipe = StableDiffusionPipeline.from_pretrained(random_model_dir("tiny", tiny_settings.cache_dir))
    chosen = Settings(optimize="channels_last,compile").optimize
    try:
        torch._inductor.config.coordinate_descent_tuning = False
        assert optimize.apply(pipe, chosen, mode, tiny_settings.cache_dir) == ["channels_last", f"compile({mode})"]
        assert torch._inductor.config.coordinate_descent_tuning is tuned
    finally:
        torch._inductor.config.load_config(saved)
    conv_in = pipe.unet._orig_mod.conv_in.weight
    assert conv_in.is_contiguous(memory_format=torch.channels_last) and not conv_in.is_contiguous()
    assert pipe.vae.decoder.conv_in.weight.is_contiguous()
