import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import anime_usecase
from sdturbo import assets
from sdturbo.assets import catalog, generate_anime_assets, prompts_of
from sdturbo.assets.contact_sheet import sheet_size
from sdturbo.errors import InvalidParameterError
from sdturbo.metadata import read_parameters
from tests import disk

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


ONE = dict(categories=["props_items"], per_category=1)
RUN = {"seed": 0, "steps": 1, "width": 256, "height": 256, "style": "anime", "model": "tiny-random"}


@pytest.mark.parametrize("failing", ["000-", "manifest.json", "contact_sheet.png"])
def test_full_disk_raises_and_leaves_every_file_whole(tmp_path, studio, monkeypatch, failing):
    run(tmp_path, studio, **ONE)
    [image] = (tmp_path / "props_items").glob("000-*.png")
    image.write_bytes(b"damaged")  # so the rerun writes an image, the manifest and the sheets
    before = disk.files(tmp_path)
    disk.full(monkeypatch, tmp_path, only=failing)
    with pytest.raises(OSError, match="No space left on device") as caught:
        run(tmp_path, studio, **ONE)
    failed = str(Path(caught.value.filename).relative_to(tmp_path))
    assert failing in failed and not failed.endswith(".tmp")  # names the file it could not write
    after = disk.files(tmp_path)
    assert after.keys() == before.keys()  # no temporary file left
    assert after[failed] == before[failed]  # the old file is whole, not truncated


def _manifest(**entry):
    good = {"category": "props_items", "index": 0, "prompt": "p", "seed": 0, "file": "props_items/000-p.png"}
    return {"run": RUN, "images": [{**good, "sha256": "0" * 64, **entry}]}


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ([], "the top level is a JSON array, not an object"),
        ("text", "the top level is a JSON string, not an object"),
        ({"run": RUN}, "'images' is missing"),
        ({"run": [], "images": []}, "'run' must be an object, got a JSON array"),
        ({"run": RUN, "images": {}}, "'images' must be an array, got a JSON object"),
        ({"run": RUN, "images": [7]}, "images[0] must be an object, got a JSON number"),
        ({"run": RUN, "images": [{"category": "props_items"}]}, "images[0].index is missing"),
        (_manifest(sha256=None), "images[0].sha256 must be a string, got null"),
        (_manifest(index="0"), "images[0].index must be an integer, got a JSON string"),
        (_manifest(index=True), "images[0].index must be an integer, got true"),
        (_manifest(category="dragons"), "images[0].category 'dragons' is not in the catalog"),
        (_manifest(index=5, file="../outside.png"), "images[0].file '../outside.png' is not a file of props_items/"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_refused_and_kept(tmp_path, studio, pipe_calls, manifest, problem):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(InvalidParameterError) as caught:
        run(tmp_path, studio, **ONE)
    assert str(caught.value).startswith(f"out_dir: {path} is not a manifest of this tool: {problem}; ")
    assert pipe_calls == [] and path.read_text() == json.dumps(manifest)


def test_a_manifest_with_an_entry_twice_is_refused(tmp_path, studio):
    manifest = _manifest()
    manifest["images"] *= 2
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidParameterError, match=r"images\[1\] repeats props_items #0"):
        run(tmp_path, studio, **ONE)


def test_read_only_folder_is_refused_before_any_work(tmp_path, studio, pipe_calls, monkeypatch):
    disk.read_only(monkeypatch, tmp_path)
    with pytest.raises(InvalidParameterError, match=f"out_dir: cannot write to '{tmp_path}': Read-only file system"):
        run(tmp_path, studio, **ONE)
    assert pipe_calls == [] and disk.files(tmp_path) == {}


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


CLI_SMALL = ["--model", "tiny", "--device", "cpu", "--categories", "props_items", "--per-category", "1"]
CLI_SMALL += ["--steps", "1", "--width", "256", "--height", "256"]


def one_line(err: str) -> str:
    """The error line of a failed run's stderr, checked to be its last line and the only one, no traceback
    (the libraries' load-time warnings and log lines may come before it)."""
    errors = [line for line in err.splitlines() if line.startswith("anime_usecase.py: error:")]
    assert len(errors) == 1 and err.strip().endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def test_cli_full_disk_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDTURBO_VALIDATOR_MODEL", "none")
    disk.log_to_this_stderr(monkeypatch)
    disk.full(monkeypatch, tmp_path)
    assert anime_usecase.main([*CLI_SMALL, "--out", str(tmp_path)]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"cannot write '{tmp_path / 'props_items'}/000-" in err and ".png': No space left on device" in err
    assert "free some space or choose another --out" in err
    assert disk.files(tmp_path) == {}


def test_cli_manifest_of_the_wrong_shape_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDTURBO_VALIDATOR_MODEL", "none")
    (tmp_path / "manifest.json").write_text("[]")
    assert anime_usecase.main([*CLI_SMALL, "--out", str(tmp_path)]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"--out: {tmp_path / 'manifest.json'} is not a manifest of this tool: the top level is a JSON array" in err
    assert "use --force to start over" in err
    assert disk.files(tmp_path) == {"manifest.json": b"[]"}


def test_seeds_do_not_depend_on_which_categories_run():
    alone = assets.plan(["props_items"], 2, 0)
    together = [s for s in assets.plan(None, 2, 0) if s.category == "props_items"]
    assert alone == together
