import pytest
import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

from sdturbo.engine import random_models
from sdturbo.engine.random_models import build_random_pipeline, random_model_dir


def test_tiny_is_real_classes_loaded_back_with_from_pretrained(tiny_settings):
    folder = random_model_dir("tiny", tiny_settings.cache_dir)
    pipe = StableDiffusionPipeline.from_pretrained(folder)
    assert isinstance(pipe.unet, UNet2DConditionModel)
    assert isinstance(pipe.vae, AutoencoderKL)
    assert isinstance(pipe.text_encoder, CLIPTextModel)
    assert isinstance(pipe.tokenizer, CLIPTokenizer)
    assert isinstance(pipe.scheduler, EulerDiscreteScheduler)
    assert pipe.scheduler.config.timestep_spacing == "trailing"
    assert pipe.tokenizer.model_max_length == 77
    # four VAE levels: latents are H/8 as in SD-Turbo, so 512x512 runs on 64x64 latents
    assert len(pipe.vae.config.block_out_channels) == 4 and pipe.vae_scale_factor == 8


def test_cache_is_reused_not_rebuilt(tmp_path, monkeypatch):
    first = random_model_dir("tiny", tmp_path)
    monkeypatch.setattr(random_models, "build_random_pipeline", lambda *a: pytest.fail("rebuilt a cached model"))
    assert random_model_dir("tiny", tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no staging folders left behind


def test_builds_are_identical(tmp_path):
    a = build_random_pipeline("tiny", tmp_path / "a").unet.state_dict()
    b = build_random_pipeline("tiny", tmp_path / "b").unet.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_full_size_architecture_matches_sd_turbo(tmp_path):
    with torch.device("meta"):  # shapes only: no 5 GB of random weights on a CPU test machine
        pipe = build_random_pipeline("random-full", tmp_path)

    def millions(module):
        return round(sum(p.numel() for p in module.parameters()) / 1e6, 1)

    assert (millions(pipe.unet), millions(pipe.vae), millions(pipe.text_encoder)) == (865.9, 83.7, 340.4)


def test_unknown_random_model(tmp_path):
    with pytest.raises(ValueError, match="unknown random model 'huge'"):
        build_random_pipeline("huge", tmp_path)
