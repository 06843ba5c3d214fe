"""The embedding stage (sdturbo.domain.embedding) on a fake model with known vectors, plus one real-model check."""

import functools
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from sdturbo.domain.embedding import (
    MEMORY_WEIGHT,
    MULTILINGUAL_MODEL,
    PACKAGED_MODEL,
    TOP_K,
    Nearest,
    PrototypeIndex,
    resolve_model_path,
    sentence_transformer_encoder,
)


def unit(degrees: float) -> np.ndarray:
    """A unit vector in the plane at `degrees`: the cosine similarity of two is cos(angle between)."""
    rad = math.radians(degrees)
    return np.array([math.cos(rad), math.sin(rad), 0.0], dtype=np.float32)


class FakeModel:
    """Stands in for SentenceTransformer: each text is a unit vector at the angle given in `angles`.

    Texts it does not know get an angle from their length, so any text embeds deterministically.
    Counts encode calls and fails loudly if two threads are ever inside encode at once.
    """

    def __init__(self, angles: dict[str, float], delay: float = 0.0) -> None:
        self.angles = angles
        self.delay = delay
        self.calls: list[list[str]] = []
        self.inside = 0
        self.overlaps = 0
        self._count_lock = threading.Lock()

    def encode(self, texts, normalize_embeddings, convert_to_numpy, show_progress_bar):
        assert normalize_embeddings is True and convert_to_numpy is True and show_progress_bar is False
        with self._count_lock:
            self.inside += 1
            self.overlaps += self.inside > 1
            self.calls.append(list(texts))
        time.sleep(self.delay)
        vectors = np.stack([unit(self.angles.get(t, 7.0 * len(t))) for t in texts])
        with self._count_lock:
            self.inside -= 1
        return vectors


# the query sits at 0 degrees; every example's similarity to it is cos(its angle)
ANGLES = {"query": 0.0, "a60": 60.0, "a10": 10.0, "a90": 90.0, "a20": 20.0, "p45": 45.0, "p80": 80.0}
EXAMPLES = {"anime": ["a60", "a10", "a90", "a20"], "photo": ["p80", "p45"]}


def cos(degrees: float) -> float:
    return math.cos(math.radians(degrees))


def test_nearest_scores_each_class_by_its_top_k_examples():
    index = PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES)
    anime = index.nearest("query")["anime"]
    assert TOP_K == 3
    assert anime.score == pytest.approx((cos(10) + cos(20) + cos(60)) / 3, abs=1e-6)  # a90 is 4th: left out
    assert (anime.example, anime.similarity) == ("a10", pytest.approx(cos(10), abs=1e-6))


def test_nearest_uses_every_example_of_a_class_smaller_than_top_k():
    photo = PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES).nearest("query")["photo"]
    assert photo.score == pytest.approx((cos(45) + cos(80)) / 2, abs=1e-6)
    assert (photo.example, photo.similarity) == ("p45", pytest.approx(cos(45), abs=1e-6))


def test_nearest_answers_every_class_with_plain_floats():
    result = PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES).nearest("query")
    assert set(result) == set(EXAMPLES)
    for name, near in result.items():
        assert isinstance(near, Nearest)
        assert type(near.score) is float and type(near.similarity) is float  # JSON-safe, not numpy scalars
        assert near.example in EXAMPLES[name]
        assert -1.0 <= near.score <= near.similarity <= 1.0 + 1e-6  # a mean never beats the best


def test_a_single_example_class_scores_its_similarity():
    index = PrototypeIndex(sentence_transformer_encoder(FakeModel({"query": 0.0, "only": 30.0})), {"solo": ["only"]})
    near = index.nearest("query")["solo"]
    assert near == Nearest(pytest.approx(cos(30), abs=1e-6), "only", pytest.approx(cos(30), abs=1e-6))


def test_examples_are_embedded_once_per_class_at_construction():
    model = FakeModel(ANGLES)
    PrototypeIndex(sentence_transformer_encoder(model), EXAMPLES)
    assert model.calls == [EXAMPLES["anime"], EXAMPLES["photo"]]


def test_embed_one_is_cached_per_text():
    model = FakeModel(ANGLES)
    index = PrototypeIndex(sentence_transformer_encoder(model), EXAMPLES)
    built = len(model.calls)
    first = index.nearest("query")
    again = index.nearest("query")
    assert first == again
    assert model.calls[built:] == [["query"]]  # the repeat did not encode again
    index.nearest("something else")
    assert model.calls[built:] == [["query"], ["something else"]]


def test_concurrent_nearest_calls_agree_and_never_overlap_in_the_model():
    model = FakeModel(ANGLES, delay=0.002)
    index = PrototypeIndex(sentence_transformer_encoder(model), EXAMPLES)
    texts = [f"prompt number {i}" for i in range(16)] + ["query"]
    expected = {
        text: PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES).nearest(text) for text in texts
    }
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(index.nearest, texts * 3))
    assert results == [expected[text] for text in texts * 3]
    assert model.overlaps == 0  # the tokenizer is not thread-safe: encode calls are serialized


def test_resolve_model_path_passes_other_sources_through():
    for source in ("sentence-transformers/all-MiniLM-L6-v2", "/models/minilm", "relative/folder", "none"):
        assert resolve_model_path(source) == source


def test_resolve_model_path_finds_the_packaged_model_folder():
    folder = Path(resolve_model_path(PACKAGED_MODEL))
    assert folder.is_dir()
    assert (folder / "modules.json").is_file() and (folder / "config.json").is_file()


EXAMPLES_REAL = {
    "anime": [
        "anime girl with cat ears, cel shading, key visual",
        "chibi knight in a manga panel, clean lineart",
        "magical girl transformation, vibrant anime colors",
    ],
    "photo": [
        "dslr photo of a businessman, 85mm lens, bokeh",
        "raw photograph of a city street, sharp focus",
        "stock photo of a family at the beach",
    ],
}


def test_multilingual_model_reads_prompts_in_other_languages_against_english_examples(caplog):
    with caplog.at_level("INFO", logger="sdturbo.domain.embedding"):
        index = PrototypeIndex.load(MULTILINGUAL_MODEL, EXAMPLES_REAL)
    assert index.multilingual
    assert f"embedding model {MULTILINGUAL_MODEL} loaded, 6 examples and 0 labelled prompts embedded" in caplog.text
    anime = ("an anime boy with silver hair, cel-shaded", "銀髪のアニメの少年、セル画風", "은발의 애니메이션 소년")
    for prompt in anime:
        result = index.nearest(prompt)
        assert result["anime"].score > result["photo"].score, prompt
    for prompt in ("a photograph of a man in a suit, 50mm lens", "スーツ姿の男性の写真、50mmレンズ"):
        result = index.nearest(prompt)
        assert result["photo"].score > result["anime"].score, prompt


@pytest.mark.slow  # imports sentence-transformers and torch (~5 s): the default model is the multilingual one
def test_real_packaged_model_puts_an_anime_prompt_nearer_anime_examples(caplog):
    examples = EXAMPLES_REAL
    with caplog.at_level("INFO", logger="sdturbo.domain.embedding"):
        index = PrototypeIndex.load(PACKAGED_MODEL, examples)
    assert f"embedding model {PACKAGED_MODEL} loaded, 6 examples and 0 labelled prompts embedded" in caplog.text
    result = index.nearest("an anime boy with silver hair, cel-shaded illustration")
    assert result["anime"].score > result["photo"].score
    assert result["anime"].example in examples["anime"]
    photo = index.nearest("a photograph of a man in a suit, 50mm lens")
    assert photo["photo"].score > photo["anime"].score


# labelled prompts remembered beside the curated examples: m05 is nearer the query than any curated one
MEMORY = {"anime": ["m05", "m15"], "photo": ["m70"]}
ANGLES_MEMORY = {**ANGLES, "m05": 5.0, "m15": 15.0, "m70": 70.0}


def test_memory_blends_each_class_score_and_can_give_the_nearest_example():
    model = FakeModel(ANGLES_MEMORY)
    index = PrototypeIndex(sentence_transformer_encoder(model), EXAMPLES, memory=MEMORY)
    assert MEMORY_WEIGHT == 0.5
    curated = (cos(10) + cos(20) + cos(60)) / 3
    recalled = (cos(5) + cos(10) + cos(15)) / 3  # the top 3 of curated and remembered together
    anime = index.nearest("query")["anime"]
    assert anime.score == pytest.approx(0.5 * curated + 0.5 * recalled, abs=1e-6)
    assert (anime.example, anime.similarity) == ("m05", pytest.approx(cos(5), abs=1e-6))
    photo = index.nearest("query")["photo"]  # m70 is not in the top 3 of three: it still counts
    assert photo.score == pytest.approx(0.5 * (cos(45) + cos(80)) / 2 + 0.5 * (cos(45) + cos(70) + cos(80)) / 3)
    assert model.calls[:4] == [EXAMPLES["anime"], EXAMPLES["photo"], MEMORY["anime"], MEMORY["photo"]]


def test_a_class_without_memory_scores_as_before():
    index = PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES_MEMORY)), EXAMPLES, memory={"anime": ["m05"]})
    plain = PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES_MEMORY)), EXAMPLES)
    assert index.nearest("query")["photo"] == plain.nearest("query")["photo"]
    assert index.nearest("query")["anime"] != plain.nearest("query")["anime"]


def test_memory_for_a_class_without_curated_examples_is_refused():
    with pytest.raises(ValueError, match=r"memory classes \['selfie'\] have no curated examples"):
        PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES, memory={"selfie": ["a"]})


def test_many_examples_are_embedded_in_batches():
    model = FakeModel({})
    texts = [f"example {i}" for i in range(150)]
    PrototypeIndex(sentence_transformer_encoder(model), {"anime": texts})
    assert [len(call) for call in model.calls] == [64, 64, 22]
    assert [t for call in model.calls for t in call] == texts


def test_a_shared_encoder_loads_once_and_embeds_the_same_examples_once(monkeypatch):
    import sdturbo.domain.embedding as embedding

    loads = []
    model = FakeModel(ANGLES_MEMORY)
    monkeypatch.setattr(
        embedding, "load_encoder", lambda source: loads.append(source) or sentence_transformer_encoder(model)
    )
    # a cache of its own: the session's real encoder stays loaded for the tests after this one
    monkeypatch.setattr(embedding, "shared_encoder", functools.cache(embedding.shared_encoder.__wrapped__))
    monkeypatch.setattr(embedding, "_EMBEDDED", {})
    first = PrototypeIndex.load("fake-model", EXAMPLES, memory=MEMORY)
    second = PrototypeIndex.load("fake-model", EXAMPLES, memory=MEMORY)
    other = PrototypeIndex.load("fake-model", {"anime": ["a10"]})
    assert loads == ["fake-model"]
    assert model.calls == [EXAMPLES["anime"], EXAMPLES["photo"], MEMORY["anime"], MEMORY["photo"], ["a10"]]
    assert first.nearest("query") == second.nearest("query")
    assert other.nearest("query")["anime"].example == "a10"


def test_a_cache_folder_keeps_the_embedded_examples_between_runs(tmp_path, caplog):
    first = FakeModel(ANGLES_MEMORY)
    index = PrototypeIndex(sentence_transformer_encoder(first), EXAMPLES, memory=MEMORY, cache=tmp_path)
    assert len(first.calls) == 4 and len(list(tmp_path.glob("*.npy"))) == 4  # one file per list of texts
    later = FakeModel(ANGLES_MEMORY)  # a later start: a new process, a new model
    again = PrototypeIndex(sentence_transformer_encoder(later), EXAMPLES, memory=MEMORY, cache=tmp_path)
    assert later.calls == []  # nothing embedded again
    assert again.nearest("query") == index.nearest("query")
    assert later.calls == [["query"]]
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_a_broken_or_unwritable_cache_is_logged_and_embedded_anew(tmp_path, caplog):
    PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES, cache=tmp_path)
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"not an array")
    model = FakeModel(ANGLES)
    with caplog.at_level("WARNING", logger="sdturbo.domain.embedding"):
        index = PrototypeIndex(sentence_transformer_encoder(model), EXAMPLES, cache=tmp_path)
    assert "unreadable" in caplog.text and len(model.calls) == 2
    assert index.nearest("query")["anime"].example == "a10"
    third = FakeModel(ANGLES)
    PrototypeIndex(sentence_transformer_encoder(third), EXAMPLES, cache=tmp_path)
    assert third.calls == []  # the broken files were written anew
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way")
    caplog.clear()
    with caplog.at_level("WARNING", logger="sdturbo.domain.embedding"):
        index = PrototypeIndex(sentence_transformer_encoder(FakeModel(ANGLES)), EXAMPLES, cache=blocked / "sub")
    assert "not written" in caplog.text and index.nearest("query")["anime"].example == "a10"
