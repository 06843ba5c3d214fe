import shutil

import pytest
import torch

from sdturbo.config import Settings
from sdturbo.engine.loading import resolve_source
from sdturbo.engine.random_models import random_model_dir
from sdturbo.errors import InvalidParameterError, ModelLoadError
from sdturbo.generator import SDTurboGenerator


def _load(model, tiny_settings):
    return SDTurboGenerator(settings=Settings(model=str(model), device="cpu", cache_dir=tiny_settings.cache_dir)).load()


def test_local_folder_loads_through_from_pretrained(tiny_settings, tmp_path):
    folder = shutil.copytree(random_model_dir("tiny", tiny_settings.cache_dir), tmp_path / "my-sd-turbo")
    generator = _load(folder, tiny_settings)
    assert generator.engine.source.kind == "local"
    assert generator.engine.source.label == "my-sd-turbo"
    assert generator.generate("anime fox", seed=1, width=256, height=256).size == (256, 256)


def test_missing_folder_says_how_to_get_the_model(tiny_settings, tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist.*hf download stabilityai/sd-turbo --local-dir DIR"):
        _load(tmp_path / "nope", tiny_settings)


def test_incomplete_folder_names_missing_parts(tiny_settings, tmp_path):
    folder = shutil.copytree(random_model_dir("tiny", tiny_settings.cache_dir), tmp_path / "partial")
    shutil.rmtree(folder / "tokenizer")
    for weights in (folder / "unet").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(ModelLoadError, match=r"missing unet/\*\.safetensors, tokenizer/.*partial download"):
        _load(folder, tiny_settings)


def test_wrong_layout_is_wrapped(tiny_settings, tmp_path):
    folder = shutil.copytree(random_model_dir("tiny", tiny_settings.cache_dir), tmp_path / "broken")
    (folder / "model_index.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="Could not load the model in .*broken"):
        _load(folder, tiny_settings)


def test_hub_id_offline_without_cache_explains(tiny_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE is set.*--model DIR"):
        _load("nobody-here/not-a-model", tiny_settings)


def test_source_kinds(tiny_settings, tmp_path):
    assert resolve_source("stabilityai/sd-turbo", tmp_path).kind == "hub"
    assert resolve_source("stabilityai/sd-turbo", tmp_path).label == "sd-turbo"
    assert resolve_source("tiny", tiny_settings.cache_dir).is_random
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_source("./models/sd-turbo", tmp_path)


def test_unavailable_device_is_a_parameter_error(tiny_settings):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidParameterError, match="device: 'cuda' was asked for but CUDA is not available"):
        SDTurboGenerator(settings=Settings(model="tiny", device="cuda", cache_dir=tiny_settings.cache_dir)).load()


def test_fp16_on_cpu_is_refused(tiny_settings):
    with pytest.raises(InvalidParameterError, match="dtype: fp16 is not supported on the CPU; use fp32 or bf16"):
        SDTurboGenerator(
            settings=Settings(model="tiny", device="cpu", dtype="fp16", cache_dir=tiny_settings.cache_dir)
        ).load()


def test_bf16_on_cpu_generates_in_bf16(tiny_settings):
    import torch

    generator = SDTurboGenerator(
        settings=Settings(model="tiny", device="cpu", dtype="bf16", cache_dir=tiny_settings.cache_dir)
    )
    assert generator.generate("anime fox", seed=3, width=256, height=256).size == (256, 256)
    # every weight stays in the chosen precision once image-to-image shares the modules (diffusers'
    # from_pipe had cast them all to float32: on the H200, 2026-11-26, twice the memory, 1.3-1.7x slower)
    engine = generator.engine
    for name in ("unet", "vae", "text_encoder"):
        assert getattr(engine.img2img, name) is getattr(engine.pipe, name), name  # one copy of the weights
        assert {p.dtype for p in getattr(engine.pipe, name).parameters()} == {torch.bfloat16}, name


def test_xformers_request_falls_back_to_sdpa_on_cpu(tiny_settings, caplog):
    generator = SDTurboGenerator(
        settings=Settings(model="tiny", device="cpu", attention="xformers", cache_dir=tiny_settings.cache_dir)
    ).load()
    assert generator.engine.attention == "sdpa"
    assert "using PyTorch SDPA" in caplog.text


def test_loading_is_logged_with_duration(tiny_settings, caplog):
    caplog.set_level("INFO")
    _load("tiny", tiny_settings)
    assert any("loaded" in r.message and r.message.endswith(" s") for r in caplog.records)
    assert "random weights: its images are noise" in caplog.text


def test_attention_choices_per_device_dtype_and_compile(monkeypatch):
    from sdturbo.engine import device as dev

    monkeypatch.setattr(dev.importlib.util, "find_spec", lambda name: object())  # "xformers is installed"
    cuda = torch.device("cuda")  # a device object only: nothing runs on it
    assert dev.resolve_attention("auto", cuda, torch.float16) == "xformers"
    assert dev.resolve_attention("auto", cuda, torch.float16, compiled=True) == "sdpa"  # inductor fuses SDPA
    assert dev.resolve_attention("xformers", cuda, torch.float16, compiled=True) == "xformers"  # asked for
    assert dev.resolve_attention("sdpa-cudnn", cuda, torch.bfloat16) == "sdpa-cudnn"
    for kernel in ("sdpa-flash", "sdpa-cudnn"):
        with pytest.raises(InvalidParameterError, match=f"attention: {kernel} on CUDA needs fp16 or bf16"):
            dev.resolve_attention(kernel, cuda, torch.float32)
    with pytest.raises(InvalidParameterError, match="attention: sdpa-cudnn does not run on mps; use sdpa, sdpa-math"):
        dev.resolve_attention("sdpa-cudnn", torch.device("mps"))
