"""Rewrites of rejected prompts (sdturbo.domain.rewrite), on the rules shipped in sdturbo/data/."""

import re

import pytest

from sdturbo.domain.rewrite import subject_of, suggest
from sdturbo.domain.rules import default_rules

RULES = default_rules()
TEMPLATES = RULES.data["suggestions"]


def subject(prompt: str) -> str:
    return subject_of(RULES.scan(prompt), RULES)


def suggestions(prompt: str, category: str) -> list[str]:
    return suggest(RULES.scan(prompt), category, RULES)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a photo of a cat, 50mm, bokeh", "a cat"),
        ("raw photo of a street market, dslr, sharp focus", "a street market"),
        ("a photorealistic portrait of a businessman in a suit, 85mm lens", "a businessman in a suit"),
        ("macro photograph of a dew drop", "a dew drop"),
        ("a photo of a fox, 24-70mm", "a fox"),
        ("a cat, 8k, highly detailed, award winning photo", "a cat"),
        ("cinematic lighting, 8k, dslr, a knight", "a knight"),  # issue 17: light and quality are not subjects
        ("masterpiece, best quality, dramatic lighting, photo of a samurai in the rain", "a samurai in the rain"),
        ("시네마틱 조명, 석양 아래 거대 로봇, 8k", "석양 아래 거대 로봇"),  # two-letter Hangul words are words
        ("Iluminação cinematográfica, robô gigante sob a chuva, 8k", "robô gigante sob a chuva"),
        ("anime style photo of a cat", "a cat"),
    ],
)
def test_subject_keeps_what_the_prompt_is_about(prompt, expected):
    assert subject(prompt) == expected


def test_subject_drops_rejected_photo_terms_and_filler():
    text = subject("a photo of a cat, 50mm, bokeh, 8k, highly detailed, sharp focus")
    assert "cat" in text
    for dropped in ("photo", "50mm", "bokeh", "8k", "detailed", "focus"):
        assert dropped not in text, (dropped, text)


def test_subject_drops_real_names_and_keeps_the_action():
    assert subject("Taylor Swift singing on stage") == "singing on stage"
    assert subject("portrait of Barack Obama") == ""


def test_subject_collapses_doubled_articles_left_by_a_cut():
    assert subject("a photo of a a man") == "a man"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("photo of a man with", "a man"),
        ("a photo of a businessman in", "a businessman"),
        ("a photo of a cat using a", "a cat"),
        ("a photo of a cat, shot on a", "a cat"),
    ],
)
def test_subject_strips_dangling_connectors_at_the_ends(prompt, expected):
    assert subject(prompt) == expected


def test_subject_of_a_prompt_made_only_of_rejected_terms_is_empty():
    assert subject("a photo") == ""
    assert subject("dslr, 8k, hdr") == ""


@pytest.mark.parametrize(
    ("prompt", "subject_text"),
    [
        ("headshot of a woman", "a woman"),
        ("selfie of a girl at the beach", "a girl at the beach"),
        ("portrait photo of a girl", "a girl"),
        ("a photorealistic portrait of a businessman in a suit, 85mm lens", "a businessman in a suit"),
    ],
)
def test_portrait_words_pick_the_portrait_templates(prompt, subject_text):
    expected = [t.format(subject=subject_text) for t in TEMPLATES["portrait"]]
    assert suggestions(prompt, "photographic") == expected
    assert expected[0].startswith(f"anime portrait of {subject_text}")


def test_other_prompts_pick_the_scene_templates():
    result = suggestions("a photo of a cat, 50mm, bokeh", "photographic")
    assert result == [t.format(subject="a cat") for t in TEMPLATES["scene"]]
    assert result[0] == "anime illustration of a cat, cel shading, clean lineart"
    assert all("photo" not in s and "50mm" not in s and "bokeh" not in s for s in result)


def test_empty_subject_uses_the_empty_templates():
    for prompt in ("a photo", "dslr, 8k, hdr"):
        result = suggestions(prompt, "photographic")
        assert result == TEMPLATES["empty"]
        assert result is not TEMPLATES["empty"]  # a copy: callers may filter it in place


def test_real_person_uses_the_role_and_never_the_name():
    result = suggestions("Taylor Swift singing on stage", "real_person")
    assert result[0] == "anime illustration of an original dazzling pop star character singing on stage"
    assert len(result) == len(TEMPLATES["person"])
    assert all("dazzling pop star" in s and "singing on stage" in s for s in result)
    assert not any(re.search("taylor|swift", s) for s in result)
    # what is left a noun phrase, it stands apart: "…character, a magical girl", not "…character a magical girl"
    assert suggestions("Taylor Swift as a magical girl", "real_person")[0] == (
        "anime illustration of an original dazzling pop star character, a magical girl"
    )
    # and so is what followed the person after a comma: "…character, watercolor", not "…character watercolor"
    assert suggestions("Taylor Swift, soft watercolor", "real_person")[0] == (
        "anime illustration of an original dazzling pop star character, soft watercolor"
    )


def test_real_person_without_a_subject_has_no_trailing_space():
    result = suggestions("portrait of Barack Obama", "real_person")
    assert result == [t.format(role="charismatic politician", rest="") for t in TEMPLATES["person"]]
    assert not any(re.search("barack|obama|  | ,", s) for s in result)


def test_document_maps_to_the_matching_idea_then_the_fallbacks():
    result = suggestions("a bar chart of quarterly revenue by region", "document_or_data")
    assert result == [TEMPLATES["documents"]["chart"], *TEMPLATES["document_fallbacks"]]
    assert "rising arrow" in result[0]


def test_document_ideas_shared_by_several_words_are_not_repeated():
    # chart, graph and plot all map to the same rising-arrow scene
    result = suggestions("a scatter plot and a bar chart and a line graph", "document_or_data")
    assert result == [TEMPLATES["documents"]["chart"], *TEMPLATES["document_fallbacks"]]
    assert len(result) == len(set(result))


def test_document_with_several_ideas_lists_each_before_the_fallbacks():
    result = suggestions("an invoice with a blueprint", "document_or_data")
    ideas = {TEMPLATES["documents"]["invoice"], TEMPLATES["documents"]["blueprint"]}
    assert set(result[:2]) == ideas
    assert result[2:] == TEMPLATES["document_fallbacks"]


def test_document_without_a_matching_idea_gets_only_the_fallbacks():
    assert suggestions("a pdf", "document_or_data") == TEMPLATES["document_fallbacks"]


def test_resume_gets_its_own_idea():
    result = suggestions("a resume", "document_or_data")
    assert result[0] == TEMPLATES["documents"]["resume"]
