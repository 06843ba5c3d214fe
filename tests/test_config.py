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


def test_every_field_reads_its_own_variable_with_the_fields_default(monkeypatch):
    """from_env is derived from the fields: defaults are written once, in the dataclass."""
    import dataclasses

    from sdturbo.config import env_name

    fields = {f.name: f for f in dataclasses.fields(Settings)}
    assert env_name(fields["max_batch_size"]) == "SDTURBO_MAX_BATCH"
    assert env_name(fields["request_timeout_s"]) == "SDTURBO_TIMEOUT_S"
    assert env_name(fields["http_threads"]) == "SDTURBO_HTTP_THREADS"
    monkeypatch.delenv("SDTURBO_CACHE_DIR")  # set by the test session
    assert Settings.from_env() == Settings()
    values = {"port": ("5001", 5001), "max_wait_ms": ("2.5", 2.5), "host": ("0.0.0.0", "0.0.0.0")}
    for name, (text, _) in values.items():
        monkeypatch.setenv(env_name(fields[name]), text)
    s = Settings.from_env()
    assert {name: getattr(s, name) for name in values} == {name: value for name, (_, value) in values.items()}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SDTURBO_PORT", "70000", "SDTURBO_PORT: must be an integer from 1 to 65535, got 70000"),
        ("SDTURBO_MAX_WAIT_MS", "soon", "SDTURBO_MAX_WAIT_MS: must be a number, got 'soon'"),
        ("SDTURBO_COMPILE_SIZES", "512x100", "SDTURBO_COMPILE_SIZES height: must be an integer from 256"),
        ("SDTURBO_OPTIMIZE", "warp", "SDTURBO_OPTIMIZE: unknown optimization 'warp'"),
        ("SDTURBO_HTTP_THREADS", "-1", "SDTURBO_HTTP_THREADS: must be an integer from 0 to 1024, got -1"),
        (
            "SDTURBO_LIBRARY_RETAIN",
            "some",
            "SDTURBO_LIBRARY_RETAIN: must be 'all' or a whole number from 1, got 'some'",
        ),
        ("SDTURBO_LIBRARY_RETAIN", "0", "SDTURBO_LIBRARY_RETAIN: must be 'all' or a whole number from 1, got 0"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidParameterError, match=message):
        Settings.from_env()


def test_an_explicit_value_is_named_as_the_field_even_when_the_variable_is_set(monkeypatch):
    monkeypatch.setenv("SDTURBO_PORT", "5001")
    with pytest.raises(InvalidParameterError, match="^port: must be an integer"):
        Settings.from_env(port=0)


def test_gunicorn_config_reads_the_same_settings(monkeypatch):
    import runpy

    monkeypatch.setenv("SDTURBO_HOST", "0.0.0.0")
    monkeypatch.setenv("SDTURBO_PORT", "5055")
    monkeypatch.setenv("SDTURBO_HTTP_THREADS", "8")
    conf = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    assert (conf["bind"], conf["threads"], conf["workers"]) == ("0.0.0.0:5055", 8, 1)
    monkeypatch.setenv("SDTURBO_PORT", "http")
    with pytest.raises(InvalidParameterError, match="SDTURBO_PORT: must be an integer, got 'http'"):
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))


def test_optimizations_are_a_typed_flag():
    from sdturbo.config import Optimization

    chosen = Settings(optimize="compile,channels_last").optimize
    assert chosen == Optimization.CHANNELS_LAST | Optimization.COMPILE
    assert Optimization.COMPILE in chosen and Optimization.FUSE_QKV not in chosen
    assert Settings(optimize="none").optimize == Optimization.NONE == Settings(optimize="").optimize
    assert Settings(optimize=Optimization.FAST).optimize.labels == Optimization.FAST.labels
    with pytest.raises(InvalidParameterError, match="optimize: must be a comma list"):
        Settings(optimize=3)


def test_a_flag_wins_over_a_malformed_variable_which_is_not_read(monkeypatch):
    monkeypatch.setenv("SDTURBO_PORT", "abc")
    assert Settings.from_env(port=5999).port == 5999


def test_a_bad_variable_is_reported_by_its_name_on_the_command_line(monkeypatch, capsys, tmp_path):
    from sdturbo.cli.generate import main

    monkeypatch.setenv("SDTURBO_MAX_BATCH", "100")
    assert main(["--model", "tiny", "--out", str(tmp_path)]) == 2
    assert "error: SDTURBO_MAX_BATCH: must be an integer from 1 to 64, got 100" in capsys.readouterr().err


def test_the_library_folder_defaults_beside_user_data_and_can_be_off(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings().library == tmp_path / "sdturbo" / "library"
    assert Settings().library_retain is None  # "all"
    monkeypatch.setenv("SDTURBO_LIBRARY", "off")
    monkeypatch.setenv("SDTURBO_LIBRARY_RETAIN", "500")
    assert (Settings.from_env().library, Settings.from_env().library_retain) == (None, 500)
    assert Settings.from_env(library="~/art").library == Path.home() / "art"
