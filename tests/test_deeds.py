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


THIRD_REVIEW = [  # an independent review of rounds 14-18 (2026-11-26): each was allowed before and rejected then
    "the old novelist who wrote a love story, sitting by the fireplace",
    "the boy who wrote a love story in his diary",
    "girl who wrote a love story, sitting under a tree",
    "the kid who sang a love story on the school stage",
    "two girls who sang love story at the festival",
    "the band that sang love story at the school festival",
    "the idol group that recorded love story for the anime",
    "the star who wrote a love story in the sky",
    "the love story author signing books at a convention",
    "the singer of 'love story' at our wedding",
    "the mangaka who created an anti-hero for her new series",
    "the anti-hero's creator sitting at a drawing desk",
    "the girl who painted a blank space on the wall",
    "the man who painted the blank space on the canvas with gold",
    "the writer who created the bad guy in the movie",
    "the artist who illustrated a bad guy with horns",
    "the mad scientist, the bad guy's creator, in his lab",
    "the singer of «Bad Guy» in a school talent show",
    'the girl who sang "bad guy" at the karaoke night',
    "the rebel leader who freed the slaves, standing on a hill",
    "the dwarf king who freed the slaves in the fantasy kingdom",
    "the bunny girl who walked on the moon, anime",
    "the little astronaut girl who walked on the moon in her dream",
    "the cat astronaut who set foot on the moon with a flag",
    "the girl who painted water lilies by the pond, anime",
    "the frog girl who painted water lilies in her garden",
    "the astronaut girl who orbited the earth in a tiny rocket, anime",
    "the elf general who led the long march to the north",
    "knight, general who led the long march to the north, snow",
    "the kid who made the first website in his class",
    "the girl who made the first computer program in a magic academy",
    "the girl who made the first text message in her village",
    "the pilot girl who flew the first airplane flight in her village",
    "the old sea captain who sailed the first circumnavigation of the globe in a fantasy world",
    "the champion who won the four-minute mile in the anime tournament",
    "the boy who won the long jump world record at the school sports day",
    "steampunk girl, inventor who invented the telephone in her workshop",
    "inventor who invented a telephone in her attic, steampunk",
    "kid who built the eiffel tower in the backyard",
    "young king who built the taj mahal in a dream",
    "her brothers who invented the airplane in the barn",
    "the chef who built the eiffel tower restaurant",
    "the girl who built the eiffel tower giant out of cardboard boxes",
    "the chef who built the taj mahal croissant display",
    "the boy who created the pokemon restaurant in his village",
    "the woman who founded the sanrio café in tokyo",
    "the man who painted the mona lisa tornado mural",
    "el intérprete de Don Quijote en la obra escolar",
    "la intérprete de Sailor Moon en el festival de cosplay",
    "le chanteur des Misérables sur scène",
    "la cantante de Pokémon en un concierto",
    "el cantante de Dragon Ball en un escenario, estilo anime",
    "마인크래프트에서 거북선을 만든 남자",
    "레고로 거북선을 만든 남자",
    "종이로 거북선을 만든 사람, 애니메이션 스타일",
    "종이 거북선을 만든 사람",
    "포켓몬을 부른 여자 트레이너",
    "도라에몽을 부른 여자 아이돌",
    "画龙珠的同人漫画，可爱风格",
    "我想要一张画海贼王的同人插画",
    "写哈利波特的同人小说的女孩",
    "[\\u4e00-\\u9fff]{0,3}?人",
    "建造埃菲尔铁塔的工人们，蒸汽朋克",
    "建造泰姬陵的印度人，动漫风格",
    "a Jamaican sprinter crossing the finish line, anime",
    "a Brazilian footballer doing a bicycle kick on the beach",
    "an American astronaut floating in the ISS with Earth below",
    "a Greek philosopher teaching students in an agora",
    "a Mongolian archer on horseback in the steppe",
    "a Mongol warlord OC on horseback, ink painting",
    "a Nigerian afrobeats singer on stage with lights",
    "a Soviet cosmonaut girl floating in a space station, retro anime",
    "an Austrian composer girl playing a harpsichord in Vienna",
    "a Polish pianist girl playing at a competition in Warsaw",
    "the Argentine number 10 of a fictional anime football team",
    "宇宙飛行士の少女が月面を歩く",
    "ノーベル賞を受賞した日本人科学者の少女",
    "한국 가수 같은 여자 아이돌 캐릭터",
    "the white death, a blizzard over the mountains",
    "a fantasy avalanche, the white death, swallowing the village",
    "a dragon known as the white death",
    "a skeleton knight, the white death, in a frozen castle",
    "a mecha called White Death in the arctic",
    "a robot called Iron Lady",
    "a ninja nicknamed Iron Mike",
    "a pro wrestler OC nicknamed Iron Mike in a neon ring",
    "my OC, a boxer known as Kid Dynamite",
    "a boxer called smokin joe in a cartoon",
    "a band of anime boys called the Fab Four",
    "four anime boys, the fab four of our school band",
    "night shot of a mecha battle, anime style",
    "anime night shot of tokyo with neon signs",
    "a night shot of the city skyline, studio ghibli style",
    "the Trix witches from Winx Club",
    "a cartoon Trix rabbit stealing cereal",
    "the trix rabbit in a forest",
    "a girl scrolling through her camera roll on the train",
    "anime girl checking google street view on her phone",
    "dibujo de una niña con una cámara de verdad en la mano",
    "a drone doing a scan of the ruins, sci-fi",
    "a robot performing a scan of the area with red lasers",
    "the android doing a scan of the horizon",
    "a playground slide with our cat at the bottom",
]


@pytest.mark.parametrize("prompt", STILL_ALLOWED + NOT_DESCRIBED + SECOND_REVIEW + THIRD_REVIEW)
def test_allowed_prompts_near_these_rules_stay_allowed(unremembered, prompt):
    """Famous works merely in the scene, fictional or generic descriptions, and the second and third reviews'
    repros."""
    verdict = unremembered.validate(prompt)
    assert verdict.allowed, verdict.reasons
