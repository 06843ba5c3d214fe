"""Real people pointed at by what they did (sdturbo/domain/deeds.py, data/real_deeds.toml)."""

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


@pytest.mark.parametrize("prompt", STILL_ALLOWED)
def test_being_near_a_famous_work_is_not_a_deed(unremembered, prompt):
    verdict = unremembered.validate(prompt)
    assert verdict.allowed, verdict.reasons


def test_a_deed_file_with_an_unknown_kind_names_it():
    with pytest.raises(ValueError, match=r"kind 'song' of 'Someone' must be one of work, building, invention"):
        Deeds([{"kind": "song", "person": "Someone", "anchors": ["a tune"]}])


def test_anchors_are_looked_up_as_words():
    deeds = Deeds([{"kind": "work", "person": "Pat Painter", "anchors": ["Sun Flowers", "月光"]}])
    assert [f.deed.person for f in deeds.find("the painter of sun flowers, anime")] == ["Pat Painter"]
    assert deeds.find("the painter of sun flowersong") == []  # whole words only
    assert deeds.find("the painter of the sun, flowers") == []  # not across a clause
    assert [f.deed.anchor for f in deeds.find("月光の作者")] == ["月光"]
