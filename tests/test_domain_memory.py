"""The embedding stage's memory of labelled prompts: the shipped file, its builder and its errors."""

from pathlib import Path

import pytest

from sdturbo.domain import DomainValidator
from sdturbo.domain.labelled import CLASSES, MEMORY_FILE, load_memory, read_tsv
from sdturbo.domain.memory import build, classify, main
from sdturbo.errors import InvalidParameterError

DATA = Path(__file__).parent / "data"
# sets scored as tests: what the memory holds would score itself, so none of them may be in it
# round 34: written and scored once at the end of a session (2026-11-26, 056dcb2), kept out of the memory as the
# next session's untouched baseline
HELD_OUT = (
    "domain_holdout.tsv",
    "domain_borderline_test37a.tsv",
    "domain_borderline_test37b.tsv",
    "domain_tags_test38.tsv",
    "domain_multilingual_test38.tsv",
)


@pytest.fixture(scope="module")
def keywords():
    return DomainValidator("none")


def test_shipped_memory_loads_every_class():
    memory = load_memory()
    assert set(memory) == set(CLASSES)
    assert all(len(prompts) >= 200 for prompts in memory.values()), {c: len(p) for c, p in memory.items()}


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_sets_stay_out_of_the_memory(name):
    remembered = {prompt for prompts in load_memory().values() for prompt in prompts}
    leaked = [prompt for _, prompt in read_tsv(DATA / name) if prompt in remembered]
    assert leaked == []


@pytest.mark.slow  # rebuilds from ~6,500 labelled prompts (3 s); CI runs it with the slow tests
def test_shipped_memory_is_what_the_builder_makes_of_the_tuned_sets(validator, tmp_path):
    """The file in the package is reproducible: rebuilt from every set but the held-out ones, it is the same."""
    sets = sorted(p for p in DATA.glob("domain_*.tsv") if p.name not in HELD_OUT)
    out = tmp_path / "memory.tsv"
    args = [str(out), *map(str, sets), *(f"--hold-out={DATA / name}" for name in HELD_OUT), "--no-embeddings"]
    assert main(args) == 0
    assert out.read_text(encoding="utf-8") == MEMORY_FILE.read_text(encoding="utf-8")
    assert not out.with_suffix(".npz").exists()


def test_the_shipped_memory_embeddings_are_the_models_own_for_that_file():
    """domain_memory.npz was made by the default model for exactly the prompts of domain_memory.tsv (else every
    start embeds them again); a sample of its rows is what the model gives for those prompts."""
    import numpy as np

    from sdturbo.domain.embedding import MULTILINGUAL_MODEL, load_packaged, shared_encoder
    from sdturbo.domain.labelled import CLASSES, load_memory

    memory = load_memory(MEMORY_FILE)
    texts = [text for name in CLASSES for text in memory[name]]
    shipped = load_packaged(MEMORY_FILE.with_suffix(".npz"), MULTILINGUAL_MODEL, texts)
    assert shipped is not None and shipped.shape == (len(texts), 512)
    sample = list(range(0, len(texts), 157))
    fresh = shared_encoder(MULTILINGUAL_MODEL)([texts[i] for i in sample])
    assert np.abs(shipped[sample] - fresh).max() < 2e-3


@pytest.mark.parametrize(
    ("label", "prompt", "expected"),
    [
        ("accept", "a photo of a cat", "accept"),  # the label decides for accepts, whatever the words
        ("reject", "raw photo of a street market, dslr", "photographic"),
        ("reject", "a bar chart of quarterly revenue", "document_or_data"),
        ("reject", "Taylor Swift in anime style", None),  # a name says nothing about its neighbours
        ("reject", "a quiet lake at dawn", None),  # no evidence of any reject class: nothing to learn
    ],
)
def test_classify_names_the_class_a_labelled_prompt_teaches(keywords, label, prompt, expected):
    assert classify(keywords, label, prompt) == expected


def test_build_drops_repeats_and_held_out_prompts_and_counts_what_it_left_out(keywords):
    rows = [("accept", "a fox"), ("accept", "a fox"), ("reject", "a photo of a cat"), ("reject", "Taylor Swift")]
    assert build(keywords, rows) == ([("accept", "a fox"), ("photographic", "a photo of a cat")], 2)
    assert build(keywords, rows, frozenset({"a fox"})) == ([("photographic", "a photo of a cat")], 3)


def test_builder_cli_writes_the_file_and_says_what_it_holds(tmp_path, capsys):
    sets = tmp_path / "set.tsv"
    sets.write_text("label\tprompt\naccept\ta fox\nreject\ta photo of a cat\nreject\tTaylor Swift\n", encoding="utf-8")
    out = tmp_path / "memory.tsv"
    assert main([str(out), str(sets)]) == 0
    assert out.read_text(encoding="utf-8") == "class\tprompt\naccept\ta fox\nphotographic\ta photo of a cat\n"
    assert f"{out}: 2 prompts (1 accept, 1 photographic, 0 document_or_data); 1 left out" in capsys.readouterr().out


def test_builder_cli_names_a_bad_set(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\tprompt\nmaybe\ta fox\n", encoding="utf-8")
    assert main([str(tmp_path / "memory.tsv"), str(bad)]) == 2
    assert f"error: SET.tsv: {bad} line 2: expected 'accept' or 'reject'" in capsys.readouterr().err
    assert not (tmp_path / "memory.tsv").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("label\tprompt\naccept\ta fox\n", "the first line must be the header 'class<TAB>prompt'"),
        ("class\tprompt\naccept\ta fox\nreject\ta photo\n", "line 3: expected 'accept' or 'photographic' or"),
    ],
)
def test_a_bad_memory_file_is_said_when_the_validator_is_made(tmp_path, content, message):
    bad = tmp_path / "memory.tsv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="memory") as caught:
        DomainValidator(memory=bad)
    assert message in str(caught.value)
    DomainValidator("none", memory=bad)  # keywords only: the memory is never read


def test_the_memory_decides_what_the_curated_examples_alone_got_wrong(validator, unremembered):
    """A prompt in no labelled set, left to the embedding stage: the remembered photo requests (ID photos,
    profile pictures) put it on the photographic side; the curated examples alone allowed it."""
    prompt = "a picture for my driver's license, middle-aged man, white backdrop"
    assert unremembered.validate(prompt).allowed  # what the curated examples alone say
    verdict = validator.validate(prompt)
    assert (verdict.allowed, verdict.stage) == (False, "embedding")


def test_eval_cli_takes_a_memory_file_or_none(tmp_path, capsys):
    from sdturbo.domain.evaluate import main as domain_main

    bad = tmp_path / "memory.tsv"
    bad.write_text("class\tprompt\nselfie\ta fox\n", encoding="utf-8")
    assert domain_main(["a fox", "--memory", str(bad)]) == 2
    assert f"error: --memory: {bad} line 2: expected 'accept' or 'photographic' or" in capsys.readouterr().err
    assert domain_main(["a fox", "--memory", str(tmp_path / "missing.tsv")]) == 2
    assert "error: --memory: cannot read" in capsys.readouterr().err
    assert domain_main(["a fox", "--memory", "none", "--embedding-model", "none"]) == 0
    assert '"allowed": true' in capsys.readouterr().out


def test_builder_cli_checks_the_out_folder_first_and_replaces_the_file_whole(tmp_path, capsys):
    sets = tmp_path / "set.tsv"
    sets.write_text("label\tprompt\naccept\ta fox\n", encoding="utf-8")
    missing = tmp_path / "no-such-folder" / "memory.tsv"
    assert main([str(missing), str(sets)]) == 2
    assert f"error: OUT.tsv: no folder '{missing.parent}'" in capsys.readouterr().err
    out = tmp_path / "memory.tsv"
    out.write_text("class\tprompt\naccept\tthe old memory\n", encoding="utf-8")
    assert main([str(out), str(sets)]) == 0
    assert out.read_text(encoding="utf-8") == "class\tprompt\naccept\ta fox\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_eval_says_when_the_set_is_in_the_memory(validator, tmp_path, capsys):
    from sdturbo.domain.evaluate import main as domain_main

    memory = tmp_path / "memory.tsv"
    memory.write_text("class\tprompt\naccept\ta fox in the snow\n", encoding="utf-8")
    tsv = tmp_path / "set.tsv"
    tsv.write_text("label\tprompt\naccept\ta fox in the snow\nreject\ta bar chart of sales\n", encoding="utf-8")
    assert domain_main(["--eval", str(tsv), "--memory", str(memory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("note: 1 of 2 prompts are in the validator's memory") and "--memory none" in lines[-2]
    assert lines[-1].startswith("accuracy=1.000")
    assert domain_main(["--eval", str(tsv), "--memory", "none"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_a_packaged_embeddings_file_for_other_texts_or_broken_is_not_used(tmp_path, caplog):
    import numpy as np

    from sdturbo.domain.embedding import load_packaged, save_packaged

    path = tmp_path / "m.npz"
    save_packaged(path, "model", ["a", "b"], np.ones((2, 4), dtype=np.float32))
    assert load_packaged(path, "model", ["a", "b"]).dtype == np.float32
    assert load_packaged(path, "model", ["a", "c"]) is None  # other texts
    assert load_packaged(path, "other model", ["a", "b"]) is None
    assert load_packaged(tmp_path / "missing.npz", "model", ["a"]) is None
    path.write_bytes(b"not an npz")
    assert load_packaged(path, "model", ["a", "b"]) is None
    assert "unreadable" in caplog.text
