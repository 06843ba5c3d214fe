from pathlib import Path

import pytest

from sdturbo.config import DEFAULT_MODEL, Settings
from sdturbo.errors import InvalidParameterError


def test_defaults_without_env():
    s = Settings.from_env()
    assert (s.model, s.device, s.dtype, s.attention, s.max_batch_size) == (DEFAULT_MODEL, "auto", "auto", "auto", 8)


def test_env_vars_point_unchanged_code_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv("SDTURBO_MODEL", "tiny")
    monkeypatch.setenv("SDTURBO_DEVICE", "cpu")
    monkeypatch.setenv("SDTURBO_MAX_BATCH", "3")
    monkeypatch.setenv("SDTURBO_CACHE_DIR", str(tmp_path))
    s = Settings.from_env()
    assert (s.model, s.device, s.max_batch_size, s.cache_dir) == ("tiny", "cpu", 3, Path(tmp_path))


def test_explicit_values_beat_env(monkeypatch):
    monkeypatch.setenv("SDTURBO_MODEL", "tiny")
    assert Settings.from_env(model="some/model", device=None).model == "some/model"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("device", "tpu", "device: must be one of auto, cpu, cuda, cuda:N, mps, got 'tpu'"),
        ("device", "cuda:x", "device: must be one of"),
        ("dtype", "fp8", "dtype: must be one of auto, fp16, bf16, fp32, got 'fp8'"),
        ("attention", "flash", "attention: must be one of auto, sdpa, xformers, sdpa-flash, .*got 'flash'"),
        ("compile_sizes", "512", "compile_sizes: '512' is not a size; write WIDTHxHEIGHT"),
        ("compile_sizes", "512x500", "compile_sizes height: must be an integer from 256 to 1024 in multiples of 64"),
        ("compile_sizes", "", "compile_sizes: must name at least one size"),
        ("compile_sizes", ",".join(f"{w}x512" for w in range(256, 1025, 64)), "compile_sizes: at most 8 sizes, got 13"),
        ("compile_sizes", ((512,),), r"compile_sizes: \(512,\) is not a \(width, height\) pair"),
        ("max_batch_size", 0, "max_batch_size: must be an integer from 1 to 64, got 0"),
        ("model", " ", "model: must be a hub id"),
    ],
)
def test_invalid_values_raise_with_field(field, value, message):
    with pytest.raises(InvalidParameterError, match=message):
        Settings(**{field: value})


def test_bad_env_int_names_variable(monkeypatch):
    monkeypatch.setenv("SDTURBO_MAX_BATCH", "many")
    with pytest.raises(InvalidParameterError, match="SDTURBO_MAX_BATCH: must be an integer, got 'many'"):
        Settings.from_env()


def test_style_and_validator_model_from_env(monkeypatch):
    monkeypatch.setenv("SDTURBO_STYLE", "chibi")
    monkeypatch.setenv("SDTURBO_VALIDATOR_MODEL", "none")
    s = Settings.from_env()
    assert (s.style, s.validator_model) == ("chibi", "none")
    with pytest.raises(InvalidParameterError, match="style: must be one of anime, cel, .*got 'retro'"):
        Settings(style="retro")


def test_compile_sizes_parse_from_text_and_env(monkeypatch):
    assert Settings().compile_sizes == ((512, 512),)
    assert Settings(compile_sizes=" 512x512, 768X512,512x512").compile_sizes == ((512, 512), (768, 512))
    monkeypatch.setenv("SDTURBO_COMPILE_SIZES", "1024x1024")
    assert Settings.from_env().compile_sizes == ((1024, 1024),)
