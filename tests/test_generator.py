import numpy as np
import pytest
from PIL import Image

from sdturbo.config import Settings
from sdturbo.errors import InvalidParameterError
from sdturbo.generator import SDTurboGenerator


def pixels(image):
    return np.asarray(image, dtype=np.float32)


@pytest.mark.parametrize(("width", "height"), [(512, 512), (256, 384), (768, 256)])
def test_returns_pil_image_of_requested_size(generator, width, height):
    image = generator.generate("anime fox", seed=1, width=width, height=height)
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (width, height)


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_each_step_count_runs_and_is_recorded(generator, steps):
    result = generator.generate_result("anime fox", num_inference_steps=steps, seed=5, width=256, height=256)
    assert result.steps == steps
    assert f"Steps: {steps}, Sampler: Euler, CFG scale: 0, Seed: 5, Size: 256x256" in result.parameters


def test_step_count_changes_the_image(generator):
    one = generator.generate("anime fox", num_inference_steps=1, seed=5, width=256, height=256)
    four = generator.generate("anime fox", num_inference_steps=4, seed=5, width=256, height=256)
    assert not np.array_equal(pixels(one), pixels(four))


def test_same_seed_same_pixels_other_seed_other_pixels(generator):
    a = generator.generate("anime fox", seed=42, width=256, height=256)
    b = generator.generate("anime fox", seed=42, width=256, height=256)
    c = generator.generate("anime fox", seed=43, width=256, height=256)
    assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(a), pixels(c))


def test_batch_image_i_equals_single_with_seed_plus_i(generator, pipe_calls):
    prompts = ["anime fox", "mecha pilot", "cel-shaded castle", "chibi cat"]
    batch = generator.generate_batch(prompts, num_inference_steps=2, seed=100, width=256, height=256)
    assert pipe_calls == [4]  # one pipeline call, not a loop
    for i, prompt in enumerate(prompts):
        single = generator.generate(prompt, num_inference_steps=2, seed=100 + i, width=256, height=256)
        assert np.abs(pixels(batch[i]) - pixels(single)).max() <= 1.0  # within one uint8 level


def test_batches_are_chunked_by_max_batch_size(tiny_settings, pipe_calls, generator):
    small = SDTurboGenerator(
        settings=Settings(model="tiny", device="cpu", max_batch_size=2, cache_dir=tiny_settings.cache_dir)
    )
    small.engine.pipe = generator.engine.pipe  # reuse the loaded pipeline (spied by pipe_calls)
    small.engine.source = generator.engine.source
    results = small.generate_batch_results(["a", "b", "c", "d", "e"], seed=9, width=256, height=256)
    assert pipe_calls == [2, 2, 1]
    assert [r.seed for r in results] == [9, 10, 11, 12, 13]
    assert [r.prompt for r in results] == ["a", "b", "c", "d", "e"]
    assert [r.batch_size for r in results] == [2, 2, 2, 2, 1]


def test_engine_groups_mixed_requests_and_keeps_order(generator, pipe_calls):
    from sdturbo.engine import GenerationRequest

    requests = [
        GenerationRequest("a", 1, 1, 256, 256),
        GenerationRequest("b", 2, 2, 256, 256),
        GenerationRequest("c", 3, 1, 256, 256),
    ]
    results = generator.engine.generate(requests)
    assert sorted(pipe_calls) == [1, 2]
    assert [(r.prompt, r.seed, r.steps) for r in results] == [("a", 1, 1), ("b", 2, 2), ("c", 3, 1)]


def test_seed_none_draws_and_reports_seed(generator):
    result = generator.generate_result("anime fox", width=256, height=256)
    assert 0 <= result.seed <= 2**32 - 1
    again = generator.generate("anime fox", seed=result.seed, width=256, height=256)
    assert np.array_equal(pixels(result.image), pixels(again))


def test_result_carries_parameters(generator):
    r = generator.generate_result("anime fox", num_inference_steps=2, seed=7, width=256, height=320)
    assert (r.prompt, r.seed, r.steps, r.width, r.height, r.model) == ("anime fox", 7, 2, 256, 320, "tiny-random")
    assert r.elapsed_ms > 0 and r.batch_size == 1
    assert r.parameters.startswith("anime fox\nSteps: 2, Sampler: Euler, CFG scale: 0, Seed: 7, Size: 256x320")


def test_guidance_is_zero_and_scheduler_is_trailing_euler(generator, monkeypatch):
    pipe = generator.engine.pipe
    seen = {}
    real_call = type(pipe).__call__

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    generator.generate("anime fox", seed=1, width=256, height=256)
    assert seen["guidance_scale"] == 0.0
    assert type(pipe.scheduler).__name__ == "EulerDiscreteScheduler"
    assert pipe.scheduler.config.timestep_spacing == "trailing"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps: must be an integer from 1 to 4, got 0"),
        ({"num_inference_steps": 9}, "num_inference_steps: must be an integer from 1 to 4, got 9"),
        ({"width": 500}, "width: must be an integer from 256 to 1024 in multiples of 64, got 500"),
        ({"height": 4096}, "height: must be an integer from 256 to 1024 in multiples of 64, got 4096"),
        ({"seed": -1}, "seed: must be an integer from 0 to 4294967295, got -1"),
        ({"seed": 1.5}, "seed: must be an integer from 0 to 4294967295, got 1.5"),
        ({"prompt": "  "}, "prompt: must not be empty or only whitespace"),
    ],
)
def test_invalid_parameters_raise_before_any_work(generator, pipe_calls, kwargs, message):
    args = {"prompt": "anime fox", **kwargs}
    with pytest.raises(InvalidParameterError, match=f"^{message}"):
        generator.generate(**args)
    assert pipe_calls == []
    assert isinstance(InvalidParameterError("x", "y"), ValueError)


def test_invalid_batch_arguments(generator):
    with pytest.raises(InvalidParameterError, match="prompts: must be a list of prompt strings, got str"):
        generator.generate_batch("anime fox")
    with pytest.raises(InvalidParameterError, match="seed: 4294967295 is too large for 2 images"):
        generator.generate_batch(["a", "b"], seed=2**32 - 1)


def test_lazy_load_on_first_use(tiny_settings):
    fresh = SDTurboGenerator(settings=tiny_settings)
    assert not fresh.engine.loaded
    fresh.generate("anime fox", seed=1, width=256, height=256)
    assert fresh.engine.loaded and fresh.is_random_model


def test_public_names_from_generate_image():
    import generate_image

    assert generate_image.SDTurboGenerator is SDTurboGenerator
    assert callable(generate_image.main)


def test_generated_images_carry_their_settings_and_save_writes_them(generator, tmp_path):
    """The Python API keeps "every image carries its settings": image.info, and SDTurboGenerator.save."""
    from sdturbo.library.infotext import parse_parameters
    from sdturbo.metadata import read_parameters

    image = generator.generate("anime fox", num_inference_steps=2, seed=31, width=256, height=256)
    fields = parse_parameters(image.info["parameters"]).fields
    assert (fields["Seed"], fields["Steps"], fields["Size"], fields["RNG"]) == ("31", "2", "256x256", "CPU")
    for name in ("fox.png", "fox.jpg", "fox.webp"):
        assert read_parameters(generator.save(image, tmp_path / name)) == image.info["parameters"]


def test_out_of_memory_empties_the_cuda_cache_and_reaches_the_batcher(generator, monkeypatch):
    """The batcher splits a batch that raised (tests/test_batching.py); the engine first gives the memory back."""
    import torch

    from sdturbo.schema import GenerationRequest

    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True))

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(type(generator.engine.pipe), "__call__", out_of_memory)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        generator.engine.generate([GenerationRequest("anime fox", 1, width=256, height=256)])
    assert emptied == [True]
