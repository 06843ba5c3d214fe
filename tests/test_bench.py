"""The benchmark harnesses run end to end on the tiny model, so they never rot."""

import json

from bench import engine_bench


def test_engine_bench_quick_writes_markdown_and_json(tmp_path, capsys):
    argv = [
        "--model",
        "tiny",
        "--quick",
        "--device",
        "cpu",
        "--optimize",
        "channels_last,uint8_decode",
        "--out",
        str(tmp_path),
    ]
    assert engine_bench.main(argv) == 0
    report = (tmp_path / "engine_bench.md").read_text()
    assert report == capsys.readouterr().out.rstrip("\n") + "\n"
    assert "| 256² | 1 |" in report and "speed-up" in report and "| vae_decode |" in report
    data = json.loads((tmp_path / "engine_bench.json").read_text())
    assert data["environment"]["diffusers"] and data["environment"]["device"].startswith("CPU")
    for side in ("stock", "ours"):
        assert [r["batch"] for r in data[side]["sweep"]] == [1, 2]
        assert all(r["ms_per_image"] > 0 for r in data[side]["rows"])
        assert set(data[side]["split"]) == {"text_encoder", "unet", "vae_decode", "to_pil"}
