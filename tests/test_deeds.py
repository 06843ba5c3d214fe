"""Real people pointed at without a name: by what they did (sdturbo/domain/deeds.py, data/real_deeds.toml) and
by a description (sdturbo/domain/described.py, data/person_descriptions.tsv)."""

from __future__ import annotations

import pytest

from sdturbo.domain.deeds import Deeds

POINTED_AT = [  # (prompt, who the reason must name)
    ("the man who painted the Mona Lisa, at work in his studio, anime", "Leonardo da Vinci"),
    ("the composer of the Moonlight Sonata conducting in a storm, manga", "Ludwig van Beethoven"),
    ("the Mona Lisa's painter as a wizard, watercolor", "Leonardo da Vinci"),
    ("chibi of the Spotify founder at his desk", "Daniel Ek and Martin Lorentzon"),
    ("the woman who first isolated polonium, glowing vials, anime", "Marie Curie"),
    ("the inventor of the telephone shouting into it, cartoon", "Alexander Graham Bell"),
    ("the first American woman in space waving from her capsule, anime", "Sally Ride"),
    ("le peintre de la Joconde dans son atelier, style manga", "Leonardo da Vinci"),
    ("el compositor de la Oda a la Alegría dirigiendo bajo la lluvia, anime", "Ludwig van Beethoven"),
    ("モナ・リザを描いた画家、アニメ風", "Leonardo da Vinci"),
    ("画蒙娜丽莎的人，动漫风格", "Leonardo da Vinci"),
    ("모나리자를 그린 화가, 애니메이션 스타일", "Leonardo da Vinci"),
]

STILL_ALLOWED = [
    "a girl playing the Moonlight Sonata on a grand piano in the rain, anime",  # playing it is not writing it
    "a cat that painted the Mona Lisa, smug, cartoon",  # a cat is nobody real
    "a knight who painted a portrait of the dragon queen, anime",  # not a known work
    "a fox, in the style of the painter of the Mona Lisa",  # a look, not the person
    "the first knight on the moon planting a banner, anime",  # no real feat
    "the inventor of the steam-powered airship in her workshop, steampunk anime",  # a made-up invention
    "the founder of the hidden leaf village, anime",
]


@pytest.mark.parametrize(("prompt", "person"), POINTED_AT)
def test_a_real_person_described_by_a_deed_is_rejected_by_name(unremembered, prompt, person):
    verdict = unremembered.validate(prompt)
    assert (verdict.allowed, verdict.category) == (False, "real_person")
    assert f"that is {person}" in verdict.reasons[0]
    assert verdict.suggestions, "an original character is offered instead"


def test_a_deed_file_with_an_unknown_kind_names_it():
    with pytest.raises(ValueError, match=r"kind 'song' of 'Someone' must be one of work, building, invention"):
        Deeds([{"kind": "song", "person": "Someone", "anchors": ["a tune"]}])


def test_anchors_are_looked_up_as_words():
    deeds = Deeds([{"kind": "work", "person": "Pat Painter", "anchors": ["Sun Flowers", "月光"]}])
    assert [f.deed.person for f in deeds.find("the painter of sun flowers, anime")] == ["Pat Painter"]
    assert deeds.find("the painter of sun flowersong") == []  # whole words only
    assert deeds.find("the painter of the sun, flowers") == []  # not across a clause
    assert [f.deed.anchor for f in deeds.find("月光の作者")] == ["月光"]


# ---- people described without a name (sdturbo/domain/described.py) ----

DESCRIBED = [  # paraphrases, not the data's own descriptions
    "the Portuguese striker famous for his siuuu celebration, anime",
    "the tennis player with 24 grand slam titles from Serbia, shonen style",
    "the late Apple co-founder in a black turtleneck, manga",
    "l'empereur français exilé à Sainte-Hélène, style manga",
]
NOT_DESCRIBED = [  # fictional characters and generic roles, described the same ways
    "the ninja who dreams of becoming Hokage, anime",
    "the ace pitcher of a high school team in the summer tournament, anime",
    "a knight who slew the dragon of the north mountain",
    "the idol nicknamed the Angel of the Stage",
    "the emperor of a desert empire on his golden throne",
    "the number 10 of a cat football team scoring a goal",
    "the retired sprinter who still runs at dawn on the beach",
]


@pytest.mark.parametrize("prompt", DESCRIBED)
def test_a_real_person_described_without_a_name_is_rejected(unremembered, prompt):
    verdict = unremembered.validate(prompt)
    assert (verdict.allowed, verdict.category, verdict.stage) == (False, "real_person", "embedding")
    assert verdict.reasons[0].startswith("describes a real person (")
    assert "closest to a description of" in verdict.reasons[0]
    assert verdict.suggestions


def test_the_shipped_description_embeddings_match_the_descriptions():
    """A changed data/person_descriptions.tsv needs `python -m sdturbo.domain.described` (else every start
    embeds the descriptions again, ~8 s)."""
    from sdturbo.domain.described import EMBEDDINGS, read_descriptions
    from sdturbo.domain.embedding import MULTILINGUAL_MODEL, load_packaged

    texts = [text for _, _, text in read_descriptions()]
    matrix = load_packaged(EMBEDDINGS, MULTILINGUAL_MODEL, texts)
    assert matrix is not None and matrix.shape == (len(texts), 512)


def test_a_broken_descriptions_file_names_the_line(tmp_path):
    from sdturbo.domain.described import read_descriptions

    path = tmp_path / "d.tsv"
    path.write_text("class\twho\tdescription\nreal\tSomeone\ta singer\nreel\tX\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"d.tsv line 3: expected real or fictional"):
        read_descriptions(path)
    path.write_text("who\tdescription\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        read_descriptions(path)


def test_the_shipped_description_embeddings_are_the_models_own():
    """The float16 file holds what the model gives for those texts (a sample re-embedded)."""
    import numpy as np

    from sdturbo.domain.described import EMBEDDINGS, read_descriptions
    from sdturbo.domain.embedding import MULTILINGUAL_MODEL, in_batches, load_packaged, shared_encoder

    texts = [text for _, _, text in read_descriptions()]
    shipped = load_packaged(EMBEDDINGS, MULTILINGUAL_MODEL, texts)
    sample = list(range(0, len(texts), 97))
    fresh = in_batches(shared_encoder(MULTILINGUAL_MODEL), [texts[i] for i in sample])
    assert np.abs(shipped[sample] - fresh).max() < 2e-3


# the second review's repros: allowed prompts the first versions of these rules rejected
SECOND_REVIEW = [
    "a girl playing bach on the cello",
    "she plays mozart and chopin every evening",
    "a bach fugue sheet music on a piano",
    "a girl holding a copy of orwell's 1984",
    "a galileo telescope",
    "a girl in an escher staircase",
    "kubrick stare anime girl",
    "starry night sky like van gogh",
    "an escher-like impossible castle",
    "judy hopps and nick wilde from zootopia",
    "a girl named adele",
    "ein Mädchen sitzt am Bach im Wald",
    "colline verdi",
    "pixel art instead of anime style",
    "a pencil sketch instead of a painting",
    "a chibi witch, not anime style but western cartoon style",
    "not a cartoon villain but a tragic one, anime",
    "she is not a manga artist but a baker",
    "a character that is not drawn yet",
    "the sun king of the desert kingdom",
    "the virgin queen of the elf kingdom",
    "鉄の女戦士",
    "最後の将軍が崩れた城に立つ",
    "少女は発明王になりたい",
    "国父的雕像在奇幻王国",
    "the first tweet, a tiny blue bird",
    "the first spacewalk, an astronaut girl floating",
    "the long march, an army of ants",
    "the girl who made instant ramen at midnight",
    "the boy who drew sailor moon in his notebook",
    "the doctor who created frankenstein",
    "the girl who built the taj mahal in minecraft",
    "the designer of the airplane, a young girl in goggles",
    "エッフェル塔を描いた画家",
    "ドラえもんを描いた女の子",
    "에펠탑을 그린 여자아이",
    "the swimmer who won gold at the olympics, anime girl",
    "the rapper who grew up in the slums",
    "the man who wrote harry potter fan fiction",
    "a robot boy who dreams of becoming a real human being",
    "an android girl who wants to look like a real person",
    "a fantasy world painted as if it really exists",
    "a decision tree in a magical forest",
    "a tournament bracket arc in a fighting anime",
]


def test_deed_and_nickname_files_with_missing_or_ambiguous_entries_are_refused():
    from sdturbo.domain.rules import _nickname

    with pytest.raises(ValueError, match="needs a kind, a person and anchors"):
        Deeds([{"kind": "work", "anchors": ["x y z"]}])
    with pytest.raises(ValueError, match="reads as 'c': too short"):
        Deeds([{"kind": "invention", "person": "Someone", "anchors": ["c++"]}])
    with pytest.raises(ValueError, match="is both 'A' and 'B'"):
        Deeds(
            [
                {"kind": "work", "person": "A", "anchors": ["the song"]},
                {"kind": "work", "person": "B", "anchors": ["the song"]},
            ]
        )
    with pytest.raises(ValueError, match="needs a name and a person"):
        _nickname({"name": "the iron lady"})


@pytest.mark.parametrize("prompt", STILL_ALLOWED + NOT_DESCRIBED + SECOND_REVIEW)
def test_allowed_prompts_near_these_rules_stay_allowed(unremembered, prompt):
    """Famous works merely in the scene, fictional or generic descriptions, and the second review's repros."""
    verdict = unremembered.validate(prompt)
    assert verdict.allowed, verdict.reasons
