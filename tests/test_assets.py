import hashlib
import json

import numpy as np
import pytest
from PIL import Image

import anime_usecase
from sdturbo import assets
from sdturbo.assets import catalog, generate_anime_assets, prompts_of
from sdturbo.assets.contact_sheet import sheet_size
from sdturbo.errors import InvalidParameterError
from sdturbo.metadata import read_parameters

SMALL = dict(per_category=2, steps=1, width=256, height=256, progress=False)
TWO = ["creature_designs", "props_items"]


def run(out, studio, **kwargs):
    return generate_anime_assets(out, **{"categories": TWO, **SMALL, **kwargs}, studio=studio)


@pytest.mark.slow  # ~3 s: every catalog prompt through MiniLM; the default suite's time budget
def test_catalog_has_the_promised_categories_and_every_prompt_passes(validator):
    expected = {
        "character_concepts",
        "scene_backgrounds",
        "action_effects",
        "creature_designs",
        "environmental_elements",
        "props_items",
        "character_turnarounds",
    }
    assert expected <= set(catalog())
    for category in catalog():
        prompts = prompts_of(category)
        assert len(prompts) == len(set(prompts)) >= 12
        for prompt in prompts:
            verdict = validator.validate(prompt)
            assert verdict.allowed, (category, prompt, verdict.reasons)


def test_layout_manifest_and_hashes(tmp_path, studio, pipe_calls):
    manifest = run(tmp_path, studio)
    assert max(pipe_calls) > 1  # batches, not one call per image
    assert manifest["run"] == {
        "seed": 0,
        "steps": 1,
        "width": 256,
        "height": 256,
        "style": "anime",
        "model": "tiny-random",
    }
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert [(e["category"], e["index"]) for e in manifest["images"]] == [(c, i) for c in TWO for i in range(2)]
    for entry in manifest["images"]:
        path = tmp_path / entry["file"]
        assert path.parent.name == entry["category"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert read_parameters(path).split("\n")[0] == entry["effective_prompt"]
        assert entry["effective_prompt"].startswith(entry["prompt"])
        assert {"seed", "steps", "width", "height", "elapsed_ms", "model"} <= set(entry)
    assert manifest["summary"]["images"] == 4 and manifest["summary"]["generated"] == 4


def test_contact_sheets_have_the_grid_size(tmp_path, studio):
    run(tmp_path, studio)
    with Image.open(tmp_path / "contact_sheet.png") as sheet:
        assert sheet.size == sheet_size(4, 256, 256)
    for category in TWO:
        with Image.open(tmp_path / category / "contact_sheet.png") as sheet:
            assert sheet.size == sheet_size(2, 256, 256)


def test_rerun_skips_finished_images_and_redoes_damaged_ones(tmp_path, studio, pipe_calls):
    first = run(tmp_path, studio)
    pipe_calls.clear()
    again = run(tmp_path, studio)
    assert pipe_calls == [] and again["summary"]["generated"] == 0 and again["summary"]["skipped"] == 4
    damaged = tmp_path / first["images"][1]["file"]
    original = np.asarray(Image.open(damaged), dtype=np.float32)
    damaged.write_bytes(b"damaged")
    repaired = run(tmp_path, studio)
    assert pipe_calls == [1] and repaired["summary"]["generated"] == 1
    # made alone instead of in a batch of two: the same image up to float rounding (one uint8 level)
    assert np.abs(np.asarray(Image.open(damaged), dtype=np.float32) - original).max() <= 1.0
    assert repaired["images"][1]["sha256"] == hashlib.sha256(damaged.read_bytes()).hexdigest()


def test_interrupted_run_finishes_on_rerun(tmp_path, studio, monkeypatch):
    real_run, calls = studio.run, []

    def crash_after_first_batch(requests):
        calls.append(len(requests))
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_run(requests)

    monkeypatch.setattr(studio, "run", crash_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, studio)
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert len(saved["images"]) == 2  # the first category's batch was kept
    monkeypatch.setattr(studio, "run", real_run)
    finished = run(tmp_path, studio)
    assert finished["summary"]["generated"] == 2 and len(finished["images"]) == 4


def test_same_seed_same_images_other_seed_other_images(tmp_path, studio):
    a = run(tmp_path / "a", studio)
    b = run(tmp_path / "b", studio)
    c = run(tmp_path / "c", studio, seed=5)
    assert [e["sha256"] for e in a["images"]] == [e["sha256"] for e in b["images"]]
    assert [e["sha256"] for e in a["images"]] != [e["sha256"] for e in c["images"]]


def test_more_images_per_category_extends_a_run(tmp_path, studio, pipe_calls):
    run(tmp_path, studio)
    pipe_calls.clear()
    bigger = run(tmp_path, studio, per_category=3)
    assert bigger["summary"]["generated"] == 2 and sum(pipe_calls) == 2


def test_other_settings_in_the_same_folder_need_force(tmp_path, studio):
    run(tmp_path, studio)
    with pytest.raises(InvalidParameterError, match="out_dir: .* holds a run with other settings"):
        run(tmp_path, studio, steps=2)
    replaced = run(tmp_path, studio, steps=2, force=True)
    assert replaced["run"]["steps"] == 2 and replaced["summary"]["generated"] == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"categories": ["dragons"]}, "categories: unknown \\['dragons'\\]; choose from character_concepts"),
        ({"categories": []}, "categories: unknown empty list"),
        ({"per_category": 99}, "per_category: must be an integer from 1 to 32, got 99"),
        ({"per_category": 0}, "per_category: must be an integer from 1 to"),
        ({"steps": 9}, "steps: must be an integer from 1 to 4, got 9"),
        ({"width": 500}, "width: must be an integer from 256 to 1024"),
        ({"seed": -1}, "seed: must be an integer from 0"),
        ({"style": "vaporwave"}, "style: must be one of"),
    ],
)
def test_bad_arguments_raise_before_any_work(tmp_path, studio, pipe_calls, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        run(tmp_path / "out", studio, **kwargs)
    assert pipe_calls == [] and not (tmp_path / "out").exists()


def test_unwritable_folder(tmp_path, studio):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidParameterError, match="out_dir: cannot write to"):
        run(blocker / "sub", studio)


def test_cli_list_and_errors(capsys):
    assert anime_usecase.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "creature_designs: Creature designs" in out and prompts_of("props_items")[0] in out
    assert anime_usecase.main(["--categories", "dragons", "--model", "tiny"]) == 2
    assert "--categories: unknown ['dragons']" in capsys.readouterr().err
    assert anime_usecase.main(["--per-category", "100", "--model", "tiny"]) == 2
    assert "--per-category: must be an integer from 1 to 18, got 100" in capsys.readouterr().err


def test_cli_run_with_the_tiny_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDTURBO_VALIDATOR_MODEL", "none")
    argv = [
        "--model",
        "tiny",
        "--device",
        "cpu",
        "--categories",
        "action_effects",
        "--per-category",
        "1",
        "--steps",
        "1",
        "--width",
        "256",
        "--height",
        "256",
        "--out",
        str(tmp_path),
    ]
    assert anime_usecase.main(argv) == 0
    assert "1 images (1 new, 0 already done)" in capsys.readouterr().out
    assert (tmp_path / "action_effects" / "contact_sheet.png").exists()


def test_seeds_do_not_depend_on_which_categories_run():
    alone = assets.plan(["props_items"], 2, 0)
    together = [s for s in assets.plan(None, 2, 0) if s.category == "props_items"]
    assert alone == together
