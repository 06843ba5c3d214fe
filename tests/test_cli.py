import pytest

from sdturbo.cli.generate import SAMPLE_PROMPTS, main
from sdturbo.metadata import read_parameters
from tests import disk

SMALL = ["--model", "tiny", "--prompt", "fox", "--seed", "0", "--width", "256", "--height", "256"]


def test_writes_pngs_with_parameters_chunk(tmp_path, capsys):
    assert main(["--model", "tiny", "--prompt", "anime fox", "--seed", "7", "--out", str(tmp_path)]) == 0
    [png] = tmp_path.glob("*.png")
    assert read_parameters(png) == (
        "anime fox, anime style, key visual, vibrant colors, clean lineart, detailed background\n"
        "Steps: 1, Sampler: Euler, CFG scale: 0, Seed: 7, Size: 512x512, Model: tiny-random, RNG: CPU"
    )
    assert png.name == "anime-fox-7-1step-512x512.png"  # named from the prompt the user typed
    out = capsys.readouterr().out
    assert "images are noise" in out and str(png) in out and "ms/image" in out


@pytest.mark.slow  # ~1.4 s; the same seed's same pixels are checked in the default suite (test_generator)
def test_same_seed_gives_byte_identical_files(tmp_path):
    args = ["--model", "tiny", "--prompt", "anime fox", "--seed", "7", "--width", "256", "--height", "256"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    [a], [b] = (tmp_path / "a").glob("*.png"), (tmp_path / "b").glob("*.png")
    assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_no_prompt_writes_the_sample_prompts_with_consecutive_seeds(tmp_path):
    argv = ["--model", "tiny", "--seed", "10", "--width", "256", "--height", "256", "--style", "none"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    texts = sorted(read_parameters(p) for p in tmp_path.glob("*.png"))
    assert [t.split("\n")[0] for t in texts] == sorted(SAMPLE_PROMPTS)
    assert sorted(int(t.split("Seed: ")[1].split(",")[0]) for t in texts) == [10, 11, 12, 13]


def test_out_of_domain_prompt_exits_2_with_suggestions_and_writes_nothing(tmp_path, capsys):
    argv = [
        "--model",
        "tiny",
        "--prompt",
        "a photorealistic portrait of a businessman, 85mm lens",
        "--prompt",
        "anime fox",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "out of this tool's domain (photographic)" in err and "85mm" in err
    assert "try: --prompt 'anime portrait of a businessman" in err
    assert not list(tmp_path.glob("*.png"))


def test_style_flag_sets_the_effective_prompt(tmp_path):
    argv = [
        "--model",
        "tiny",
        "--prompt",
        "a fox",
        "--style",
        "chibi",
        "--seed",
        "1",
        "--width",
        "256",
        "--height",
        "256",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    [png] = tmp_path.glob("*.png")
    assert read_parameters(png).startswith("chibi a fox, super deformed anime style")


def test_count_and_repeated_prompt_make_one_file_each(tmp_path):
    argv = [
        "--model",
        "tiny",
        "--prompt",
        "fox",
        "--prompt",
        "owl",
        "--count",
        "2",
        "--seed",
        "0",
        "--steps",
        "2",
        "--width",
        "256",
        "--height",
        "256",
        "--batch-size",
        "3",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert len(list(tmp_path.glob("*.png"))) == 4


@pytest.mark.slow  # the default suite's 90 s budget; CI runs -m slow
def test_never_overwrites_a_different_image(tmp_path):
    argv = [
        "--model",
        "tiny",
        "--prompt",
        "fox",
        "--seed",
        "0",
        "--width",
        "256",
        "--height",
        "256",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    [first] = tmp_path.glob("*.png")
    first.write_bytes(b"someone else's work")
    assert main(argv) == 0
    assert first.read_bytes() == b"someone else's work"
    assert len(list(tmp_path.glob("*.png"))) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "0"], "--steps: must be an integer from 1 to 4, got 0"),
        (["--steps", "9"], "--steps: must be an integer from 1 to 4, got 9"),
        (["--width", "500"], "--width: must be an integer from 256 to 1024 in multiples of 64, got 500"),
        (["--height", "4096"], "--height: must be an integer from 256 to 1024 in multiples of 64, got 4096"),
        (["--seed", "-1"], "--seed: must be an integer from 0 to 4294967295, got -1"),
        (["--seed", "1.5"], "--seed: must be an integer from 0 to 4294967295, got '1.5'"),
        (["--prompt", " "], "--prompt: must not be empty or only whitespace"),
        (["--device", "tpu"], "--device: must be one of auto, cpu, cuda, cuda:N, mps, got 'tpu'"),
        (["--count", "0"], "--count: must be an integer from 1 to 64, got 0"),
        (["--seed", "4294967295", "--prompt", "a", "--count", "2"], "--seed: 4294967295 is too large for 2 images"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--style", "vaporwave"], "--style: must be one of anime, cel, ghibli_like"),
        (["--device", "cpu", "--attention", "sdpa-cudnn"], "--attention: sdpa-cudnn does not run on cpu; use sdpa,"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, message, capsys, tmp_path):
    assert main(["--model", "tiny", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.rglob("*.png"))


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--model", "tiny", "--out", str(blocker / "sub")]) == 2
    assert "--out: cannot create folder" in capsys.readouterr().err


def one_line(err: str) -> str:
    """The error line of a failed run's stderr, checked to be its last line and the only one, no traceback
    (the libraries' load-time warnings may come before it)."""
    errors = [line for line in err.splitlines() if line.startswith("generate_image.py: error:")]
    assert len(errors) == 1 and err.strip().endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def test_full_disk_exits_1_with_one_line_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDTURBO_VALIDATOR_MODEL", "none")  # keyword rules only: faster, and not under test
    out = tmp_path / "out"
    out.mkdir()
    disk.full(monkeypatch, out, room=100)  # room for the PNG header, not the image
    disk.log_to_this_stderr(monkeypatch)
    assert main([*SMALL, "--out", str(out)]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"cannot write {str(out / 'fox-0-1step-256x256.png')!r}: No space left on device" in err
    assert "free some space or choose another --out" in err
    assert disk.files(out) == {}  # neither a truncated PNG nor a temporary file


def test_read_only_out_folder_exits_2_before_any_work(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    disk.read_only(monkeypatch, out)
    assert main([*SMALL, "--model", str(tmp_path / "not-loaded"), "--out", str(out)]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"--out: cannot write to folder {str(out)!r}: Read-only file system" in err
    assert disk.files(out) == {}


def test_read_only_cache_folder_exits_1_naming_it(tmp_path, capsys, monkeypatch):
    cache, out = tmp_path / "cache", tmp_path / "out"
    cache.mkdir()
    monkeypatch.setenv("SDTURBO_CACHE_DIR", str(cache))  # the tiny model is not built there yet
    monkeypatch.setenv("SDTURBO_VALIDATOR_MODEL", "none")
    disk.read_only(monkeypatch, cache)
    disk.log_to_this_stderr(monkeypatch)
    assert main([*SMALL, "--out", str(out)]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"cannot write to {str(cache)!r}: Read-only file system" in err
    assert "make it writable or set SDTURBO_CACHE_DIR to another folder" in err
    assert not list(cache.iterdir()) and disk.files(out) == {}


def test_missing_model_folder_exits_1_with_advice(tmp_path, capsys):
    assert main(["--model", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 1
    assert "hf download stabilityai/sd-turbo" in capsys.readouterr().err


def test_help_returns_0_and_documents_every_flag(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--prompt", "--steps", "--seed", "--width", "--height", "--count", "--out", "--model", "--device"):
        assert flag in out


def test_a_990_character_prompt_is_accepted_like_the_web_api_accepts_it(tmp_path, capsys):
    prompt = "anime fox " * 99
    argv = ["--model", "tiny", "--device", "cpu", "--width", "256", "--height", "256", "--seed", "1"]
    assert main([*argv, "--prompt", prompt, "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.png"))) == 1
    assert main([*argv, "--prompt", prompt + "x" * 11, "--out", str(tmp_path / "no")]) == 2
    assert "--prompt: must be at most 1000 characters, got 1001" in capsys.readouterr().err
