"""parse_parameters reads infotext as AUTOMATIC1111's parse_generation_parameters does."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdturbo.library.infotext import NEGATIVE, PARAM, Infotext, parse_parameters, settings_pairs
from sdturbo.metadata import a1111_parameters

SETTINGS = (
    "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
    'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: "add_detail: 7c6bad76eb54", Version: v1.10.1'
)
FIELDS = {
    "Steps": "20",
    "Sampler": "DPM++ 2M",
    "Schedule type": "Karras",
    "CFG scale": "7",
    "Seed": "1234567890",
    "Size": "512x768",
    "Model hash": "6ce0161689",
    "Model": "v1-5-pruned-emaonly",
    "Lora hashes": "add_detail: 7c6bad76eb54",
    "Version": "v1.10.1",
}


def a1111_quote(value) -> str:
    """A1111's infotext_utils.quote."""
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if "," in text or "\n" in text or ":" in text else text


def a1111_infotext(prompt: str, negative_prompt: str, settings: dict) -> str:
    """The text A1111's processing.create_infotext writes."""
    settings_text = ", ".join(k if k == v else f"{k}: {a1111_quote(v)}" for k, v in settings.items() if v is not None)
    negative_text = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt}{negative_text}\n{settings_text}".strip()


def test_a1111_txt2img_infotext():
    text = (
        "masterpiece, 1girl, silver hair, (fox ears:1.2), lantern festival, <lora:add_detail:0.6>\n"
        "Negative prompt: lowres, bad anatomy, (worst quality:1.4)\n" + SETTINGS
    )
    info = parse_parameters(text)
    assert info.prompt == "masterpiece, 1girl, silver hair, (fox ears:1.2), lantern festival, <lora:add_detail:0.6>"
    assert info.negative_prompt == "lowres, bad anatomy, (worst quality:1.4)"
    assert info.fields == FIELDS
    assert list(info.fields) == list(FIELDS)  # in the order written
    assert (info.get_int("Steps"), info.get_int("Seed"), info.size) == (20, 1234567890, (512, 768))


def test_written_by_create_infotext_reads_back():
    settings = dict(FIELDS, **{"ADetailer prompt": 'blue eyes, "smile", soft light', "Hires resize": "1024x1536"})
    info = parse_parameters(a1111_infotext("a\nb", "c\nd", settings))
    assert (info.prompt, info.negative_prompt, info.fields) == ("a\nb", "c\nd", settings)


def test_multi_line_prompt_and_negative_prompt():
    text = "fox spirit,\n  lantern alley,\n\nnight\nNegative prompt: blurry,\nlowres\n" + SETTINGS
    info = parse_parameters(text)
    assert info.prompt == "fox spirit,\nlantern alley,\n\nnight"  # A1111 strips each line
    assert info.negative_prompt == "blurry,\nlowres"


def test_no_negative_prompt():
    info = parse_parameters("fox spirit, lantern alley\n" + SETTINGS)
    assert (info.prompt, info.negative_prompt, info.fields) == ("fox spirit, lantern alley", "", FIELDS)


@pytest.mark.parametrize(
    "text",
    [
        "fox spirit, lantern alley",
        "fox spirit\nlantern alley",
        "portrait, style: anime, mood: calm",  # two `key: value` pairs are not a settings line
        "",
    ],
)
def test_prompt_only(text):
    info = parse_parameters(text)
    assert (info.prompt, info.negative_prompt, info.fields) == (text, "", {})
    assert info.size is None and info.get_int("Steps") is None


def test_negative_prompt_without_settings_line():
    info = parse_parameters("fox\nNegative prompt: blurry, lowres")
    assert (info.prompt, info.negative_prompt, info.fields) == ("fox", "blurry, lowres", {})


def test_quoted_values_with_commas_and_escaped_quotes():
    text = (
        'p\nSteps: 4, TI hashes: "easynegative: c74b4e810b03, bad-hands-5: aa7651be154c", '
        'Note: "say \\"hi\\", then\\nleave", Seed: 7'
    )
    info = parse_parameters(text)
    assert info.fields == {
        "Steps": "4",
        "TI hashes": "easynegative: c74b4e810b03, bad-hands-5: aa7651be154c",
        "Note": 'say "hi", then\nleave',
        "Seed": "7",
    }


def test_settings_quirks_kept_from_a1111():
    info = parse_parameters('p\nSteps: 4, Sampler: , Seed: 1, Seed: 2, Model: "not json\\x", Size: 512 x 512')
    assert "Sampler" not in info.fields  # an empty value drops its key
    assert info.fields["Seed"] == "2"  # the later duplicate wins
    assert info.fields["Model"] == '"not json\\x"'  # a quoted value that is not JSON stays as written
    assert info.size is None


@pytest.mark.parametrize(
    ("value", "expected"), [("20", 20), ("-1", -1), (" 20", 20), ("7.5", None), ("", None), ("x", None)]
)
def test_get_int(value, expected):
    assert Infotext("", "", {"Steps": value}).get_int("Steps") == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("512x768", (512, 768)), ("512X768", None), ("512x", None), ("9" * 5000 + "x1", None)]
)
def test_size(value, expected):
    assert Infotext("", "", {"Size": value}).size == expected


def test_crlf_line_ends():
    info = parse_parameters("fox\r\nNegative prompt: blurry\r\nSteps: 1, Seed: 2, Size: 64x64\r\n")
    assert (info.prompt, info.negative_prompt, info.size) == ("fox", "blurry", (64, 64))


@pytest.mark.parametrize("value", [b"p\nSteps: 1", None, ["p"]])
def test_non_str_raises_type_error(value):
    with pytest.raises(TypeError, match="infotext must be a str"):
        parse_parameters(value)


def test_a_long_prompt_only_line_is_fast():
    text = "a b: 1, c: 2, " + "word " * 200_000  # a megabyte; A1111's findall takes hours on it
    assert parse_parameters(text).fields == {}


def test_own_writer_round_trips():
    info = parse_parameters(a1111_parameters("fox spirit,\nlantern alley", 1, 42, 512, 768, "sd-turbo"))
    assert (info.prompt, info.negative_prompt, info.get_int("Steps"), info.get_int("Seed")) == (
        "fox spirit,\nlantern alley",
        "",
        1,
        42,
    )
    assert (info.size, info.fields["Model"]) == ((512, 768), "sd-turbo")


# Text that exercises the grammar: separators, quotes, escapes, key-like runs and odd whitespace.
GRAMMAR_CHARS = st.sampled_from(list('ab1é :,"\\-/\t\r\x85\u3000\n'))
PIECES = st.lists(st.sampled_from([SETTINGS, NEGATIVE, "\n", "p", ", ", 'k: "v']))
GRAMMAR_TEXT = st.one_of(st.text(), st.text(GRAMMAR_CHARS), PIECES.map("".join))


@given(GRAMMAR_TEXT)
def test_never_raises(text):
    info = parse_parameters(text)
    assert isinstance(info.prompt, str) and isinstance(info.negative_prompt, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.fields.items())
    info.size, info.get_int("Steps"), info.get_int("Seed")


@given(st.one_of(st.text(), st.text(GRAMMAR_CHARS)))
def test_settings_pairs_equal_a1111_findall(line):
    assert settings_pairs(line) == PARAM.findall(line)


def round_trips_in_a1111(prompt: str) -> bool:
    """Whether A1111's own parser gives this prompt back; the cases it cannot are left out:

    - a line with whitespace at either end: A1111 strips every line (and the text as a whole);
    - a line starting with "Negative prompt:": it and the lines after it become the negative prompt;
    - a first line that is empty (the prompt starts with "\\n"): A1111 adds no "\\n" to an empty prompt.
    """
    lines = prompt.split("\n")
    return not prompt.startswith("\n") and all(line == line.strip() and not line.startswith(NEGATIVE) for line in lines)


PROMPT_LINE = st.lists(
    st.one_of(st.text(st.characters(exclude_characters="\n")), st.sampled_from([", ", ": ", '"', "\\", SETTINGS]))
).map("".join)
PROMPTS = st.lists(PROMPT_LINE, max_size=4).map("\n".join).filter(round_trips_in_a1111)
MODELS = st.sampled_from(["sd-turbo", "stabilityai/sd-turbo", "anime v2: final", 'my "best" model'])


@given(PROMPTS, st.integers(1, 50), st.integers(0, 2**32 - 1), st.integers(64, 2048), st.integers(64, 2048), MODELS)
def test_own_writer_round_trips_any_prompt(prompt, steps, seed, width, height, model):
    info = parse_parameters(a1111_parameters(prompt, steps, seed, width, height, model))
    assert (info.prompt, info.negative_prompt) == (prompt, "")
    assert (info.get_int("Steps"), info.get_int("Seed"), info.size, info.fields["Model"]) == (
        steps,
        seed,
        (width, height),
        model,
    )


def test_round_trip_exclusions_are_real():
    """Each excluded case really does not come back from A1111's parser (so excluding it is not hiding a bug)."""
    for prompt in [" fox", "fox\n  lantern", "Negative prompt: x", "\nfox"]:
        assert not round_trips_in_a1111(prompt)
        assert parse_parameters(a1111_parameters(prompt, 1, 1, 64, 64, "m")).prompt != prompt


def test_regex_is_a1111s():
    # from modules/infotext_utils.py, so an edit to PARAM shows up here
    assert PARAM.pattern == r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
    # and so is its quirk: a one-letter key is no key
    assert re.compile(PARAM.pattern).findall("Steps: 20, a: 1") == [("Steps", "20")]
