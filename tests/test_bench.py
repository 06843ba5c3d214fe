"""The benchmark harnesses run end to end on the tiny model, so they never rot."""

import json

import pytest

from bench import engine_bench, serve_bench
from tests.net import free_port


@pytest.mark.slow  # ~2.5 s: the default suite's time budget
def test_engine_bench_quick_writes_markdown_and_json(tmp_path, capsys):
    argv = [
        "--model",
        "tiny",
        "--quick",
        "--device",
        "cpu",
        "--optimize",
        "channels_last,uint8_decode,prompt_cache",
        "--profile",
        "--out",
        str(tmp_path),
    ]
    assert engine_bench.main(argv) == 0
    profile = (tmp_path / "profile.txt").read_text()
    assert "## a new prompt" in profile and "## the same prompt again" in profile and "aten::" in profile
    report = (tmp_path / "engine_bench.md").read_text()
    assert report == capsys.readouterr().out.rstrip("\n") + "\n"
    assert "| 256² | 1 |" in report and "speed-up" in report and "| vae_decode |" in report
    data = json.loads((tmp_path / "engine_bench.json").read_text())
    assert data["environment"]["diffusers"] and data["environment"]["device"].startswith("CPU")
    for side in ("stock", "ours"):
        assert [r["batch"] for r in data[side]["sweep"]] == [1, 2]
        assert all(r["ms_per_image"] > 0 for r in data[side]["rows"])
        assert set(data[side]["split"]) == {"text_encoder", "unet", "vae_decode", "to_pil"}
    assert data["ours"]["new_prompt_embeds_ms"] > 0


def _figures(ms_512, stock_512, peak, images_per_s):
    memory = {"reserved": peak - 0.5, "device": peak}
    rows = [{"size": 512, "steps": 1, "ms_per_image": ms_512, "memory_gb": memory}]
    rows.append({"size": 1024, "steps": 4, "ms_per_image": 200.0, "memory_gb": memory})
    ours = {
        "rows": rows,
        "sweep": [{"batch": 1, "images_per_s": 1000 / ms_512}, {"batch": 16, "images_per_s": images_per_s}],
    }
    stock = {"rows": [{"size": 512, "steps": 1, "ms_per_image": stock_512}]}
    return stock, ours


def test_targets_are_judged_only_on_cuda():
    stock, ours = _figures(10.0, 31.0, 3.9, 160.0)
    assert engine_bench.targets(stock, ours, on_cuda=False) == [
        "Targets are for one H100 and are not judged on this device."
    ]
    judged = engine_bench.targets(stock, ours, on_cuda=True)
    assert judged[0] == "- 512² 1 step batch 1: 10.0 ms (≤ 12: met), 3.10× stock (≥ 3×: met)"
    assert judged[1] == "- GPU memory in use at 512² batch 1: 3.9 GB (≤ 4.2: met)"
    assert judged[2] == "- batched: 160.0 images/s at batch 16 (≥ 150: met)"
    assert judged[3] == "- 512² 1 step(s): 8.0× the seed's RTX 4070 80 ms (≥ 4×: met)"
    assert judged[4] == "- 1024² 4 step(s): 4.2× the seed's RTX 4070 850 ms (≥ 4×: met)"
    compiled = engine_bench.targets(stock, ours, on_cuda=True, graph_batches=16)
    assert "not judged: this run also holds compiled graphs for batches up to 16" in compiled[1]
    stock, ours = _figures(13.0, 26.0, 4.5, 100.0)
    assert [line.count("NOT met") for line in engine_bench.targets(stock, ours, on_cuda=True)] == [2, 1, 1, 0, 0]


def test_rows_batches_and_warm_shapes(capsys):
    assert engine_bench.parse_rows("512:1,768:2") == [(512, 1), (768, 2)]
    assert engine_bench.warm_shapes([(512, 1), (512, 2), (768, 2)], [1, 2, 16]) == [
        (1, 512, 512),
        (2, 512, 512),
        (16, 512, 512),
        (1, 768, 768),
    ]
    for bad, message in [
        ("512", "must be SIDE:STEPS pairs like 512:1,768:2, got '512'"),
        ("500:1", "rows side: must be an integer from 256 to 1024 in multiples of 64, got 500"),
        ("512:5", "rows steps: must be an integer from 1 to 4, got 5"),
        ("512:x", "must be SIDE:STEPS pairs"),
    ]:
        with pytest.raises(SystemExit):
            engine_bench.main(["--model", "tiny", "--rows", bad])
        assert f"argument --rows: {message}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        engine_bench.main(["--model", "tiny", "--batches", "0"])
    assert "argument --batches: batches: must be an integer from 1 to 64, got 0" in capsys.readouterr().err


@pytest.mark.slow  # starts a server and runs the bench: ~20-45 s
def test_serve_bench_runs_end_to_end(tmp_path, capsys):
    """Both servers on the loopback, a few requests each, and the direct comparison (~30 s)."""
    argv = ["--model", "tiny", "--device", "cpu", "--port", str(free_port(consecutive=4)), "--logs", str(tmp_path)]
    argv += [
        "--sequential",
        "3",
        "--clients",
        "2",
        "--per-client",
        "2",
        "--max-batch",
        "2",
        "--optimize",
        "uint8_decode",
    ]
    assert serve_bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "optimize ['uint8_decode']" in out
    assert "| zero-cost engine, sequential, anime prompts, library off | 3 |" in out
    assert "| zero-cost engine, sequential, anime prompts, library on | 3 |" in out
    assert "| tiny, sequential, library off | 3 |" in out and "| tiny, sequential, library on | 3 |" in out
    assert "| tiny, 2 concurrent clients, library on | 4 |" in out and "{200: 4}" in out
    assert "served/direct with 2 clients:" in out
    assert (tmp_path / "server.log").stat().st_size > 0
    assert len(list((tmp_path / "library").glob("images/*/*.png"))) == 3 + 4  # its own library, not the user's


@pytest.mark.slow  # starts a tiny-model server and loads the model again in-process: ~30 s
def test_variations_bench_runs_end_to_end(capsys):
    from bench import variations_bench

    argv = ["--model", "tiny", "--device", "cpu", "--rounds", "1", "--size", "256", "--port", str(free_port())]
    assert variations_bench.main(argv) == 0
    out = capsys.readouterr().out
    for row in ("server, text-to-image", "server, image-to-image", "stock diffusers in-process, image-to-image"):
        assert f"| {row} |" in out


@pytest.mark.slow  # starts a zero-cost server subprocess: ~8 s
def test_dialect_bench_runs_end_to_end(capsys):
    from bench.dialect_bench import DIALECTS, main
    from tests.net import free_port

    assert main(["--count", "3", "--port", str(free_port())]) == 0  # every request answered 200
    out = capsys.readouterr().out
    assert all(f"`{path}`" in out for path in DIALECTS) and "| p50 / native |" in out


def test_dialect_bench_refuses_a_bad_count():
    from bench.dialect_bench import main

    with pytest.raises(SystemExit) as exit_:
        main(["--count", "0"])
    assert exit_.value.code == 2


@pytest.mark.slow  # starts a dev server on the tiny model and runs the three scenarios small: ~25 s
def test_load_test_runs_end_to_end(tmp_path, capsys):
    """A small load test against the dev server prints its table and targets (the targets are the script's
    to judge, so its exit status is not checked here)."""
    from bench import load_test

    argv = ["--server", "dev", "--port", str(free_port()), "--clients", "20", "--per-client", "2"]
    argv += ["--slow", "4", "--slow-s", "3", "--hangups", "10", "--logs", str(tmp_path), "--out", str(tmp_path)]
    assert load_test.main(argv) in (0, 1)
    out = capsys.readouterr().out
    assert "## dev: model tiny, cpu," in out and "| scenario | measure | value |" in out
    assert "| clients | sent / 200 / 4xx / 503 / 504 / other 5xx / hung / conn errors | 40 / " in out
    for row in ("| slow headers | /healthz p50 / p99 / max |", "| hang-ups | a normal user's generate right after |"):
        assert row in out
    assert "Targets:" in out and "- 10 hang-ups: a normal user got " in out
    assert len(list(tmp_path.glob("dev-*.md"))) == 1 and (tmp_path / "dev.log").stat().st_size > 0
