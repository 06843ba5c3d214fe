import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sdturbo.domain import DomainValidator
from sdturbo.domain.evaluate import evaluate, main, read_tsv, summary_line
from sdturbo.domain.validator import LATE_DOCUMENT
from sdturbo.errors import InvalidParameterError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def dev_rows():
    return read_tsv(DATA / "domain_dev.tsv")


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("a photorealistic portrait of a businessman in a suit, 85mm lens", "photographic"),
        ("raw photo of a street market, dslr, sharp focus", "photographic"),
        ("cctv footage of a parking garage at night", "photographic"),
        ("hyperrealistic octane render of a sneaker", "photographic"),
        ("photo of an anime figurine on a desk, 50mm", "photographic"),
        ("a bar chart of quarterly revenue by region", "document_or_data"),
        ("wireframe of a checkout page for a mobile app", "document_or_data"),
        ("a qr code on a poster", "document_or_data"),
        ("anime-style infographic about the water cycle", "document_or_data"),
        ("portrait of Barack Obama", "real_person"),
        ("Taylor Swift as a magical girl, anime style", "real_person"),
        # issue 17: medical imaging, printed matter, people named by office, other languages
        ("an x-ray of a cat's paw, kawaii", "document_or_data"),
        ("sheet music for a lullaby with cute notes", "document_or_data"),
        ("a poster that only says SUMMER SALE in bubbly anime lettering", "document_or_data"),
        ("the current Pope riding a dragon, anime style", "real_person"),
        ("the Prime Minister of Japan as a chibi", "real_person"),
        ("大谷翔平がホームランを打つ瞬間、漫画スタイル", "real_person"),
        ("무릎 MRI 영상", "document_or_data"),
        ("fotografía realista de un perro en la playa", "photographic"),
        # a review: a trailing "framed" or "pinned" does not make the thing asked for a prop in a scene
        ("photorealistic framed portrait of a woman", "photographic"),
        ("infographic framed on the wall about climate change", "document_or_data"),
        ("spreadsheet pinned to a wall of sales figures", "document_or_data"),
        # the memory's dev sets: photographs and documents by what they are, not by "photo" or "chart"
        ("satellite imagery of a river delta, true color", "photographic"),
        ("monthly calendar for April with cute bunny decorations in the margins", "document_or_data"),
        ("1girl, bar graph, infographic, chart, anime style", "document_or_data"),  # three: the picture's subject
        ("1girl, magical girl, qr code, scannable, simple background", "document_or_data"),  # a code, not a prop
        ("a fantasy map with labeled kingdoms, rivers and cities", "document_or_data"),
        # a review: a document is a prop only as a whole, object-like tag; one drawn on a wall is still asked for
        ("solo, x-ray of a hand, bones visible", "document_or_data"),
        ("1girl, schematic, circuit schematic, resistor values", "document_or_data"),
        ("solo, receipt, itemized receipt, prices", "document_or_data"),
        ("a flowchart chalked on the wall explaining the sales process", "document_or_data"),
        ("an infographic painted on a wall about climate change", "document_or_data"),
        ("Captain Jack Sparrow as played by Johnny Depp, with Depp's exact face", "real_person"),  # not a style
        ("make it look like it was snapped on an iPhone: a golden retriever chewing a slipper", "photographic"),
        ("現職の東京都知事を萌えキャラ化して", "real_person"),  # the current governor of Tokyo: one person
        ("the first woman to win a Nobel Prize, drawn as a shoujo heroine with sparkles", "real_person"),
        ("The Iron Lady of British politics piloting a giant mecha", "real_person"),
        ("A visual novel dialogue box interface with a name tag, text lines and a save/load menu", "document_or_data"),
    ],
)
def test_out_of_domain_is_rejected_with_category(validator, prompt, category):
    verdict = validator.validate(prompt)
    assert (verdict.allowed, verdict.category) == (False, category)
    assert verdict.reasons and verdict.effective_prompt is None
    assert 0.0 <= verdict.score < 0.5


@pytest.mark.parametrize(
    "prompt",
    [
        "anime girl with a camera",
        "graphic novel cover, a detective in the rain",
        "a starship firing a photon torpedo",
        "a young captain stands at the helm ready to chart a course through the storm",
        "map of a fantasy kingdom with dragons in the margins",
        "an inventor holding rolled-up blueprints in her workshop",
        "a serene mountain landscape at sunset",
        "a cozy coffee shop interior",
        "1girl, silver_hair, cel-shaded, anime screenshot",
        "a photographer girl waiting for the perfect light on a bridge",
        "a girl asleep at her desk, polaroids scattered on the floor",
        "semi-realistic anime portrait of an elf archer with realistic skin texture",
        "a wedding photographer crouching to frame a couple under white roses",
        "an elderly pope in a fantasy cathedral",
        "the goblin king on a throne of bones",
        "アニメの狐 、桜、café naïve — “smart quotes” ✨",  # issue 17: rejected as document_or_data before
        "une fille qui prend un selfie devant la tour Eiffel",
        # props in a scene: a document tag among character tags, chalk on walls, a camera around the neck
        "1girl, piano, sheet music, music stand, concert hall, black dress, spotlight",
        "1girl, taking photo, camera, ferris wheel, amusement park",
        "solo focus, sheet music, piano",
        "1girl, lab coat, microscope image on screen, science anime",
        "an anime girl with a family tree poster in a haunted mansion",
        "the caligula effect, anime key visual",  # a game, not the emperor
        "a ghost conductor waving a baton at an orchestra of skeletons, sheet music glowing on the stands",
        "an old battle robot being checked inside a giant X-ray scanner at a mech repair bay",
        "Una niña sacándole una foto a su gato en la azotea",
        "浴衣姿で夏祭りの屋台を写真に撮っている女の子",
        "Kid at an upright piano, sheet music sliding off the stand, afternoon sun through lace curtains",
        "A hiking photographer with a bulky camera and a long telephoto lens slung over his shoulder",
        "manga style: a girl striking a pose at a summer festival while her friend snaps a polaroid of her",
        "Rapariga a tirar fotografias com o telemóvel num miradouro de Lisboa",
        "A salaryman buried under spreadsheets and paperwork at his desk, cartoon stress lines everywhere",
        "The president of a high school photography club proudly showing off her lens collection",
        "聴診器を首にかけたうさぎのお医者さんが、MRI装置のある診察室で患者を待っている",
        "an iron lady golem guarding a forge",
        "shy boy with a polaroid camera hanging around his neck at a summer festival, fireworks overhead",
        "an inventor's workshop with diagrams chalked all over the walls, steampunk illustration",
        "a teacher scribbling equations on a whiteboard while half the class dozes off, slice of life",
        "manga panel: a swarm of paparazzi with flashing cameras mobbing a fictional idol on the red carpet",
    ],
)
def test_tricky_and_neutral_prompts_are_accepted(validator, prompt):
    verdict = validator.validate(prompt)
    assert verdict.allowed, verdict.reasons
    assert verdict.category in ("anime", "neutral")
    if verdict.band == "accept":
        assert verdict.suggestions == [] and verdict.score >= 0.5
    else:  # near the line: allowed all the same, with a note and rewrites on offer
        assert verdict.band == "middle" and verdict.note


def test_reasons_name_the_matched_words(validator):
    verdict = validator.validate("a photorealistic portrait of a businessman in a suit, 85mm lens")
    assert "photorealistic" in verdict.reasons[0] and "85mm" in verdict.reasons[0]
    assert "not documents" in " ".join(validator.validate("a pie chart of market share").reasons)


def test_suggestions_keep_the_subject(validator):
    verdict = validator.validate("a photorealistic portrait of a businessman in a suit, 85mm lens")
    assert 2 <= len(verdict.suggestions) <= 3
    assert all("businessman" in s and "85mm" not in s and "photo" not in s for s in verdict.suggestions)
    assert verdict.suggestions[0].startswith("anime portrait of a businessman in a suit")
    cat = validator.validate("a photo of a cat, 50mm")
    assert cat.suggestions[0] == "anime illustration of a cat, cel shading, clean lineart"
    dog = validator.validate("stock photo of a golden retriever playing in a park")
    assert all("golden retriever" in s for s in dog.suggestions)


def test_real_person_suggests_an_original_character(validator):
    verdict = validator.validate("Taylor Swift singing on stage")
    assert verdict.suggestions[0] == "anime illustration of an original dazzling pop star character singing on stage"
    assert not any("swift" in s.lower() for s in verdict.suggestions)


def test_document_suggests_a_scene_showing_the_idea(validator):
    verdict = validator.validate("a bar chart of quarterly sales")
    assert "rising arrow" in verdict.suggestions[0]


def test_every_suggestion_passes_over_the_dev_set(validator, dev_rows):
    for _label, prompt in dev_rows:
        verdict = validator.validate(prompt)
        if verdict.allowed:
            continue
        assert 2 <= len(verdict.suggestions) <= 3, prompt
        for suggestion in verdict.suggestions:
            assert validator.validate(suggestion).allowed, (prompt, suggestion)


def test_presets_apply_and_stay_in_domain(validator, dev_rows):
    assert {"anime", "cel", "ghibli_like", "chibi", "mecha", "manga_ink", "watercolor", "none"} <= set(validator.styles)
    assert all("{prompt}" in template for template in validator.styles.values())
    assert validator.rules.apply_style("  a fox ", "none") == "a fox"
    assert validator.rules.apply_style("a fox", "chibi").startswith("chibi a fox, super deformed")
    verdict = validator.validate("a lighthouse in a storm", style="manga_ink")
    assert verdict.effective_prompt == validator.rules.apply_style("a lighthouse in a storm", "manga_ink")
    accepted = [p for label, p in dev_rows if label == "accept"][:15]
    for style in validator.styles:
        for prompt in accepted:
            assert validator.validate(validator.rules.apply_style(prompt, style), "none").allowed, (style, prompt)


def test_preset_text_names_no_artist(validator):
    from sdturbo.domain.rules import default_rules

    people = [h.found for t in validator.styles.values() for h in default_rules().scan(t).people]
    assert people == []


def test_unknown_style_is_a_parameter_error(validator):
    with pytest.raises(InvalidParameterError, match="style: must be one of anime, cel, .*got 'vaporwave'"):
        validator.validate("a fox", style="vaporwave")


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "must not be empty"),
        ("   \t", "must not be empty"),
        ("a" * 1001, "must be at most 1000 characters, got 1001"),
    ],
)
def test_bad_prompts_raise_clear_errors(validator, prompt, message):
    with pytest.raises(InvalidParameterError, match=f"prompt: {message}"):
        validator.validate(prompt)


@pytest.mark.parametrize("prompt", ["猫耳の少女と桜の木", "Кот сидит на окне", "ein Wolf im Mondlicht", "🦊✨🌙", "¿?"])
def test_non_english_does_not_crash(validator, prompt):
    verdict = validator.validate(prompt)
    assert isinstance(verdict.allowed, bool) and verdict.mode == "keywords+embedding"


def test_keyword_only_fallback_when_the_model_cannot_load(caplog):
    caplog.set_level(logging.WARNING)
    fallback = DomainValidator("/nonexistent/embedding-model").load()
    fallback.load()  # a second load neither retries nor warns again
    assert fallback.mode == "keywords"
    assert len([r for r in caplog.records if "using keywords only" in r.message]) == 1
    rejected = fallback.validate("a photo of a cat, 50mm")
    assert (rejected.allowed, rejected.category, rejected.mode) == (False, "photographic", "keywords")
    neutral = fallback.validate("a lighthouse in a storm")
    assert (neutral.allowed, neutral.category, neutral.mode) == (True, "neutral", "keywords")


def test_verdict_is_json_ready(validator):
    data = validator.validate("a photo of a cat").to_dict()
    assert set(data) >= {"allowed", "category", "score", "reasons", "suggestions", "effective_prompt", "mode"}


def test_threads_can_share_one_validator(validator):
    prompts = ["a fox in the snow", "a photo of a dog, 35mm", "a diagram of an engine", "a dragon"] * 8
    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(validator.validate, prompts))
    assert [v.allowed for v in verdicts[:4]] == [True, False, False, True]


def test_style_reference_is_not_a_depiction(validator):
    assert validator.validate("a quiet harbor town, makoto shinkai style").allowed
    assert validator.validate("a pond with water lilies in the style of claude monet").allowed
    assert validator.validate("Hayao Miyazaki sketching at his desk").category == "real_person"


def test_no_substring_false_hits(validator):
    from sdturbo.domain.rules import default_rules

    evidence = default_rules().scan("photonic graphics, a photographer, a telegraph, paragraphs of a chartreuse sky")
    assert evidence.rejects == {} and evidence.people == []


@pytest.mark.parametrize(
    ("name", "floor", "remembered"),
    [("domain_dev.tsv", 0.97, True), ("domain_holdout.tsv", 0.97, False), ("domain_test.tsv", 0.97, True)],
)
def test_quality_does_not_regress(request, name, floor, remembered):
    """A set in the memory is scored without it (remembered, it would score itself)."""
    scored = evaluate(request.getfixturevalue("unremembered" if remembered else "validator"), read_tsv(DATA / name))
    line = summary_line(scored)
    assert re.fullmatch(
        r"accuracy=\d\.\d{3} accept_recall=\d\.\d{3} reject_recall=\d\.\d{3} p50_ms=\d+\.\d p95_ms=\d+\.\d "
        r"middle=\d\.\d{3}",
        line,
    )
    assert float(line.split()[0].split("=")[1]) >= floor, line


def test_cli_prints_verdict_and_eval_summary_last(capsys, tmp_path):
    assert main(["a photo of a cat", "--embedding-model", "none"]) == 0
    assert '"category": "photographic"' in capsys.readouterr().out
    tsv = tmp_path / "mini.tsv"
    tsv.write_text("label\tprompt\naccept\ta fox\nreject\ta photo of a cat\n", encoding="utf-8")
    assert main(["--eval", str(tsv), "--embedding-model", "none"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("confusion matrix") and out[-1].startswith("accuracy=1.000 accept_recall=1.000")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("prompt\tlabel\naccept\ta fox\n", "first line must be the header"),
        ("label\tprompt\nmaybe\ta fox\n", "line 2: expected 'accept' or 'reject'"),
        ("label\tprompt\n", "has no labeled prompts"),
    ],
)
def test_cli_eval_rejects_bad_files(tmp_path, capsys, content, message):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text(content, encoding="utf-8")
    assert main(["--eval", str(tsv), "--embedding-model", "none"]) == 2
    assert message in capsys.readouterr().err


def test_cli_needs_prompt_or_eval(capsys):
    assert main([]) == 2
    assert main(["--eval", "/nonexistent.tsv", "--embedding-model", "none"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_eval_file_errors_name_the_flag_once(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\tprompt\nmaybe\ta fox\n", encoding="utf-8")
    assert main(["--embedding-model", "none", "--eval", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"error: --eval: {bad} line 2: expected 'accept' or 'reject'" in err and "----eval" not in err


def test_reasons_explain_an_allowed_verdict(validator):
    """Issue 17: 'a realistic sword' was allowed with the reason 'asks for a photograph'."""
    verdict = validator.validate("a realistic sword")
    assert verdict.allowed and verdict.band == "accept"
    assert not any(reason.startswith("asks for") for reason in verdict.reasons)
    assert any("\u2018realistic\u2019: read as part of the picture" in reason for reason in verdict.reasons)


def test_rewrites_drop_camera_and_quality_words(validator):
    """Issue 17: the subject of 'cinematic lighting, 8k, dslr, a knight' is the knight."""
    verdict = validator.validate("cinematic lighting, 8k, dslr, a knight")
    assert not verdict.allowed and verdict.suggestions
    assert all("a knight" in s and "cinematic" not in s and "8k" not in s for s in verdict.suggestions)


@pytest.mark.parametrize("prompt", ["in the style of ansel adams, a valley", "a valley in the manner of Ansel Adams"])
def test_a_photographers_style_asks_for_a_photograph_and_the_rewrites_keep_the_scene(validator, prompt):
    """Round 35: a photographer's manner is a photograph's look; the rewrites draw the valley, with no
    "style of" left dangling once the name is cut out."""
    verdict = validator.validate(prompt)
    assert not verdict.allowed and verdict.category == "photographic" and "ansel adams" in verdict.reasons[0]
    assert verdict.suggestions and all("a valley" in s and "style of" not in s for s in verdict.suggestions)


class _StubIndex:
    """An embedding stage whose similarities the test chooses: accept vs photographic."""

    multilingual = False

    def __init__(self, accept: float, photo: float) -> None:
        self.scores = {"accept": accept, "photographic": photo, "document_or_data": 0.0}

    def nearest(self, text):
        from sdturbo.domain.embedding import Nearest

        return {name: Nearest(score, f"an example of {name}", score) for name, score in self.scores.items()}


@pytest.mark.parametrize(
    ("accept", "photo", "band", "allowed"),
    [(0.60, 0.40, "accept", True), (0.50, 0.52, "middle", True), (0.40, 0.60, "reject", False)],
)
def test_three_bands(accept, photo, band, allowed):
    validator = DomainValidator("none").load()
    validator.index = _StubIndex(accept, photo)
    verdict = validator.validate("a lighthouse keeper on a stormy night")
    assert (verdict.band, verdict.allowed) == (band, allowed)
    if band == "middle":  # allowed, with a gentle note and the anime rewrites offered
        assert "close to the line" in verdict.note and "photograph" in verdict.note
        assert verdict.suggestions and all("lighthouse keeper" in s for s in verdict.suggestions)
        assert verdict.effective_prompt
    else:
        assert verdict.note is None
    assert bool(verdict.suggestions) == (band != "accept")


TAGS = "masterpiece, best quality, 1girl, solo, silver_hair, (school uniform:1.2), cherry blossoms"


def test_tag_prompts_are_in_the_domain_and_get_their_phrase(validator):
    verdict = validator.validate(TAGS)
    assert verdict.allowed and verdict.band == "accept"
    assert verdict.tag_phrase.startswith("a girl") and "silver hair" in verdict.tag_phrase
    assert "masterpiece" not in verdict.tag_phrase and not verdict.tag_applied
    assert verdict.effective_prompt.startswith(TAGS)  # "suggest": shown before generating, not applied
    assert validator.validate("a girl with silver hair under cherry blossoms").tag_phrase is None
    assert validator.validate(verdict.tag_phrase).tag_phrase is None  # the phrase itself: nothing more to offer


def test_tags_apply_and_off():
    applied = DomainValidator("none", tags="apply").validate(TAGS)
    assert applied.tag_applied and applied.effective_prompt.startswith(applied.tag_phrase)
    assert DomainValidator("none", tags="apply").render(TAGS, "none") == applied.tag_phrase
    off = DomainValidator("none", tags="off").validate(TAGS)
    assert off.allowed and off.tag_phrase is None and off.effective_prompt.startswith(TAGS)
    with pytest.raises(InvalidParameterError, match="tags: must be one of suggest, apply, off"):
        DomainValidator("none", tags="convert")


@pytest.mark.parametrize(
    "prompt", ["anime style, photorealistic, 1girl, red hair", "unreal engine 5, anime knight, volumetric fog"]
)
def test_a_photograph_asked_for_in_anime_style_is_still_a_photograph(validator, prompt):
    """docs/DOMAIN_POLICY.md: the style does not change what is asked for."""
    verdict = validator.validate(prompt)
    assert not verdict.allowed and verdict.category == "photographic" and verdict.band == "reject"


def test_east_asian_terms_are_only_skipped_where_they_cannot_match():
    """Terms written in CJK, kana or Hangul alone are not scanned for prompts without such characters: on
    every Latin-script prompt of the dev sets, none of them would have matched."""
    from sdturbo.domain.rules import _EAST_ASIAN, default_rules, normalize

    rules = default_rules()
    skipped = [t for terms in [rules.neutral, rules.anime, rules.people, *rules.rejects.values()] for t in terms]
    skipped = [t for t in skipped if t.east_asian]
    assert len(skipped) > 100
    prompts = [normalize(p) for name in ("dev", "tags_dev", "multilingual_dev", "borderline_dev")
               for _, p in read_tsv(DATA / f"domain_{name}.tsv")]  # fmt: skip
    latin = [p for p in prompts if not _EAST_ASIAN.search(p)]
    assert len(latin) > 300
    assert not [(t.text, p) for t in skipped for p in latin if t.pattern.search(p)]


@pytest.mark.slow  # every labelled set (about 4 400 prompts): the default suite checks three above
@pytest.mark.parametrize(
    ("name", "floor"),
    [
        *[(f"domain_{s}.tsv", 0.97) for s in ("tags_dev", "tags_test", "multilingual_dev", "borderline_dev")],
        *[(f"domain_borderline_{s}.tsv", 0.97) for s in ("dev2", "dev3", "test5", "test6", "test7", "test8")],
        *[(f"domain_borderline_{s}.tsv", 0.97) for s in ("test9a", "test9b", "test10a", "test10b")],
        ("domain_general_test8.tsv", 0.97),
        *[(f"domain_{s}_test6.tsv", 0.97) for s in ("tags", "multilingual")],
        ("domain_multilingual_test7.tsv", 0.97),
        ("domain_general_test5.tsv", 0.97),
        *[(f"domain_multilingual_{s}.tsv", 0.95) for s in ("test", "test2", "test3")],
        *[(f"domain_borderline_{s}.tsv", 0.93) for s in ("test", "test2", "test3", "test4")],
    ],
)
def test_every_labelled_set_keeps_its_floor(unremembered, name, floor):
    """Floors below what each set scores now without the memory that holds it (1.000 on the sets tuned on;
    see the README's table for the first scoring of each fresh set): a change to the rules that loses ground
    fails here."""
    scored = evaluate(unremembered, read_tsv(DATA / name))
    line = summary_line(scored)
    assert float(line.split()[0].split("=")[1]) >= floor, line
    assert float(line.split()[1].split("=")[1]) >= floor, line  # accept recall


def test_a_document_named_late_in_a_scene_is_left_to_the_embedding_stage(unremembered):
    """Named at the start, a chart is the request and the keywords reject it; six words into a scene it is not a
    clear case: the embedding stage judges it (here: allowed, near the line, with the note and rewrites)."""
    assert LATE_DOCUMENT == 6
    early = unremembered.validate("a bar chart of quarterly revenue, anime girl mascot waving beside it")
    assert (early.allowed, early.stage) == (False, "keywords")
    late = unremembered.validate("a cute anime girl mascot standing next to a huge bar chart of quarterly revenue")
    assert late.stage == "embedding" and late.allowed
    assert any("‘bar chart’" in reason and "read as part of the picture" in reason for reason in late.reasons)
    photo = unremembered.validate("a cute anime girl mascot standing next to a bar chart, photorealistic, 85mm")
    assert (photo.allowed, photo.stage, photo.category) == (False, "keywords", "photographic")  # asked: decided
    assert not any("asks for a document" in reason for reason in photo.reasons)  # the chart is in the photograph


def test_rewrites_of_a_middle_prompt_keep_its_own_subject(unremembered):
    """Near the line a prompt is allowed; the anime rewrites offered keep what it draws (the chart is part of the
    picture), before any rewrite for the class it was close to."""
    from sdturbo.domain.rewrite import suggest

    prompt = "a cute anime girl mascot standing next to a huge bar chart of quarterly revenue"
    evidence = unremembered.rules.scan(prompt)
    candidates = suggest(evidence, "middle", unremembered.rules, "document_or_data")
    assert candidates[0] == (
        "anime illustration of a cute girl mascot standing next to a huge bar chart of quarterly revenue, "
        "cel shading, clean lineart"
    )
    assert candidates[3:] == suggest(evidence, "document_or_data", unremembered.rules)  # then the class's own
    # the curated examples alone (no memory, which grows with every labelled set) put this one near the line
    verdict = unremembered.validate("a crowd of frog paparazzi flashing cameras at a celebrity toad on a lily pad")
    assert (verdict.allowed, verdict.band) == (True, "middle") and verdict.note
    assert verdict.suggestions and all("frog paparazzi" in s for s in verdict.suggestions)


def test_a_name_is_shown_as_written_even_where_a_word_of_it_was_read_first(validator):
    """ "painted" is an anime word, read before the people: the reason still quotes the words the user wrote."""
    verdict = validator.validate("The man who painted the Sistine Chapel ceiling, as a grumpy anime artist")
    assert (verdict.allowed, verdict.category) == (False, "real_person")
    assert "‘the man who painted the sistine chapel’" in verdict.reasons[0]


def test_someone_named_first_makes_a_later_document_or_camera_an_open_case(unremembered):
    """A prompt that opens with someone who acts draws them: the spreadsheet or lens after them goes to the
    embedding stage. A compound ("a robot blueprint"), a possessive ("a girl's report card") or a document
    named first stays a clear rejection, and so does a photograph asked for in so many words."""
    for prompt in (
        "a tired salaryman yelling at the spreadsheets on his monitor",
        "a scientist jabbing at the bar chart while her assistant dozes off, comedic",
    ):
        assert unremembered.validate(prompt).stage == "embedding", prompt
    # on a board it is a thing in the room, whoever comes first
    on_board = unremembered.validate("a scientist jabbing at a chart on the whiteboard while her assistant dozes off")
    assert (on_board.allowed, on_board.stage) == (True, "keywords")
    rules = unremembered.rules
    assert rules.acts_before(rules.scan("a tired salaryman yelling at the spreadsheets"))
    assert not rules.acts_before(rules.scan("spreadsheets on the monitor of a salaryman"))
    for prompt in (
        "a robot blueprint",
        "a girl's report card with grades",
        "bar chart of sales with a knight",
        "a cat feeding schedule spreadsheet",  # the words between are modifiers, not someone acting
        "a knight armor parts diagram",
        "a knight with full stat block, armor class and hit points listed, parchment",
    ):
        verdict = unremembered.validate(prompt)
        assert (verdict.allowed, verdict.stage, verdict.category) == (False, "keywords", "document_or_data"), prompt
    photo = unremembered.validate("a girl in a cafe, photorealistic, 85mm")
    assert (photo.allowed, photo.stage, photo.category) == (False, "keywords", "photographic")


NINTH_ROUND = [
    ("a chubby hamster named Einstein wearing tiny round glasses", True),  # a pet's name
    ("Napoleon the pig from Animal Farm giving a speech", True),
    ("Einstein at a chalkboard, anime style", False),  # the person
    ("a politician named Barack Obama giving a speech, anime", False),  # only a pet takes the name off
    ("anime girl photographer crouching with her DSLR to shoot pigeons", True),  # her camera: a thing she has
    ("a ghost waving cheerfully at a security camera in an empty school hallway", True),
    ("streamer girl with cat-ear headphones, webcam and RGB keyboard on the desk, cozy bedroom", True),
    ("楽譜が舞い散る中でバイオリンを弾く少女、月夜", True),  # sheet music flying about the scene
    ("headshot of my OC for a profile icon: pink hair, freckles", True),  # a commission type
    ("professional linkedin headshot, gray backdrop, navy suit", False),
    ("security camera footage of a ghost in a school hallway", False),
    ("train station platform, departure board glowing overhead, a boy waiting with a suitcase", True),
    ("a two-page contract between a witch and a demon, with numbered clauses and signature lines", False),
    ("a certidão de nascimento de um personagem de anime, com carimbo e assinatura", False),
    ("一张标注省份名称的中国地图，卡通风格", False),  # a map labelled with province names
    ("the woman who discovered radium, drawn as a glowing alchemist", False),
    ("the sprinter who holds the 100m world record striking his lightning pose, anime", False),
    ("the last Tokugawa shogun in exile", False),
    ("the last king of a fallen fantasy realm", True),  # no real dynasty: a generic role
]


TENTH_ROUND = [
    ("T4ylor Sw1ft but as a 1girl, blonde, (guitar:1.2)", False),  # a name in leetspeak
    ("1girl, 2boys, 5e dice on the table, a 2022 calendar on the wall", True),  # digits that are not leetspeak
    ("a photo finish at a cartoon snail race, crowd of bugs cheering", True),
    ("anime idol backstage at a photoshoot, camera flashes, mirror lights", True),
    ("photoshoot of a woman in a red dress, studio lighting", False),
    ("ライトボックスにレントゲン写真を貼る獣医さん、ちびキャラ", True),  # an X-ray being pinned up
    ("monster stat block for an owlbear, parchment style", False),
    ("gacha game settings screen UI with toggle buttons and volume sliders, anime theme", False),
    ("a fantasy map of my campaign world with every kingdom and city labeled", False),
    ("a girl holding a map with her house labeled, anime", True),
    ("anime-style menu for a maid café with item names and prices", False),
    ("whoever is Pope right now, waving from the Vatican balcony, anime style", False),
    ("the first emperor of China among his terracotta army, anime", False),
    ("the goalkeeper who saved Argentina in the 2022 World Cup final shootout, shonen sports style", False),
    ("a goalkeeper diving for the ball in a rainy cup final, shonen sports style", True),
    ("the man who painted the Mona Lisa, at work in his studio, anime", False),
    ("the composer of the Moonlight Sonata conducting in a storm, manga", False),
    ("IU in a hanbok, watercolor", False),
]


REVIEWED = [  # the review's repros: names with digits, leetspeak, a pet word that starts a longer noun, cameras
    ("s1mple clutching a 1v5 in a dark alley, anime style", False),  # a listed name with a digit, read as is
    ("Barack 0bama in a mecha, anime", False),
    ("T4ylor Swif7 as a magical girl", False),
    ("Taylor Swift the cat girl, anime style", False),
    ("Barack Obama the robot president, anime", False),
    ("a doll named Taylor Swift", False),
    ("my cat sleeping on the sofa, taken with my DSLR", False),
    ("a ghost seen through their security camera at night", False),
    ("a girl waving at the webcam, low resolution video call frame", False),
    ("a bustling bakery during opening hours, warm light, anime", True),
    ("sealing a blood contract between two vampires under a red moon, dark fantasy", True),
    ("a tired salaryman doom-scrolling LinkedIn on the train, anime", True),
    ("a cat who holds the world record for the longest nap, anime", True),
    ("the goalkeeper of a robot team at the 2099 galactic cup final", True),
    ("a cat dancing to hotline bling, cartoon", True),
    ("oil painting of a knight, dramatic caravaggio lighting, chiaroscuro", True),
    ("a 30 cm punk rock girl figurine on a shelf, anime", True),
]


ELEVENTH_ROUND = [  # first-scoring errors of round 11 (fixed) and neighbours that stay allowed
    ("the Jamaican sprinter who won the 100m at three straight Olympics, as a shonen manga hero", False),
    ("the Argentine number 10 lifting the 2022 World Cup trophy, anime key visual", False),
    ("토트넘의 전 주장이었던 한국 축구 선수가 찰칵 세리머니하는 장면, 애니 스타일", False),
    ("the Roman emperor who fiddled while Rome burned, dramatic manga panel", False),
    ("the deaf composer of the Ninth Symphony conducting a storm, dramatic anime", False),
    ("the woman who wrote the Harry Potter books signing autographs, chibi", False),
    ("the Chief Justice of the US Supreme Court in robes, anime courtroom", False),
    ("東京都知事が満員電車に乗っている漫画", False),
    ("the winner of the 2024 US presidential election riding a dragon, comic", False),
    ("the owner of X, formerly Twitter, as a cyberpunk villain", False),
    ("the man who won the men's 100m at the Paris 2024 Olympics, anime sprint scene", False),
    ("the last shogun of Japan handing power back to the emperor, ukiyo-e style", False),
    ("Beethoven conducting through a thunderstorm, dramatic anime", False),
    ("截拳道的创始人,穿黄色连体衣,动漫风格", False),
    ("authentic 1860s daguerreotype of a young soldier in uniform", False),
    ("1boy, (real human:1.5), (not anime:1.4), street snap, natural light, shallow focus", False),
    ("school yearbook picture of a class sitting in three rows in the gym", False),
    ("indistinguishable from reality: a farmer's weathered hands holding soil, macro close-up", False),
    ("make the dragon look like it really exists, as if someone filmed it in the wild", False),
    ("cliché de reportage authentique d'un marché aux poissons à l'aube, grain argentique", False),
    ("a surgeon mid-operation, documentary photojournalism in the Magnum agency tradition", False),
    ("can u make it look like a real pic i took on my phone, my cat asleep on the sofa", False),
    ("an anime cosplayer at a convention shot like a real magazine spread, actual human model", False),
    ("a scene from a Hollywood adaptation of a fictional anime, real actors in costume on set", False),
    ("astronaut repairing the space station, in the look of a NASA archive image, real", False),
    ("来月のシフト表、スタッフ名と時間帯入り、アニメ風デザイン", False),
    ("(decision tree:1.3), boxes, arrows, emergency room triage, white background", False),
    ("an annotated cross-section of a volcano with every layer labelled, textbook style", False),
    ("a star chart of the northern sky with every constellation name labelled", False),
    ("a cafe's list of drinks and prices in chalk lettering, ready to print", False),
    ("the wine list page of a fancy Italian restaurant, elegant serif font", False),
    ("a navigator unrolling a star chart on the deck of a sky ship", True),  # neighbours that stay allowed
    ("a robot who wants to become a real human, anime", True),
    ("the mayor of a small mountain village greeting travelers, anime", True),
    ("the chief justice of the galactic court in flowing robes", True),
    ("a girl playing Für Elise on an old piano, rainy window", True),
    ("the goalkeeper of a robot team at the 2099 galactic olympics", True),
    ("a tavern maid reading the wine list to a dwarf, cozy fantasy", True),
]


TWELFTH_ROUND = [  # first-scoring errors of round 12 (fixed) and neighbours that stay allowed
    ("The one-eyed dragon of Ōshū in his crescent moon helmet", False),  # nicknames
    ("The Lady with the Lamp walking through a Crimean war hospital ward at night", False),
    ("the Maid of Orléans leading the charge at the siege, anime key visual", False),
    ("The WWI German flying ace known as the Red Baron in his triplane", False),
    ("His Airness dunking from the free throw line, cartoon", False),
    ("the Sun King dancing in the Hall of Mirrors, shoujo anime sparkles", False),
    ("o Rei do Futebol brasileiro com a camisa 10 em estilo anime", False),
    ("le petit caporal corse traversant les Alpes sur un cheval cabré, façon manga", False),
    ("a sun king of a solar empire on a golden throne", True),  # no article: a role, not Louis XIV
    ("a red baron of the sky pirates in his triplane", True),
    ("the longest-reigning British monarch having tea with her corgis, storybook illustration", False),  # described
    ("the physicist in a wheelchair who wrote A Brief History of Time, pixel art", False),  # a deed
    ("The guy who bought Twitter and renamed it X as an anime villain", False),
    ("中国第一位进入太空的航天员在飞船里挥手,动漫风", False),
    ("1boy, (faker:1.2), t1 jersey, gaming chair, esports arena, anime", False),
    ("the first emperor of Qin inspecting his terracotta army, ink wash painting", False),
    ("can you make the surgeon in this operating theater scene look like an actual person and not a drawing", False),
    ("an astronaut floating in the ISS cupola, lit like an actual NASA press release image, no illustration", False),
    ("quero uma imagem que pareça real, nada de desenho, de um pescador puxando a rede em Nazaré", False),
    ("1girl, street, night, (realistic:1.4), (film grain:1.2), (taken with iphone:1.3), candid", False),
    ("masterpiece, 1boy, basketball court, (real world:1.4), (camera raw:1.2), sweat, natural light", False),
    ("no humans, food focus, cheeseburger, (commercial packshot:1.3), white background, studio strobes", False),
    ("turn this anime girl into a real cosplayer photographed at a convention hall, natural skin", False),
    ("用佳能5D拍的,夕阳下海边的一对情侣", False),
    ("footage from a truck's windshield recorder as it slides across an icy highway in Siberia", False),
    ("Boxes and arrows showing step by step how a bill becomes law, manga style", False),
    ("The bracket for a 16-player fighting game tournament, names on each line", False),
    ("a hiking trail map of Mount Takao with trail names, rest stops and elevation labels", False),
    ("一张医院的挂号单，包括姓名、科室和就诊时间", False),
    ("draw me a scannable code that opens my Instagram, but make the squares look like manga panels", False),
    ("a cat's anatomy as a labelled cross-section for a veterinary textbook", False),
    ("hospital department hierarchy as boxes connected by lines, director at the top", False),
    ("The front cover of this morning's Yomiuri Shimbun with all the headlines", False),
    ("The dessert list of a French bistro with prices in euros, elegant typography", False),
    ("the settings page of a rhythm game, sliders for volume and note speed, flat UI", False),
    ("a dashcam stuck to the windshield of a cartoon delivery van, the driver is a grumpy bear", True),
    ("a chibi astronaut taking a picture of Earth through the space station window", True),
    ("a girl who is not an anime fan reading a novel by the window", True),
]


THIRTEENTH_ROUND = [  # first-scoring errors of round 13 (fixed) and neighbours
    ("2girls, classroom, chalkboard, graph on chalkboard, school uniform, afternoon, window", True),  # props
    ("1girl, solo, nurse cap, x-ray lightbox, hospital, night, (worried:1.2), masterpiece", True),
    ("白衣の少女がレントゲン写真をじっと見つめている病院のワンシーン、アニメ調", True),
    ("黒板にグラフが描かれた教室で居眠りする男子生徒", True),
    ("un détective qui glisse une photo compromettante dans une enveloppe, style BD", True),
    ("graph of quarterly sales, clean corporate colors", False),  # the graph itself is still a request
    ("the guy who owns SpaceX riding a rocket like a horse", False),
    ("the Tesla and SpaceX boss riding a dragon over Mars", False),
    ("ジブリを作った宮崎監督が机で絵を描いている様子", False),
    ("hyperreal close-up of a dew-covered spider web at sunrise", False),
    ("an iPhone shot of my breakfast from overhead, natural window light", False),
    ("what my knee looks like inside the magnetic scanner, grayscale cross-section slices", False),
    ("a bowl of ramen that should look 100% real, like you could eat it, food magazine quality", False),
    ("cliché pris au téléobjectif d'un renard dans la neige, comme dans un magazine animalier", False),
    ("turn this anime girl into an actual human in a real room with real lighting", False),
]

FOURTEENTH_ROUND = [  # first-scoring errors of round 14 (fixed) and neighbours
    ("masterpiece, best quality, 1girl, solo, holding camera, polaroid pictures scattered on the bed", True),
    ("kids racing down a slide at the playground, anime", True),
    ("the amazon warrior queen who founded a kingdom, anime", True),
    ("종이비행기를 만든 아이, 애니", True),
    ("a polaroid photo of my cat", False),
    ("the Swiss tennis maestro with eight Wimbledon titles raising the trophy, dramatic anime key visual", False),
    ("the first woman to win two Nobel prizes working in her lab, manga biography panel", False),
    ("the guy who founded Amazon as a bald cyberpunk villain", False),
    ("the YouTuber famous for giving away millions in challenge videos, cartoon style", False),
    ("the man who first walked on the moon planting the flag, anime", False),
    ("the Dodgers' Japanese two-way superstar hitting a walk-off home run, shonen style", False),
    ("本能寺で倒れた戦国大名、燃える寺、アニメ風", False),
    ("1boy, old man, wild white hair, tongue out, physicist who came up with E=mc2", False),
    ("在火箭队打球的那位中国中锋，扣篮瞬间", False),
    ("강남스타일 부른 가수가 말춤 추는 장면", False),
    ("1girl, solo, (true-to-life skin texture:1.3), natural window light, captured on a full-frame sensor", False),
    ("Google Street View capture of a rural road in Hokkaido", False),
    ("e-commerce listing image of a PVC anime figure on a pure white background", False),
    ("a slide summarizing our Q3 results with a chibi mascot pointing at the numbers", False),
    ("웹사이트 메인 페이지 UI 시안, 파스텔 애니 감성", False),
    ("a table listing HP, ATK and DEF for each of my OCs", False),
    ("cliché argentique grain Tri-X d'un marché parisien au petit matin", False),
]
FIFTEENTH_ROUND = [  # first-scoring errors of round 15 (fixed) and neighbours
    ("a detective's corkboard with photos and red string, the tired detective staring at it, anime", True),
    ("사진기를 든 소년, 해바라기 밭, 지브리 느낌", True),
    ("a kaiju stomping through a harbor city while tiny cartoon reporters film it on camcorders", True),
    ("a kid who drew a turtle ship in her notebook, anime", True),
    ("the four lads from Liverpool crossing Abbey Road, chibi style", False),
    ("the patent clerk who came up with E=mc², sticking out his tongue, anime", False),
    ("the cosmologist in a wheelchair who wrote A Brief History of Time, floating among galaxies", False),
    ("ソチと平昌で金メダルを取った日本の男子フィギュアスケーターを少女漫画風に", False),
    ("写《静夜思》的那位唐朝诗人在月下喝酒，国漫风", False),
    ("统一六国、修建兵马俑的那位皇帝，Q版", False),
    ("한글을 만든 조선의 왕을 애니풍으로 그려줘", False),
    ("거북선을 만든 장군이 칼을 든 모습, 웹툰 스타일", False),
    ("2010 밴쿠버 올림픽 피겨 금메달리스트를 만화풍으로", False),
    ("l'empereur corse sacré à Notre-Dame en 1804, en chibi", False),
    ("an anime girl rendered as a real person, photographic skin texture, natural daylight", False),
    ("a girl at a bus stop in the rain, it should pass for something taken with a real camera", False),
    ("a still from a 1990s camcorder home video of a kid's birthday party", False),
    ("long-exposure night shot of car light trails on a highway overpass", False),
]
SIXTEENTH_ROUND = [  # first-scoring errors of round 16 (fixed) and neighbours
    ("a detective's desk with case files, a magnifying glass and a faded photograph, moody anime still life", True),
    ("엑스레이 사진을 보며 고민하는 의사, 만화 컷, 긴장감", True),
    ("une détective en imperméable examine une vieille photographie sous une lampe, style manga noir", True),
    ("the girl who led the march of the toy soldiers, anime", True),
    ("a white death knight in a snowy forest, anime", True),
    ("a faded photograph of a 1950s diner", False),
    ("the Italian astronomer put on trial for saying the Earth moves, looking through his telescope", False),
    ("the Australian crocodile hunter in khaki shorts wrestling a croc, cartoon", False),
    ("la pintora mexicana famosa por sus autorretratos con cejas unidas, estilo manga", False),
    ("el autor de Cien años de soledad dibujado como personaje de anime", False),
    ("l'auteur des Misérables écrivant en exil à Guernesey, style manga", False),
    ("the lawyer who led the Salt March, walking with his staff, soft pastel colors", False),
    ("the Father of the Nation of India spinning cotton at his wheel, gentle illustration", False),
    ("America's commander-in-chief saluting a line of Marines, anime", False),
    ("make it look like something I snapped on my iPhone: my cat asleep on a sunny windowsill", False),
    ("a cat on a windowsill that looks like it came straight off an iPhone camera roll", False),
    ("an RPG character stats screen listing STR, DEX and INT values and equipment slots, no background art", False),
    ("decision tree with yes/no boxes and arrows, chibi mascot pointing at each step", False),
]
SEVENTEENTH_ROUND = [  # first-scoring errors of round 17 (fixed) and neighbours
    ("1girl, solo, holding camera, photo (object), city, night, neon lights", True),
    ("una chica con una cámara de fotos en el parque, estilo anime", True),
    ("a girl who sings shake it off at karaoke, anime", True),
    ("a robot who freed the slaves of the mining colony, anime", True),
    ("the president who freed the slaves, stovepipe hat, anime", False),
    ("my cat sleeping on the couch, should look like I took it with my iPhone", False),
    ("a bowl of ramen shot from above like a food blogger's post, natural window light", False),
    ("거북선을 만든 조선의 제독, 애니메이션 스타일", False),
    ("que parezca tomada con el móvil: una calle de Madrid de noche, gente real", False),
    ("que parezca sacado con una cámara de verdad, un perro corriendo en la playa", False),
    ('the singer of "Shake It Off" as a fantasy princess', False),
    ("a signup form for my cosplay club with name and email fields", False),
    ("a scan of a handwritten letter with fold lines, like it came off the office scanner", False),
    ("秦朝第一个皇帝站在长城上，动漫风格", False),
]
EIGHTEENTH_ROUND = [  # first-scoring errors of round 18 (fixed) and neighbours
    ("um detetive analisando fotografias num quadro de cortiça, mangá noir", True),
    ("a jewel thief sneaking through a museum at night, CCTV cameras blinking on the walls", True),
    ("an anime girl posing at a cosplay shoot with photographers around her, anime style", True),
    ("a frog jumping into an old pond, ukiyo-e style", True),
    ("a girl reading Don Quijote in the library, anime", True),
    ("the father of the Indian nation spinning cotton on a charkha, watercolor", False),
    ("commercial food shot of a bowl of ramen, steam, studio strobes, shot from 45 degrees", False),
    ("a product packshot of an anime figure on a pure white background for an online store listing", False),
    ("Goku cosplay shoot at a convention, real person in costume, natural light", False),
    ("captura con el móvil de un gato en una terraza de Madrid, sin filtros, realismo total", False),
    ("the Russian cosmonaut who first orbited the Earth, smiling in his helmet, anime", False),
    ("an anime girl but rendered so she looks like an actual woman, visible skin pores and peach fuzz", False),
    ("富嶽三十六景を描いた浮世絵師の肖像、アニメ調", False),
    ("el autor del Quijote escribiendo con pluma, estilo anime", False),
    ("le peintre des Nymphéas devant son étang, style manga", False),
]
NINETEENTH_ROUND = [  # first-scoring errors of round 19 (fixed) and neighbours
    ("1boy, photographer, holding camera, dslr strap around neck, rooftop, sunset, depth of field", True),
    ("A cyberpunk alley lined with CCTV cameras and flickering holographic ads", True),
    ("Count Dracula from the Bram Stoker novel in his crumbling castle, gothic illustration", True),
    ("a pianist turning pages of sheet music on a moonlit stage", True),
    ("CCTV camera footage of a raccoon", False),
    ("Bram Stoker writing at his desk, anime", False),
    ("the woman who wrote the Harry Potter books signing autographs, chibi", False),
    ("the Eras Tour singer as an anime girl with red lipstick", False),
    ("徳川幕府を開いた初代将軍をアニメ風に描いて", False),
    ("第一个进入太空的苏联宇航员，动漫风格", False),
    ("한글을 창제한 조선의 왕, 웹툰 스타일", False),
    ("le général de l'appel du 18 juin en style manga", False),
    ("la carte d'une crêperie avec tous les prix, mascotte kawaii", False),
    ("a tier list of this season's anime openings with the S to F rows filled in", False),
]
TWENTIETH_ROUND = [  # first-scoring wrong rejections of round 20 (fixed) and neighbours
    ("flat cel-shaded anime, no photorealism, a girl eating shaved ice on a porch", True),
    ("a girl, not photorealistic skin, anime", True),
    ("アニメ風の女の子が photo を撮ってる, 渋谷, night, city lights", True),
    ("架空の島国で総理大臣をしているペンギン", True),
    ("편의점에서 긴 영수증을 들고 한숨 쉬는 알바생", True),
    ("une photographe amateur qui prend des chats en photo dans les rues de Montmartre, style manga", True),
    ("photorealistic portrait of a cat, not realistic enough", False),
    ("日本の総理大臣がスピーチしている", False),
]
TWENTY_FIRST_ROUND = [  # first-scoring errors of round 21 (fixed) and neighbours
    ("의사 캐릭터가 엑스레이 필름을 들여다보는 병원 장면", True),
    ("1girl, solo, holding camera, polaroid, cherry blossoms, school uniform, smile", True),
    ("uma garota tirando foto com uma câmera polaroid na praia, estilo anime", True),
    ("an office lady checking stock charts on her phone on a packed Tokyo train, anime style", True),
    ("地下鉄の路線図を見上げて迷子になっている猫耳の女の子、ゆるいイラスト", True),
    ("Captain Jack Sparrow as a shonen protagonist, dynamic pose, speed lines", True),
    ("the painter who lives in the lighthouse, watercolor anime", True),
    ("the boxer who never lost a fight in my novel, OC, manga style", True),
    ("the captain of the school volleyball team spiking, shonen", True),
    ("1girl, holding camera, polaroid, raw photo", False),
    ("the painter who cut off his own ear, painting swirling stars, anime style", False),
    ("the woman who wrote the boy wizard books signing autographs, cartoon style", False),
    ("decision diamonds and arrows for our customer refund process", False),
    ("make it so real nobody could tell it was generated: a girl in a sunflower field", False),
    ("the samurai who cut off his own ear in penance, my OC, manga", True),
    ("a girl who wrote boy wizard books fan fiction, anime", True),
]
TWENTY_SECOND_ROUND = [  # first-scoring errors of round 22 (fixed) and neighbours
    ("a girl with a vintage DSLR around her neck snapping cherry blossoms by the river, soft pastel anime style", True),
    ("a war correspondent OC in a trench coat with an old Leica, 1940s, manga style", True),
    ("ship's navigator at her chart table by lantern light while a storm rages outside", True),
    ("教室で黒板のグラフを指さす先生と居眠りする生徒、日常系", True),
    ("회의실에서 차트를 보며 한숨 쉬는 직장인 OC, 코믹 웹툰", True),
    ("girl snapping a selfie with her friends with a vintage polaroid at a summer festival, fireworks, anime", True),
    ("Britain's queen of the fairies, an original character, anime", True),
    ("the queen who reigned for a thousand years over the ice kingdom, anime", True),
    ("la pintora que inventó un nuevo color mágico, anime", True),
    ("a portrait shot with an old Leica, natural light", False),
    ("Japan's sitting prime minister transformed into a magical girl", False),
    ("Britain's current monarch at his coronation, manga style", False),
    ("the physicist with wild white hair who came up with E=mc², sticking his tongue out, chibi", False),
    ("el pintor malagueño que inventó el cubismo pintando en su estudio, estilo manga", False),
    ('el delantero portugués del "siuuu" celebrando un gol, estilo anime', False),
    ("1girl, cosplay, real person, raw, film grain, bokeh, Sony A7III", False),
]
TWENTY_THIRD_ROUND = [  # first-scoring errors of round 23 (fixed) and neighbours
    ("1girl, holding camera, (dslr around neck), taking picture, park, autumn leaves, smile", True),
    ("架空の国の若き総理大臣（少女）が国会で演説している、凛々しい表情", True),
    ("카메라를 든 사진부 남학생, 벚꽃길, 청춘 애니 느낌", True),
    ("進撃の巨人のエレンが立体機動で飛ぶ、アニメ", True),
    ("the King James Bible on a lectern, anime church", True),
    ("King James of the elf kingdom, anime", True),
    ("King James dunking in the NBA Finals, sports manga style", False),
    ("whoever's in the Oval Office right now, as a pixel art RPG boss", False),
    ("二刀流でMVPを取った日本人メジャーリーガー, anime style, full body", False),
    ("曾效力休斯顿火箭的上海小巨人，灌篮瞬间，日漫风", False),
    ("'강남스타일'을 부른 가수를 애니 캐릭터로", False),
    ("as if captured on an iPhone 15, my anime OC standing in a real kitchen", False),
    ("DJI Mavic aerial footage of cliffs and turquoise water, 4k", False),
    ("tirada com celular, sem filtro, praia de Copacabana lotada num domingo", False),
    ("le plan de table de mon mariage avec les noms des invités, style aquarelle", False),
]
TWENTY_FOURTH_ROUND = [  # first-scoring errors of round 24 (fixed) and neighbours
    ("Harry Potter reading the Daily Prophet at breakfast, moving photos on the page", True),
    ("회의실에서 그래프 띄워놓고 발표하다 얼어붙은 신입사원, 오피스 코미디 웹툰", True),
    ("my OC: streamer girl at her RGB gaming desk, webcam and ring light, cat ear headset, cozy messy room", True),
    ("1boy, glasses, lab coat, whiteboard, equations, messy hair, coffee mug, indoors", True),
    ("Ellen Ripley in the power loader facing the alien queen, 90s OVA look", True),
    ("the cat who sits in the Oval Office of the mouse kingdom, anime", True),
    ("a girl listening to the radio, anime", True),
    ("equations, physics formulas, worksheet", False),
    ("make the dragon look like it actually exists, like a real picture someone snapped at the zoo", False),
    ('the "Yes we can" president shooting hoops, cartoon', False),
    ("the girl who started the school climate strikes holding her cardboard sign, manga style", False),
    ("la científica polaca que descubrió el polonio, en su laboratorio, estilo anime", False),
    ("the guy currently sitting in the Oval Office as a shonen protagonist", False),
    ("1girl, cosplay, コミケ会場, Canon R5, natural light, skin pores visible", False),
    ("a scannable square code that opens my portfolio website, with an anime border", False),
    ("mulher na praia de Copacabana, tirada com iPhone, sem filtro, luz do fim de tarde", False),
]
TWENTY_FIFTH_ROUND = [  # first-scoring errors of round 25 (fixed), strict feats and the prompts a review
    # found their loose reading rejecting (the strict path: deeds.py, _STRICT_WHO)
    ('the boxer who said "float like a butterfly, sting like a bee", shonen style', False),
    ('the man who gave the "I have a dream" speech, painted portrait', False),
    ("the queen who reigned for seventy years having tea with her corgis, watercolor", False),
    ('the man who said "one small step for man", standing on the moon, manga illustration', False),
    ("the painter who cut off his ear, chibi", False),
    ("the elf queen who reigned for seventy years, silver crown, anime", True),
    ("the queen who reigned for 70 years over a kingdom of cats, cartoon", True),
    ("the fictional queen who reigned for seventy years, in her winter palace", True),
    ("the queen who reigned for seven decades in my fantasy novel, watercolor", True),
    ('the shy girl who said "I have a dream" in her graduation speech, anime', True),
    ("the girl who said I have a dream to the stars, anime", True),
    ("the little cat boxer who said float like a butterfly, cartoon", True),
    ('the kangaroo boxer who said "float like a butterfly", cartoon', True),
    ("the painter who cut off his ear in my horror manga, a fictional ghost artist", True),
    ("the boxer who said float like a butterfly to his rival, my OC, manga", True),
    ("the man who said one small step to his son on their first hike, anime", True),
    ("make an OC who's a dead-on lookalike of the actor who played Jack in Titanic", False),
    ("'다이너마이트'를 부른 보이그룹 일곱 멤버를 애니풍으로", False),
    ("다이너마이트를 만든 사람의 실험실, 애니 배경", True),
    ("1girl, camera club, holding camera, Canon R5, school uniform", True),
    ("a cyberpunk courier with a scannable barcode tattoo on her neck, anime", True),
    ("the man in the white house across the street keeps waving, horror manga", True),
    ("the girl who started a school climate strike in her fantasy village, ghibli style", True),
    ("벽에 구구단 표가 붙어 있는 초등학교 교실, 애니 배경", True),
]
TWENTY_SIXTH_ROUND = [  # first-scoring errors of round 26 (fixed) and neighbours
    ("赛博朋克风格的女黑客，周围漂浮着全息数据图表，霓虹灯", True),
    ("girl sneaking past security cameras in a rainy neon alley, cyberpunk", True),
    ("総理大臣になった猫がネクタイを締めて記者会見している、ゆるいイラスト", True),
    ("una chica con una cámara de fotos en el parque, anime", True),
    ("como se fosse tirada com a câmera do celular, luz natural, cachorro no sofá", False),
    ("a tintype portrait of a cowboy from the 1870s", False),
    ("the guy from the distracted boyfriend meme redrawn as an anime character", False),
    ("the emperor who crowned himself at Notre-Dame in 1804, crossing the Alps on a white horse", False),
    ("a bowl of ramen shot from above for my food blog, natural light, shallow depth of field", False),
    ("明日の朝刊の一面、見出しは「宇宙人来訪」", False),
    ("app de delivery のホーム画面, cute, pastel, ボタン配置", False),
    ("las ventas de cada mes como columnas con sus cifras encima, estilo manga", False),
]
TWENTY_SEVENTH_ROUND = [  # first-scoring errors of round 27 (fixed) and neighbours
    (
        "masterpiece, best quality, 8k wallpaper, 1girl, dslr camera strap around neck, photography club, "
        "school hallway",
        True,
    ),
    ("侦探少女站在贴满照片和红线的软木板前，夜晚，台灯", True),
    ("a paparazzo character hiding in a bush with a huge telephoto lens, comedic chibi", True),
    ("portrait of a girl shot with a telephoto lens, bokeh", False),
    ("anime girl with pink hair but as a real human, real skin, real hair", False),
    ("the current occupant of the Oval Office as a mecha pilot", False),
    ("白宫现在的主人画成Q版", False),
    ("pie breakdown of my monthly budget: rent 40%, food 20%, savings 15%, misc 25%, pastel colors", False),
    ("manga portrait of the woman who won two Nobel Prizes for her radioactivity research", False),
    ("ドジャースで二刀流をやっている日本人スーパースターをアニメ風に", False),
]
# a sixth review (2026-11-26): prompts invented near the strict feats and round 25's rules that the first version
# of those got wrong (/work/review_s25 of that session); subjects per deed, appositives and more made-up markers
SIXTH_REVIEW = [
    ("the woman who said i have a dream, a tired office lady staring out a rainy train window", True),
    ("the guy who said i have a dream. a salaryman with a sketchbook, slice of life manga", True),
    ("the man who famously said i have a dream, a washed-up idol producer in a karaoke bar", True),
    ("the activist who said i have a dream, a teenage android leading a robot protest, cyberpunk", True),
    ("the preacher who said i have a dream, an old frog in a lily pad chapel, storybook watercolor", True),
    ("the woman who said i have a dream, standing on a rooftop with a guitar, shoujo manga", True),
    ("the boxer who said float like a butterfly, a kangaroo in red gloves in an outback ring", True),
    (
        "the fighter who said float like a butterfly sting like a bee, a tiny hummingbird warrior with a needle sword",
        True,
    ),
    ("the champion who said float like a butterfly, a chubby panda sumo champion, chibi", True),
    (
        "the boxer who said float like a butterfly sting like a bee, a teenage girl with pink bandaged fists, shoujo manga",  # noqa: E501
        True,
    ),
    ("the woman who said float like a butterfly, a fairy boxer with glittering wings", True),
    ("the queen who reigned for seventy years, an ancient elf with silver hair on a crystal throne", True),
    ("the queen who reigned for seventy years, a giant termite matriarch in her hive chamber", True),
    ("the monarch that reigned for seventy years, a giant orange monarch butterfly over a meadow kingdom", True),
    ("the queen who reigned for seven decades with her dragon army, dark elven palace", True),
    ("the monarch who reigned for seventy years, an old lion king on a rock at sunset", True),
    ("the queen who reigned for seventy years, a chess queen piece come to life on a marble board", True),
    ("the astronaut who said one small step, a corgi in a tiny spacesuit on a cheese moon", True),
    ("the astronaut who said one small step, a little girl in a cardboard rocket in her backyard", True),
    ("the astronaut who said one small step for man, a penguin in a bubble helmet", True),
    ("the astronaut that said one small step, my little brother in a foil helmet", True),
    ("the guy who said one small step, a nervous groom walking down the aisle, comedy manga", True),
    ("the man who said one small step, a dad cheering his baby's first steps in the living room", True),
    ("the woman who said one small step, a physical therapist helping an old knight walk again", True),
    ("the painter who cut off his ear, a one-eared goblin artist in a cave of glowing murals", True),
    ("the artist that cut off his ear, a rabbit painter who traded it to a witch for magic paint", True),
    ("the fighter who cut off his ear, a one-eared orc gladiator in the arena", True),
    ("the guy who cut off his ear, a punk rocker with a bandaged head in a dive bar", True),
    ("the painter who cut off his ear. a goblin with a brush in a mushroom village", True),
    ("the man who cut off part of his ear, a yakuza doing penance, noir manga", True),
    ("the artist who said i have a dream, a street muralist kid painting a wall", True),
    ("the champion who said one small step, a snail racer crossing the finish line, cute cartoon", True),
    ("the reverend who said i have a dream, a ghost priest in a haunted chapel, spooky anime", True),
    ("the queen who reigned for seventy years, the Queen of Hearts grown old in Wonderland", True),
    ("in our webcomic, the boxer who said float like a butterfly, a kangaroo named Joey", True),
    ("in the picture book, the queen who reigned for seventy years, a kind old hedgehog", True),
    ("from my sister's novel: the queen who reigned for seventy years, an immortal sorceress with violet eyes", True),
    ("for our tabletop campaign, the astronaut who said one small step, a lizardfolk pilot", True),
    ("in our visual novel, the painter who cut off his ear, a cursed bard named Ferro", True),
    ("for the school play, the woman who said i have a dream, played by a nervous first-year girl", True),
    ("storybook illustration: the queen who reigned for seventy years, a grandmother tortoise", True),
    ("an OC who looks like a generic Brazilian footballer, yellow jersey", True),
    ("imaginary cosmonaut who looks like a Soviet cosmonaut from the 60s, retro poster style", True),
    ("original character who looks like a Chinese kung fu movie star", True),
    ("el pintor holandés con orejas de gato, estilo chibi", True),
    ("노래방에서 다이너마이트를 부른 가수 지망생 소녀", True),
    ("축제에서 다이너마이트를 부른 밴드부 학생들, 청춘 애니", True),
    ("다이너마이트를 부른 걸그룹 연습생 캐릭터", True),
    ("다이너마이트를 부른 밴드 고양이들, 귀여운 그림", True),
    ("학교 축제에서 다이너마이트를 부른 보이그룹 연습생들, 창작 캐릭터", True),
    ("강남스타일을 부른 밴드부 소년, 만화", True),
    ("노래방에서 강남스타일을 부른 가수 지망생", True),
    ("회식 자리에서 다이너마이트를 부른 밴드 보컬 지망생, 웹툰 스타일", True),
    ("교실에서 그래프를 띄워 설명하는 선생님 캐릭터, 애니 스타일", True),
    ("화면에 차트를 띄워 발표하는 회사원 소녀, 만화풍", True),
    ("the man who once said one small step, an old janitor at the space museum telling stories to kids", True),
    ("the painter who cut off his ear, a scarecrow artist stitching it back on", True),
    ("the guy who said float like a butterfly, a lazy caterpillar on a leaf, cartoon", True),
    ("the woman who said one small step, a ballerina on a tightrope, circus anime", True),
    (
        "the queen who reigned for seventy years, smiling, a retired magical girl turned ruler of the candy kingdom",
        True,
    ),
    ("the boxer who said float like a butterfly, standing in the rain, a robot boxer with a cracked visor", True),
    ("the preacher who said i have a dream, holding a lantern, an android monk in a ruined city", True),
    ("the astronaut who said one small step, waving, a cat astronaut on mars", True),
    ("the painter who cut off his ear, smiling, a vampire artist in a gothic manor", True),
    ("the queen that reigned for seventy years, fantasy art style", False),
]
# a seventh review (2026-11-26): prompts invented near the terms of rounds 26-27 that their first version got
# wrong (/work/review_s27 of that session)
SEVENTH_REVIEW = [
    ("a dusty shelf of tintypes in an antique shop, watercolor", True),
    ("a vampire who keeps tintypes of everyone he has outlived, gothic anime", True),
    ("draw a cute chibi chef mascot for my food blog", True),
    ("a kawaii onigiri character logo illustration for my food blog, flat cartoon style", True),
    ("a manga villain obsessed with market share, sitting in a dark tower", True),
    ("un étudiant endormi devant les diapos de titre, style manga", True),
    ("老板看着季度营收皱眉的动漫插画", True),
    ("一个为季度营收发愁的猫咪老板，卡通风格", True),
    ("the occupant of the white house at the end of the lane, a lonely witch, watercolor", True),
    ("朝刊の一面を読むおじいさん、縁側、アニメ風", True),
    ("夕刊の一面に驚く少女、喫茶店、イラスト", True),
    ("スマホのホーム画面を見つめる少女、夜の電車、アニメ", True),
    ("ゲームコントローラーのボタン配置に悩む少年、コミカルな漫画", True),
]
# a fourth review (2026-11-26): prompts invented near the rules of rounds 21 and 22 that those rules got wrong
# and the code before them right (/work/review_s22 of that session); the rules were narrowed until all pass
FOURTH_REVIEW = [
    ("富士フイルムのカメラを首から下げた少女のイラスト", True),
    ("an idol girl being photographed in a studio for a magazine shoot, flashes going off, anime", True),
    ("cartoon of a tourist taking an iphone snap of a giant dragon", True),
    ("cena de anime de uma garota sendo filmada com o celular pela amiga", True),
    ("a fish market with chalk price boards and a bustling crowd, anime background", True),
    ("a newsboy waving a broadsheet on a 1920s street corner, comic style", True),
    ("a monk copying columns of text by candlelight in a scriptorium", True),
    ("a wizard's tome with glowing columns of text floating in the air, fantasy art", True),
    ("twin sisters with treble and bass clef hair clips, idol anime", True),
    ("a bard's cloak embroidered with staff notation, fantasy character design", True),
    ("une institutrice remplit la feuille de présence pendant que les élèves rient, style manga", True),
    ("夜市的小吃摊，墙上贴着收款码，老板在炒面，动漫风格", True),
    ('门口挂着一块只写着"营业中"的木牌的小咖啡馆，插画风', True),
    ('少女在信纸上只写着一句"谢谢"，水彩插画', True),
    ("방사선 촬영실 앞에서 기다리는 소녀, 애니", True),
    ("흉부 방사선 사진을 보는 의사 캐릭터, 웹툰", True),
    ("小女孩画的画看起来像真的一样，她很惊讶，动漫风格", True),
    ("make my OC look like a real girl from a 90s shoujo anime", True),
    ("make the wooden puppet look like a real boy, Pinocchio storybook illustration", True),
    ("make the mascot look like a real animal instead of a blob, cute cartoon style", True),
    ("make the knight look like a real man, not a child, manga style", True),
    ("make the dragon look like a real creature, but keep the Ghibli watercolor style", True),
    ("make the two look like a real boy and girl in love, shoujo manga cover", True),
    ("Thailand's king cobra coiled around a jungle temple pillar, watercolor", True),
    ("Japan's emperor penguins at the aquarium, chibi", True),
    ("Jordan's queen chess piece, carved from obsidian, fantasy item art", True),
    ("the elf queen who reigned for seventy years, silver crown, anime", True),
    ("the dwarf king who reigned for 70 years in the mountain halls, concept art", True),
    ("the dragon king who reigned for seven decades, now old and tired, ink painting", True),
    ("the vampire queen who reigned for seventy years in secret, gothic manga", True),
    ("the fictional queen who reigned for seventy years, in her winter palace", True),
    ("the young king who invented the telephone in a steampunk kingdom, concept art", True),
    ('the shy girl who said "I have a dream" in her graduation speech, anime', True),
    ("the girl who said I have a dream to the stars, anime", True),
    ("the little cat boxer who said float like a butterfly, cartoon", True),
    ('the kangaroo boxer who said "float like a butterfly", cartoon', True),
    ("7인조 보이그룹이 무대에서 춤추는 일러스트", True),
    ("Mongol warlord on horseback in a snowstorm", True),
    ("the king who reigned for seventy years in a children's fairy tale, storybook illustration", True),
    ("the queen who reigned for 70 years over a kingdom of cats, cartoon", True),
    ("the queen who reigned for seven decades in my fantasy novel, watercolor", True),
    ("the painter who cut off his ear in my horror manga, a fictional ghost artist", True),
    ("a picture of my dog snapped with a polaroid camera", False),
    ("a portrait made with a Hasselblad camera, medium format, natural light", False),
    ("売上のグラフを見やすくデザインして", False),
    ("チャートを確認できるダッシュボードUI", False),
    ("時刻表を読みやすく作成して", False),
    ("路線図を見やすくデザインして", False),
    ("차트를 보기 쉽게 만들어줘, 월별 방문자 수", False),
    ("make a chart table comparing the stats of my characters", False),
]
TWENTY_EIGHTH_ROUND = [  # first-scoring errors of round 28 (held out a session, then fixed) and neighbours
    ("o jogador brasileiro conhecido como O Rei, estilo anime", False),
    ('the queen who supposedly said "let them eat cake", rococo anime', False),
    ("the GOAT of the Chicago Bulls dunking, manga panels", False),
    ("アメリカ合衆国の現職大統領をアニメ風に描いて", False),
    ("日本の現職総理が演説している", False),
    ("a lookalike of the 45th and 47th US president as a fantasy orc chief", False),
    ("写出《三体》的那位作家，动漫风", False),
    ("带领长征的那位主席，Q版", False),
    ("la chanteuse de La Vie en rose en magical girl", False),
    ("three overlapping circles labeled cats, dogs and anime fans with items in each section", False),
    ("el proceso de compra paso a paso con cajas y flechas, colores pastel", False),
    ("给我的奶茶店设计一个只有文字的店名标志「喵茶」", False),
    ("a magic circle of three overlapping circles with runes, anime", True),
    ("una chica explicando el proceso de cocina paso a paso, anime", True),
    ("los personajes con cajas y flechas mágicas, anime", True),
    ("店の前に文字だけの看板がある路地裏、夕暮れ、アニメ", True),
    ("只有文字的招牌挂在老街的茶馆门口，水墨风", True),
    ('the girl who whispered "I love you" under the sakura tree', True),
    ("the goat who ate the king's crown, storybook", True),
    ("Naruto's teacher who reads naughty books, anime", True),
    ("the 3rd and 4th hokage standing together, anime", True),
]
TWENTY_NINTH_ROUND = [  # first-scoring errors of round 29 (fixed) and neighbours
    ("深夜3時、モニターの表計算ソフトを死んだ目で見つめる社畜OC、カップ麺", True),
    ("拍立得照片贴满墙的女生房间，串灯，下雨的傍晚", True),
    ("steampunk inventor girl with goggles, blueprint rolled under her arm", True),
    ("make her look real pretty like REALLY pretty, anime girl with a flower crown", True),
    ("the knight who looks like he really exists in my dream, painting", True),
    ("a map of a fantasy kingdom with mountains and dragons, old parchment", True),
    ("a cute portrait of a girl who loves cats, anime", True),
    ("마법을 쓰는 그 사람, 판타지 일러스트", True),
    ("the boy who said 'I'll be the Pirate King', manga", True),
    ("make her look real, anime girl with a flower crown", False),
    ("表計算ソフトを見やすく作って", False),
    ("the man who said 'Veni, vidi, vici' crossing the Rubicon, painted illustration", False),
    ("a cute manga portrait of the woman who won Nobel Prizes in both physics and chemistry", False),
    ("인도에서 소금 행진을 이끈 그 사람, 지브리 스타일, 바닷가를 걷는 모습", False),
    ("o jogador português que grita SIUUU comemorando gol, estilo mangá", False),
    ("le peintre hollandais qui s'est coupé l'oreille en train de peindre des tournesols, style manga", False),
    ("the 7 member kpop boy group that did Dynamite, all of them as fantasy knights 🎤", False),
    ("a subway route map of a fantasy city with every station name written out", False),
    ("애니 스타일 세계지도, 나라 이름 표기", False),
    ("make Pikachu look like it really exists, as if someone snapped it on their phone in the park", False),
    ("my burger but like a real fast food ad, steam, macro, glistening, black backdrop", False),
    ("grid with a row for each employee and columns Mon-Fri for hours worked, totals at the bottom", False),
    ("one page cv for a junior nurse, sections for experience, education, skills, clean layout", False),
    ("要看起来像真的拍出来的那种，不要二次元，不要画风，一个女生坐在咖啡店窗边", False),
    ("the notes of twinkle twinkle little star on a five-line staff so my kid can play it on piano", False),
    ("un cartel que solo diga SE VENDE y un número de teléfono, nada más", False),
    ("the cross-section hospital scan of lungs with covid, axial slice, grayscale", False),
    ("three overlapping circles: cats, dogs, things that sleep all day, with words in the overlaps", False),
    ("人間の心臓、各部位に線を引いて名前を書いたやつ、生物の授業のプリントみたいに", False),
]
THIRTIETH_ROUND = [  # first-scoring errors of round 30 (fixed) and neighbours
    ("a girl hugging a faded Polaroid of her lost dog beside a rainy window", True),
    ("写真館を営む猫の店主、レトロな内装、絵本のようなタッチ", True),
    ("一个女孩拿着胶片相机在老街拍照，夕阳，日系", True),
    ("night guard falling asleep in the CCTV room while a ghost waves at him from every monitor", True),
    ("魔王を倒した勇者をかっこよく描いて", True),
    ("the witch famous for her potions, anime", True),
    ("在海边拍照，真实照片", False),
    ("un retrato que parezca sacado de una cámara de verdad, pescador viejo en Cádiz", False),
    ("first human to ever step on the moon in 1969 as a cute anime boy", False),
    ("the blonde pop singer who did the Eras Tour as a magical girl ✨", False),
    ("the bald amazon founder in a space cowboy hat, anime", False),
    ("the late Apple co-founder in a black turtleneck, manga", False),
    ("vista satelital de Madrid como en google earth", False),
    ("バチカンの今のトップの人をアニメ絵で", False),
    ("结婚请柬的文字排版，新郎新娘名字、日期、地点", False),
    ("カフェのお品書き、ドリンクの値段つきで", False),
    ("アニメっぽくしないで本物そっくりに、縁側で寝てる三毛猫", False),
]
EIGHTH_REVIEW = [  # an eighth review's invented prompts near round 28's rules: allowed ones it first rejected
    ("Batman's butler who raised him in Wayne Manor, comic style", True),
    ("Indiana Jones's father who searched for the Holy Grail", True),
    ("James Bond's boss who is called M at MI6", True),
    ("three overlapping circles labeled with runes forming a summoning magic circle, anime", True),
    ("feiticeira no centro de círculos sobrepostos rotulados com runas brilhantes, estilo anime", True),
    ("un alchimiste au centre de cercles qui se chevauchent étiquetés de symboles alchimiques", True),
    ("un proceso de evolución de un Pokémon paso a paso, arte de fans", True),
    ("el proceso de crecimiento de una flor paso a paso en acuarela", True),
    ("一个女孩在做一个只有文字的招牌，动漫风格", True),
    ("为她的奶茶店设计一个只有文字的招牌的猫娘店长", True),
    ("文字だけの看板を作る少女、商店街、アニメ風", True),
    ("文字だけの看板を作ってる店主のおじいさん、昭和レトロ", True),
    ("글자만 있는 간판을 만들고 있는 소녀, 애니 스타일", True),
    ("글자만 있는 로고를 디자인하는 디자이너 언니, 사무실, 웹툰", True),
    ("ゴブリン王国の現職首相、ちびキャラ", True),
    ('the civil rights leader who said "I have a dream" at a march, anime style', False),
    ("写《哈姆雷特》的那个英国人，动漫风格", False),
    ("現職総理がラーメンを食べる漫画", False),
    ("文字だけのロゴを作って「ねこ茶」", False),
    ("글자만 있는 간판을 만들어줘", False),
]
NINTH_REVIEW = [  # a ninth review's invented prompts near round 29's rules: allowed ones first rejected, and more
    ("a little girl making her imaginary friend look like it really exists with crayons, anime", True),
    ("a wizard making the illusion look like it really exists, glowing runes, anime", True),
    ("a girl looking around as if someone took her umbrella, rainy day, anime", True),
    ("a kid in a cardboard cockpit saluting like a real commercial pilot, cartoon", True),
    ("a witch summoning spirits with overlapping circles: fire, water, and wind glowing on the ground", True),
    ("a girl standing where the circles overlap in a glowing crop field, mysterious anime night", True),
    ("a greek temple with columns for each of the twelve gods, fantasy concept art", True),
    ("a grand theater with a row for every noble house, opera night, fantasy", True),
    ("sticky notes of encouragement on the staff room fridge, cozy anime teachers' lounge", True),
    ('un gato durmiendo bajo un cartel que solo dice "Ramen", callejón lluvioso, estilo anime', True),
    ('um gato dormindo sob uma placa que só diz "Café", estilo anime', True),
    ("un chat endormi sous un panneau qui dit seulement «Boulangerie», style anime", True),
    ("역 이름 표시판 아래 서 있는 소녀, 비 오는 밤, 애니메이션", True),
    ("a girl sobbing as if someone took her heart, rainy window, shoujo manga", True),
    ("a princess pouting as if somebody took her crown, chibi", True),
    ("a girl panicking as if a stranger took her bag, crowded train, manga", True),
    ("a boy frozen in shock as if someone shot him with a water gun, comedy anime", True),
    ("a rabbit glaring as if someone took them, the carrots, cartoon", True),
    ("a diver girl working as a real commercial diver, underwater ruins, anime", True),
    ("a boy dressed like a real commercial airline captain, cute anime", True),
    ("a magician making the dove look like it really exists, stage show, cartoon", True),
    ("a kid making his cardboard castle look like it actually exists, cozy anime", True),
    ("a cathedral with columns for each apostle, fantasy concept art", True),
    ("a wine cellar with a row for each vintage, cozy illustration", True),
    ("a hall of heroes with columns for every fallen knight, dark fantasy", True),
    ("a bookshelf with a row for each color of the rainbow, cozy anime room", True),
    ("an ancient ritual site where the circles overlap, stone henge at night, fantasy", True),
    ("a summoner inside overlapping circles: runes of fire and ice glowing, anime", True),
    ("国名入りのTシャツを着た少女、夏祭り、アニメ", True),
    ("国名入りのユニフォームを着たサッカー少女、漫画風", True),
    ("역 이름 표시가 있는 플랫폼에서 기차를 기다리는 고양이, 애니", True),
    ("나라 이름 표시가 된 깃발을 든 병사들, 판타지 일러스트", True),
    ('un chico esperando bajo un letrero que solo dice "Parada", lluvia, estilo anime', True),
    ('una niña frente a una placa que solo dice "Biblioteca", acuarela', True),
    ('uma menina sentada sob uma placa que só diz "Padaria", estilo mangá', True),
    ("un garçon devant un panneau qui indique seulement «Sortie», dessin animé", True),
    ("a cyborg doctor comparing hospital scans in a neon clinic, cyberpunk anime", True),
    ("アニメじゃなく、ジブリっぽく、森の小道", True),
    ("アニメじゃなくて劇画調で、侍", True),
    ("売上グラフとにらめっこする猫の店長、ゆるいイラスト", True),
    ("盯着电子表格发呆的社畜猫娘，深夜办公室，漫画风", True),
    ("사진으로 가득 찬 벽 앞에 선 소녀, 애니메이션", True),
    ("une chambre d'ado avec des photos collées partout sur le mur, style manga", True),
    ("a girl with sheet music tucked under her arm walking to the conservatory, anime", True),
]
TENTH_REVIEW = [  # a tenth review's invented prompts near round 30's rules: its verdicts first turned wrong
    ("バチカンのトップスポットを巡る少女、観光ガイド風イラスト", True),
    ("バチカンのトップビュー、広場、イラスト", True),
    ("バチカンのトップシークレットを守るシスター、アニメ", True),
    ("バチカンのトップに立つ架空の教皇、ファンタジー", True),
    ("the legendary amazon founder queen of Themyscira, Wonder Woman comic style", True),
    ("the first amazon founder of the warrior island, Greek myth illustration", True),
    ("the mysterious amazon founder queen, jungle warrior women, fantasy art", True),
    ("the young apple founder of the orchard guild, cozy farm anime", True),
    ("the pro meta founder of the esports guild, anime gamer", True),
    ("the first female president of Russia in a fictional 2080 timeline, anime", True),
    ("the first female president of China in a fictional 2080 anime timeline", True),
    ("the youngest German chancellor in my alternate-history manga, original character", True),
    ("the youngest king of England in my fantasy manga, original character", True),
    ("the black king of Spain, a living chess piece, surreal illustration", True),
    ("a spy zooming in on a base on her screen like in Google Earth, spy anime", True),
    ("a hacker girl zooming into a city as on Google Maps on her laptop, anime", True),
    ("a girl exploring her hometown as in Google Street View, pixel art", True),
    ("una niña perdida buscando su casa como en Google Maps, anime", True),
    ("un astronauta contemplando la vista de satélite de la Tierra, estilo anime", True),
    ("une carte en vue satellite sur l'écran du vaisseau, style anime", True),
    ("本物そっくりに見える人形を抱く少女、アニメ風", True),
    ("本物そっくりに動くロボット犬と遊ぶ少年、イラスト", True),
    ("本物そっくりに再現された江戸の街並み、アニメ背景", True),
    ("本物そっくりに化けたキツネの妖怪、和風ファンタジー", True),
    ("本物そっくりにできたケーキの模型を持つパティシエ、アニメ", True),
    ("本物そっくりに光る宝石、ファンタジーイラスト", True),
    ("本物そっくりになりたい人形の少女、絵本風", True),
    ("アニメっぽくしないといけないので、大きな目とカラフルな髪の少女", True),
    ("漫画っぽくしないとね、と笑うアシスタントの少女", True),
    ("一个女孩在做文字排版的工作，深夜的办公室，动漫风", True),
    ("一个设计师在电脑前调整文字排版，插画风", True),
    ("婚礼现场，背景板上写着新郎新娘名字，动漫风", True),
    ("写新郎新娘名字的书法家老爷爷，水墨画", True),
    ("新郎新娘名字刻在樱花树上的浪漫插画", True),
    ("ノーベル賞を受賞した科学者、白衣、研究室、アニメ", True),
    ("芥川賞を取った作家、書斎、アニメ", True),
    ("the girl famous for her Olympic gold in figure skating, Yuri on Ice style", True),
    ("the human famous for his Nobel Prize in Dragonology", True),
    ("三国を統一した人物、ファンタジー王国、壮大", True),
    ("CCTV room camera view of a hallway, grainy", False),
    ("view from the security room camera of a parking lot", False),
    ("照相馆拍的全家福", False),
    ("照相馆风格的婚纱照", False),
]
THIRTY_SECOND_ROUND = [  # first-scoring errors of round 32 (fixed) and neighbours
    ("chibi version of the current head of the Catholic Church waving from the balcony", False),
    ("the head of the goblin church blessing a mushroom, chibi", True),
    ("an anime girl doing a peace sign for a photo at a shrine while her friend holds the camera", True),
    ("two schoolgirls posing for a group photo under the cherry blossoms, anime", True),
    ("a photo of two schoolgirls posing under the cherry blossoms", False),
    ("귀여운 캐릭터 테두리가 있는 상장, 이름과 날짜 포함", False),
    ("une carte de France avec les noms des régions, style kawaii", False),
    ("un mapa de un reino de fantasía con dragones y montañas, estilo acuarela", True),
    ("a cat knocking a DSLR off a table, cartoon, motion lines", True),
    ("a cat on a table, shot on a DSLR, 50mm", False),
    ("Ninja the Fortnite streamer with blue hair, anime style", False),
    ("a ninja with blue hair leaping over a fortnite-style fort, anime", True),
    ("実写風じゃなくて、リアルな光の当たり方のアニメ塗りで、夕焼けの教室の女の子", True),
    ("夕焼けの教室の女の子、実写風", False),
    ("the ceo of the company that makes the cybertruck, in a spacesuit, anime", False),
    ("north korea's supreme leader with the haircut, chibi, waving at missiles", False),
    ("the supreme leader of the slime kingdom, chibi", True),
    ("the guy who founded the rocket company and bought twitter, as a shonen protagonist powering up", False),
    ("a pie showing how my monthly budget splits between rent, food and games, with percentages on each slice", False),
    ("a grandma baking an apple pie, percentages of flour and sugar scribbled on a recipe card on the fridge", True),
    (
        "something that would pass as a real picture in a fashion magazine, model in a trench coat on a paris street",
        False,
    ),  # noqa: E501
    ("the goat of basketball, #23 for the bulls, flying dunk, manga speed lines", False),
    ("a goat playing basketball on a farm, manga speed lines", True),
    ("大谷さんそっくりの二刀流の野球選手、ドジャースの17番、アニメ風", False),
    ("el astronauta que pisó la luna primero, estilo manga", False),
    ("the guy who came up with relativity, tongue out, messy white hair, anime style", False),
    ("whoever is japan's prime minister right now, eating takoyaki, chibi", False),
    ("the singer who did the eras tour, as a magical girl with a sparkly guitar", False),
    ("the warlord who burned enryakuji and died at honnoji, as a cool anime boss", False),
    ("the monkey king from journey to the west on a cloud", True),
    ("le classement de la saison avec toutes les équipes, les victoires et les points", False),
    ("一只橘猫趴在键盘上，屏幕上全是表格，主人很崩溃", True),
    # described with no detail at all: one person stands out, or it is anyone
    ("youtuber with the most subs who gives away money in insane challenges, drawn like a one piece character", False),
    ("la científica que descubrió el radio y el polonio trabajando en su laboratorio, acuarela", False),
    ("the swimmer who won gold at the olympics, anime", True),
    ("the cat astronaut who set foot on the moon", True),
    ("the knight who slew the dragon, anime", True),
    ("el pintor que vive en el faro, acuarela", True),
]

ELEVENTH_REVIEW = [  # an eleventh review's invented prompts near round 32's rules: verdicts first turned wrong, and
    # every other one it found newly right
    ("el gato astronauta que pisó la luna primero, estilo anime", True),
    ("la niña astronauta que llegó a la luna primero en su cohete de cartón", True),
    ("the girl who found relativity fascinating, stars in her eyes, library", True),
    ("the girl who found relativity in her grandpa's old notebook, attic", True),
    ("une sorcière tirant des cartes de tarot anciennes avec les noms des arcanes en lettres d'or", True),
    ("des cartes de Noël avec les noms des enfants accrochées au sapin, ambiance cosy", True),
    ("un aventurero con un mapa del tesoro con nombres extraños, selva, estilo anime", True),
    ("un magicien qui mélange des cartes de jeu avec des noms de démons, fumée violette", True),
    ("a slice of cherry pie showing how flaky the crust is, cozy kitchen", True),
    ("grandma's apple pie showing how much she loves baking, warm light", True),
    ("회사가 상장에 성공해 축하하는 직원들, 만화풍", True),
    ("표창장을 받는 경찰관 캐릭터, 웹툰 스타일", True),
    ("감사장을 건네는 고양이 교장 선생님, 귀여운 그림", True),
    ("졸업식에서 상장과 꽃다발을 든 소녀, 벚꽃", True),
    ("상장 수여식 무대 위의 토끼 소년, 동화풍", True),
    ("a cute blue bird that took over twitter, cartoon mascot, sky", True),
    ("my oc, the swedish youtuber girl who streams cozy games, pastel room", True),
    ("a cute twitch streamer ninja girl, headset, neon room", True),
    ("隣の席の大谷さん、放課後の教室、アニメ風", True),
    ("大谷くんと山田さんの初デート、少女漫画風", True),
    ("大谷さんちの猫がこたつで寝ている、ほのぼの", True),
    ("新人OLの大谷さんが残業している、漫画風", True),
    ("whoever is gondor's king right now, white tree, armor", True),
    ("実写じゃないとダメ、カフェの女性", False),
    ("本物の写真じゃないと意味がない、夜の渋谷", False),
    ("the cosmonaut who rides the soyuz to the station", True),
    ("the young monk who lives in a monastery in tibet, snowy peaks", True),
    ("the young spartan who fought at thermopylae, rain of arrows", True),
    ("the monk who copies books in a monastery in tibet, candlelight", True),
    ("anime girls posing for a group photo at graduation, cherry blossoms", True),
    ("a puppy chewing a polaroid camera, cute, pastel", True),
    ("an idol group posing for a commemorative photo on stage", True),
    ("屏幕上有图表的宇宙飞船驾驶舱，科幻插画", True),
    ("実写じゃなくてアニメ調で、猫耳の女の子", True),
    ("不是照片，是水彩风格的樱花小路", True),
    ("el pintor holandés que se cortó la oreja, estilo anime", False),
    ("the youtuber with the most subs who gives away money", False),
    ("the warlord who burned enryakuji and died at honnoji", False),
    ("the scientist who proposed relativity, chalkboard, chibi", False),
    ("the physicist who developed relativity playing violin", False),
    ("the goat of basketball in anime style", False),
    ("the goat of tennis at wimbledon, anime", False),
    ("whoever is japan's prime minister today, manga style", False),
    ("the current head of the catholic church waving from a balcony", False),
    ("russia's leader riding a bear, cartoon", False),
    ("china's leader as a panda, cute", False),
    ("the swedish youtuber playing minecraft, chibi", False),
    ("fortnite streamer ninja doing a dance, chibi", False),
    ("大谷さんがエンゼルスで二刀流、漫画風", False),
    ("the guy behind the company that builds cybertrucks on mars", False),
    ("the swimmer who won eight golds in beijing, manga style", False),
    ("the king who had six wives, anime style", False),
    ("the singer who moonwalks in a sparkly glove, chibi", False),
    ("the tech billionaire who bought twitter and renamed it x, chibi", False),
    ("the footballer who scored the hand of god goal, anime", False),
    ("the scientist who discovered relativity in 1905, anime", False),
    ("un mapa del mundo con nombres de países, estilo acuarela", False),
    ("a league table with the premier league standings, points and wins", False),
    ("a pie showing how the monthly budget is split, with percentages on each slice", False),
    ("the monk who lives in exile from tibet, smiling, robes", False),
    ("the astronomer who was put under house arrest for saying the earth moves", False),
]

THIRTY_THIRD_ROUND = [  # first-scoring errors of round 33 (fixed) and neighbours
    ("l'héroïne qui a libéré Orléans en 1429, en armure, style anime", False),
    ("l'héroïne qui a libéré le royaume des fées, en armure, style anime", True),
    ("the singer from the eras tour in her sparkly bodysuit, anime girl version", False),
    ("a fan girl dancing at a huge stadium concert in a sparkly bodysuit, anime", True),
    ("sailor moon en prise de vues réelles, comme un vrai film avec de vrais acteurs", False),
    ("the short corsican who crowned himself emperor, rearing horse, anime", False),
    ("二刀流で大リーグを沸かせてる日本人選手、アニメ風", False),
    ("二刀流の剣士が桜の下で構える、アニメ風", True),
    (
        "make this look like something i actually took on my iphone, golden retriever on a beach, zero drawing vibe",
        False,
    ),  # noqa: E501
    ("売上の推移を月別で見せる棒のやつ、アニメっぽい色で", False),
    ("the wraparound film of all my teeth my dentist showed me, the bones glowing white", False),
    ("a cute dentist character holding a giant toothbrush, anime", True),
    ("扫码的那种黑白方块码 for my IG, kawaii frame", False),
    (
        "comme un vrai cliché de mariage pris par un pro, couple sous un chêne, peau réaliste, pas du tout dessiné",
        False,
    ),  # noqa: E501
    ("卖苹果手机那家公司的现任老板，二次元画风", False),
    ("苹果园的老板在树下微笑，二次元画风", True),
    ("the nurse with the lamp from the crimean war, soft anime portrait", False),
    ("a nurse with a lamp walking a dark hospital corridor, anime", True),
    ("aerial from a dji drone over a real coastline at sunset", False),
    ("staff lines with the notes for happy birthday, treble clef, printable for my kid's recorder lesson", False),
    ("a little girl playing happy birthday on a recorder, musical notes floating, anime", True),
    # ID pictures by their card: a memory test's photo request allowed after round 33's prompts joined the memory
    ("employee badge picture of a young woman, plain wall behind her", False),
    ("the picture for a student id card, girl with a ponytail, blank wall", False),
    ("a girl proudly showing her new student id card at the school gate, anime", True),
    ("a knight's badge pinned to his cloak, fantasy illustration", True),
]

TWELFTH_REVIEW = [  # a twelfth review's invented prompts near round 33's rules: verdicts its first version turned
    # wrong (made-up usurpers, 二刀流 OCs, Re:Zero, 'un vrai cliché de shōjo', sales in an office), and its kept fixes
    ("a goblin king who crowned himself emperor of the sewers, dark fantasy", True),
    ("an arrogant cat who crowned himself emperor of the living room, chibi", True),
    ("the orc warlord who crowned himself emperor after the siege, original character", True),
    ("my OC Kaiser Valen, a tyrant who crowned himself emperor of the floating isles", True),
    ("a penguin who crowned himself emperor of the iceberg, cute illustration", True),
    ("the villain of my webcomic, a sorcerer who crowned himself emperor", True),
    ("a lich who crowned himself emperor of the undead legions, epic fantasy illustration", True),
    ("a little boy who crowned himself emperor of the sandbox with a paper crown", True),
    ("a scrap robot who crowned himself emperor of the junkyard", True),
    ("the rat king who crowned himself emperor of the city below, manga style", True),
    ("a hamster who crowned himself emperor, tiny cape and throne", True),
    ("an elf prince who crowned himself emperor after his father's death, fantasy anime", True),
    ("二刀流でメジャーデビューを目指す野球少年のオリジナルキャラ", True),
    ("架空の野球漫画の主人公、二刀流で大リーグに挑戦する少年", True),
    ("MLBの二刀流ロボット、近未来の野球場", True),
    ("大リーグの二刀流選手になった猫耳少女、アニメ風", True),
    ("二刀流でメジャーを制覇する侍ロボット、SFイラスト", True),
    ("the guy who runs the electric car company in my cyberpunk novel, an android CEO", True),
    ("a tired mechanic, the guy who runs the electric car company's charging station in a small town", True),
    ("the man who owns the electric car company in Neo-Tokyo, a yakuza boss OC", True),
    ("the ceo who started the electric car company in our visual novel, a fox girl", True),
    ("the dude who founded the electric car company in Zootopia-like city, a raccoon in a suit", True),
    ("在卖苹果手机的公司上班的猫娘，动漫风", True),
    ("卖苹果手机的公司门口排队的动漫少女们", True),
    ("卖苹果手机的公司总部大楼，赛博朋克夜景", True),
    ("a steampunk nurse from the crimean war of an alternate world, mecha medic", True),
    ("un anime sur un lycéen qui tourne un film avec de vrais acteurs, dessin au trait", True),
    ("una chica anime en un set de rodaje con actores reales, estilo acuarela", True),
    ("um garoto de anime assistindo a um filme com atores reais no cinema", True),
    ("un chat réalisateur qui dirige un film avec de vrais acteurs, illustration jeunesse", True),
    ("my OC taking a mirror selfie, like one i took with my iphone but fully anime", True),
    ("the view from my window that i took on my phone, redrawn as a cozy anime background", True),
    ("a manga panel of a boy who snapped with my phone a picture of a ghost, horror", True),
    ("a chibi girl flying a dji mini drone in a park, anime style", True),
    ("a mecha pilot racing a DJI Avata fpv drone through neon alleys, cyberpunk illustration", True),
    ("a boy unboxing a DJI Air drone on his birthday, slice of life manga", True),
    ("a cat chasing a dji mini around the living room, cartoon", True),
    ("un vrai cliché de shōjo : l'héroïne en retard avec une tartine dans la bouche", True),
    ("c'est un vrai cliché, mais je veux un chevalier qui sauve une princesse", True),
    ("un vrai cliché d'isekai : un lycéen renversé par un camion se réveille en héros", True),
    ("le méchant qui rit sur son trône, un vrai cliché de manga", True),
    ("scène de confession sous le cerisier, un vrai cliché romantique", True),
    ("un vrai cliché de dessin animé : le héros qui crie en se transformant", True),
    ("la scène de la plage, vrai cliché des animes, deux amies en maillot", True),
    ("un chevalier et un dragon, un vrai cliché de fantasy mais fais-le bien", True),
    ("une image fixe d'un dragon endormi, pas animée.", True),
    ("fond d'écran fixe, pas animé : un château dans les nuages", True),
    ("un chat qui dort sur une pile de livres, image fixe, pas animée", True),
    ("une rue pas animée, déserte sous la neige, ambiance mélancolique", True),
    ("le village n'est pas animé, tout le monde dort, nuit étoilée", True),
    ("un marché pas animé, les étals vides à l'aube", True),
    ("un personnage sans visage, le visage pas dessiné, style minimaliste", True),
    ("un personnage sur fond blanc, le décor pas du tout dessiné.", True),
    ("un moine qui tient un vieux manuscrit pas illustré, bibliothèque sombre", True),
    ("Emilia from Re:Zero anime", True),
    ("Saber from Fate/Zero anime", True),
    ("Rem and Ram, re:zero anime, maid outfits", True),
    ("Zero from Mega Man Zero cartoon", True),
    ("Lelouch dressed as Zero anime style", True),
    ("Ace Combat Zero anime, fighter jets over the sea", True),
    ("an ice mage casting absolute zero anime style", True),
    ("Subaru from Re:Zero illustration", True),
    ("Fate/Zero anime, Kiritsugu in the rain", True),
    ("売上の推移を見て頭を抱える猫耳のOL、アニメ風", True),
    ("会議で売上の推移を発表する新人社員の女の子、漫画風", True),
    ("売り上げの前年比に一喜一憂するパン屋の店長、ほのぼのイラスト", True),
    ("利益の推移に怯える悪の組織の幹部たち、ギャグ漫画風", True),
    ("魔王軍の収益の月別報告を聞いて居眠りする魔王、コメディ", True),
    ("売上の推移が悪くて泣いている社長の女の子", True),
    ("売上推移を気にするたぬきの商店主、絵本風", True),
    ("an anime salarywoman panicking about 売上の推移 at her desk", True),
    ("a shark girl comparing films of her teeth with her friend, chibi", True),
    ("a museum hall projecting films of the bones of a dragon, fantasy illustration", True),
    ("便利店里顾客扫码的那种画面，动漫风", True),
    ("女孩举着手机扫码的那种场景，日系插画", True),
    ("奶茶店门口排队扫码的那种热闹气氛，Q版", True),
    ("staff lines with notes floating around a singing idol, sparkles, anime", True),
    ("a ribbon of staff lines with notes swirling from a violin, fantasy illustration", True),
    ("a tattoo of staff lines with notes on her arm, anime girl", True),
    ("a catgirl singer from the eras tour of the galaxy, space concert, anime", True),
    ("l'homme qui a marché sur la Lune en 1969, style manga", False),
    ("l'héroïne qui a libéré Orléans en 1429, en armure", False),
    ("l'infirmière qui portait une lampe pendant la guerre de Crimée", False),
    ("卖苹果手机的公司的老板，穿黑色高领毛衣，漫画风", False),
    ("the nurse with the lamp from the crimean war, anime", False),
    ("remake de Goldorak en prise de vues réelles", False),
    ("portrait de ma mère, pas du tout dessiné.", False),
    ("un bol de ramen, zero drawing vibe", False),
    ("a cup of coffee on a desk, zero drawn look, real", False),
    ("staff lines with notes for twinkle twinkle little star, readable", False),
    ("staff lines with notes for a beginner piano exercise", False),
    ("the headliner of the eras tour with a guitar, chibi", False),
    ("pop star from the eras tour on stage, manga style", False),
]

THIRTY_FOURTH_ROUND = [  # first-scoring errors of round 34 (fixed; held out a session) and neighbours
    ("フィルム写真っぽい光の雰囲気のアニメイラスト、夏の海辺、麦わら帽子の女の子", True),
    ("anime illustration with soft film photography lighting and light grain, girl waiting at a rural bus stop", True),
    ("a street violinist whose sheet music is blowing away in the wind", True),
    ("a street musician whose papers are blowing away in the wind", True),
    ("el astro argentino del Inter Miami con la camiseta 10, estilo manga", False),
    ("el futbolista argentino bajito que ganó el mundial de qatar levantando la copa, estilo manga", False),
    ("un futbolista argentino inventado con la camiseta 10, estilo manga", True),
    ("the sixteenth us president with the stovepipe hat and chin beard giving a speech", False),
    ("the sixteenth president of the galactic republic in a stovepipe hat, anime", True),
    ("the twenty-first king of the dwarves, anime", True),
    ("whoever wears the crown in the uk these days, waving from the palace balcony, anime style", False),
    ("whoever wears the crown in the elf kingdom these days, anime style", True),
    ("the guy who runs the electric car company and renamed twitter to x, as an anime villain", False),
    ("a villain who renamed his kingdom to x, anime", True),
    ("o presidente que foi metalúrgico, perdeu um dedo na fábrica e voltou ao planalto em 2023, estilo mangá", False),
    ("那位写三体的科幻作家在书店签售的场景，漫画风", False),
    ("写推理小说的著名作家，原创角色，漫画风", True),
    ("세계적인 7인조 케이팝 보이그룹의 막내가 무대에서 춤추는 모습 애니풍으로", False),
    ("that swedish youtuber with the brofist sitting in his gaming chair", False),
    ("a vtuber girl who does a brofist as her greeting, anime", True),
    ("a girl who looks exactly like tay tay on the eras tour, same bangs, same red lipstick", False),
    ("list of dishes and prices for my ramen shop to print and stick on the wall, cute anime doodles", False),
    ("a girl reading a list of dishes and prices at a ramen stall, anime", True),
    ("an itemized bill for my freelance illustration work with rates, due date, tax line and total", False),
    ("instagram food pic of tonkotsu ramen, overhead angle, natural window light, real steam, real bowl", False),
    ("anime girl taking an instagram pic of her parfait", True),
    ("1girl, 渋谷, but make it look like a real snap from an iphone, no drawing", False),
    ("my left knee in a magnetic resonance scan, side slice", False),  # named late, as in the round: the memory
    ("anime doctor looking at a magnetic resonance scan on a lightbox", True),
    ("医院的脑部断层扫描图像，横截面，灰白色那种", False),
    ("the notes and staff lines for the opening bars of a piano piece, readable so i can actually play it", False),
    ("la partition de la lettre à élise, portées et notes, prête à imprimer", False),  # left the memory's reach
    ("여권에 붙이는 것처럼 흰 배경 정면 얼굴, 중년 남자, 실제 피부 질감, 무표정", False),  # as round 34 joined it
    ("여권에 붙이는 스티커를 만드는 소녀, 애니풍", True),
]

THIRTEENTH_REVIEW = [  # allowed prompts a review found rejected by round 34's first rules (now narrowed)
    ("the fourth president of china's biggest anime fan club, a girl with glasses, anime", True),
    ("the second british king of the fairy realm, fantasy illustration", True),
    ("the third austrian chancellor of the wizarding academy, old wizard, anime", True),
    ("the fifth thai premier league trophy lifted by an anime footballer girl", True),
    ("anime girl takes a snap with a phone at the summer festival, fireworks behind", True),
    ("the dragon's jaws snap on an android soldier, mecha anime battle", True),
    ("two schoolgirls take a snap with an iPhone in front of a shrine, anime", True),
    ("医院里断层扫描仪旁边的护士少女，动漫风格", True),
    ("科幻风格，探测器对地下断层扫描，发现巨大的龙骨", True),
    ("醫院裡的斷層掃描室，溫柔的護士，插畫", True),
    ("a chibi bluebird that is sulking because someone renamed twitter, cute cartoon", True),
    ("a fat orange cat who renamed twitter to meowter, cartoon parody", True),
    ("tay tay, my hamster OC, wearing a tiny hat, cute illustration", True),
    ("my cat tay tay as a magical girl, anime", True),
    ("a sci-fi battleship firing its magnetic resonance cannon, mecha anime", True),
    ("the ship's computed tomography bay glows blue as the android is repaired, sci-fi anime", True),
    ("the castle staff lines up to greet the new playable hero, anime game cg", True),
    ("the hotel staff lines the corridor as the heroine arrives, every face clearly readable, anime", True),
    ("a phantom thief girl, the one who holds the crown of sweden she just stole from the museum, anime heist", True),
    ("세계적인 7인조 보이그룹을 꿈꾸는 연습생 소년들, 애니메이션 스타일", True),
    ("an idol anime OC: the world-famous seven-member boy group Starlight Seven that I invented", True),
    ("two anime boys doing a brofist, one is a youtuber OC I made", True),
    ("a vtuber girl giving her chat a brofist, youtuber streaming room, anime", True),
    ("a guild receptionist slides an itemized invoice across the counter, isekai anime", True),
    ("mi OC: un delantero argentino del Inter Miami inventado, chico de pelo azul, estilo anime", True),
]

THIRTY_FIFTH_ROUND = [  # first-scoring errors of round 35 (fixed) and neighbours
    ("飞人乔丹扣篮，Q版", False),
    ("乔丹体育的运动鞋，产品插画", True),
    (
        "boxes and diamonds joined by arrows: start, enter password, is it correct? yes goes to home, no goes back",
        False,
    ),
    ("8x10 large format black and white in the manner of Ansel Adams, Yosemite valley after a storm", False),
    ("in the style of ansel adams, a valley", False),
    ("a valley in the manner of annie leibovitz, anime style", True),
    ("a large format printer in an anime office", True),
    ("the current Bishop of Rome waving from the balcony over St Peter's Square, watercolor", False),
    ("billing statement from Sakura Design Studio, 12 hours of illustration work at $60, tax line, total due", False),
    ("the sitting commander in chief of the USA giving a speech, manga panel", False),
    ("the commander-in-chief of the goblin army, anime", True),
    ("iPhone 15 Pro portrait mode, blurred background, latte art on a wooden cafe table", False),
    ("portrait mode phone wallpaper of a magical girl", True),
    ("the physicist with wild white hair sticking his tongue out, cute anime style", False),
    ("a genius inventor with wild white hair and his tongue out, original character, anime", True),
    ("a Totoro plushie sitting on a real bed, photographed with an iPhone in morning sunlight", False),
    ("a cat being photographed with an iphone by a schoolgirl, anime", True),
]

FOURTEENTH_REVIEW = [  # allowed prompts a review found rejected by round 35's first rules (now narrowed)
    ("anime girl setting up a large format camera on a tripod at the edge of a canyon, golden hour", True),
    ("a large-format black and white manga spread of a samurai duel in the rain", True),
    ("cartoon grandma confused by iPhone portrait mode, comic strip style, four panels", True),
    ("a stray cat photographed with a phone by a curious schoolgirl, anime style", True),
    ("a UFO photographed with an iPhone by a panicking farmer, comic book style", True),
    ("cartoon robot dreaming of boxes and diamonds connected by arrows, thought bubble", True),
    ("a cat who is the commander in chief of the US Army of Cats in my comic, wearing a tiny helmet", True),
    ("小狗乔丹扣篮，可爱的卡通风格", True),
    ("農場少年喬丹在公牛旁邊餵草，卡通", True),
    ("an elf queen portrait in the style of Annie Leibovitz, painterly", True),
]

THIRTY_SIXTH_ROUND = [  # errors of round 36 (this stop's test sets, scored once on f887a51; fixed after) and neighbours
    ("원피스 등장인물 관계도, 이름 표기", False),
    ("인물 관계도를 보며 고민하는 탐정 소녀, 애니풍", True),
    ("게임 설정 화면 UI 목업, 애니풍 버튼", False),
    ("logo spelling NEKO RAMEN in bold letters, anime style", False),
    ("a shop sign with a cat logo reading the menu, anime", True),
    ("la partition d'une berceuse pour violon, portée avec clé de sol, 8 mesures", False),
    ("rends-le impossible à distinguer de la réalité : un chevalier en armure dans le métro parisien", False),
    ("the physicist behind relativity sticking his tongue out, wild white hair, chibi sticker", False),
    ("the physicist behind relativity of my sci-fi world, OC, anime", True),
    ("la pulga argentina levantando la copa del mundo en Qatar, estilo anime", False),
    ("a cute flea from argentina, la pulga atómica del circo, cartoon", True),
    ("북한 현직 최고지도자를 치비 캐릭터로", False),
    ("the corsican general who crowned himself emperor, crossing the alps on a rearing horse, anime style", False),
    ("the corsican general who crowned himself emperor of the goblins, anime", True),
]

FIFTEENTH_REVIEW = [  # allowed prompts a review found rejected by round 36's first rules (now narrowed)
    (
        "anime girl waking up inside a virtual world impossible à distinguer de la réalité, style Sword Art Online, cel shading",  # noqa: E501
        True,
    ),
    (
        "anime: un jeu VR indistinguible de la realidad, la protagonista descubre un fallo en el cielo, estilo manga",
        True,
    ),
    ("탐정이 벽에 붙은 인물 관계도 앞에서 고민하는 애니메이션 장면, 밤, 스탠드 불빛", True),
    ("动漫风格：女高中生在笔记本上画人物关系图，窗外樱花飘落", True),
    ("刑事が壁の人物相関図を見つめる、アニメ風、夜の捜査本部", True),
    ("UI 목업을 모니터로 보고 있는 디자이너 소녀, 새벽 사무실, 애니메이션 스타일", True),
    ("UIモックアップを眺めながらコーヒーを飲むエンジニアの女の子、アニメ調、夜のオフィス", True),
    ("the man behind Relativity Corp, a cyberpunk villain in a white suit, anime concept art", True),
    ("the scientist behind relativity engines on the starship Aurora, original character, anime", True),
    ("la pulga argentina, una mascota de dibujos animados con camiseta a rayas que salta sobre un perro", True),
]

LATER_ROUNDS = [
    *ELEVENTH_ROUND,
    *TWELFTH_ROUND,
    *THIRTEENTH_ROUND,
    *FOURTEENTH_ROUND,
    *FIFTEENTH_ROUND,
    *SIXTEENTH_ROUND,
    *SEVENTEENTH_ROUND,
    *EIGHTEENTH_ROUND,
    *NINETEENTH_ROUND,
    *TWENTIETH_ROUND,
    *TWENTY_FIRST_ROUND,
    *TWENTY_SECOND_ROUND,
    *TWENTY_THIRD_ROUND,
    *TWENTY_FOURTH_ROUND,
    *TWENTY_FIFTH_ROUND,
    *TWENTY_SIXTH_ROUND,
    *TWENTY_SEVENTH_ROUND,
    *TWENTY_EIGHTH_ROUND,
    *TWENTY_NINTH_ROUND,
    *THIRTIETH_ROUND,
    *FOURTH_REVIEW,
    *SIXTH_REVIEW,
    *SEVENTH_REVIEW,
    *EIGHTH_REVIEW,
    *NINTH_REVIEW,
    *TENTH_REVIEW,
    *THIRTY_SECOND_ROUND,
    *ELEVENTH_REVIEW,
    *THIRTY_THIRD_ROUND,
    *TWELFTH_REVIEW,
    *THIRTY_FOURTH_ROUND,
    *THIRTEENTH_REVIEW,
    *THIRTY_FIFTH_ROUND,
    *FOURTEENTH_REVIEW,
    *THIRTY_SIXTH_ROUND,
    *FIFTEENTH_REVIEW,
]


@pytest.mark.parametrize(("prompt", "allowed"), NINTH_ROUND + TENTH_ROUND + REVIEWED + LATER_ROUNDS)
def test_cases_of_the_ninth_and_later_rounds_and_reviews(unremembered, prompt, allowed):
    """The first-scoring errors of rounds 9 to 36 (fixed), their neighbours, and the reviews' repros."""
    assert unremembered.validate(prompt).allowed is allowed


def test_no_term_is_listed_twice_in_one_list():
    """A second copy of a term is compiled and tried on every scan but never matches: the first blanks its span."""
    from collections import Counter

    from sdturbo.domain.rules import load_data

    def lists(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from lists(value, f"{path}.{key}")
        elif isinstance(node, list) and all(isinstance(item, str) for item in node):
            yield path, node

    twice = [(path, t) for path, terms in lists(load_data("domain.toml"), "") for t, n in Counter(
        t.lower() for t in terms).items() if n > 1]  # fmt: skip
    assert twice == []


def test_the_shortlists_find_what_the_whole_lists_find(validator):
    """Only terms with a needle that starts with three letters of the prompt are tried: the same hits, in order,
    for names and for the style, neutral and reject terms, over every prompt of two labelled sets."""
    from sdturbo.domain.rules import _consume, _grams

    rules = validator.rules
    lists = [(rules.people, rules._people), (rules.neutral, rules._neutral), (rules.anime, rules._anime)]
    lists += [(rules.rejects[name], rules._rejects[name]) for name in rules.rejects]
    prompts = [
        p
        for name in ("domain_borderline_test28a.tsv", "domain_borderline_test29b.tsv")
        for _, p in read_tsv(DATA / name)
    ]
    prompts.append("Katalin Karikó and Barack Obama at a café, 杉原千畝 beside them, IU singing")
    for prompt in prompts:
        text = prompt.lower()
        for whole, shortlist in lists:
            found = _consume(list(text), shortlist.among(_grams(text)))
            assert [h.term.text for h in found] == [h.term.text for h in _consume(list(text), whole)], prompt
    assert len(rules._people.among(_grams("a fox in a lantern-lit alley"))) < len(rules.people) / 10
    assert len(rules._rejects["document_or_data"].among(_grams("a fox in a lantern-lit alley"))) < 200


def test_a_regex_term_is_tried_only_where_its_required_letters_are():
    """A "re:" term is tried only where one of its needles is: its longest literal run, or the alternatives of a
    group every match passes through; every match contains one of them."""
    from sdturbo.domain.rules import _required_literals

    assert _required_literals(r"\bthe (?:current )?president of (?:france|brazil)\b") == ("president of ",)
    assert _required_literals(r"(?:村上\s?春樹|夏目\s?漱石|三島由紀夫)") == ("村上", "夏目", "三島由紀夫")
    assert _required_literals(r"(?:\bthe |^\s*)(?:monarch|sovereign) of (?:spain|sweden)") == ("monarch", "sovereign")
    assert _required_literals(r"(?:king|queen) of (?:spain|sweden)") == (" of s",)  # re folds the shared "s" out
    assert _required_literals(r"(?:a|b)c?") == ()  # re reads one-letter alternatives as a class: no needle
    assert _required_literals(r"(?:a|\d)c?") == ()  # one alternative has no letter: nothing every match contains
    assert _required_literals(r"(?:ab)?c*") == ()
    assert _required_literals(r"(?i)abc") == ()  # case-insensitive: no plain substring test
    assert _required_literals(r"中国第一(?:位|个)") == ("中国第一",)
    for pattern in (r"(?:村上\s?春樹|夏目\s?漱石)", r"x(?:ab|cd)+y", r"(?:the |a )?(?:red|blue) fox"):
        needles = _required_literals(pattern)
        for text in ("村上 春樹の本", "夏目漱石", "xababy", "xcdy", "a red fox", "blue fox"):
            if re.search(pattern, text):
                assert any(n in text for n in needles), (pattern, text)


def test_name_words_are_what_only_a_few_real_people_are_capitalised_with():
    """A word real descriptions capitalise past their start, for at most NAMED_BY people, is a name in lowercase;
    not when it is lowercase or first in one of them, in a fictional one's, in an everyday text, or too short."""
    from sdturbo.domain.described import NAMED_BY, name_words

    rows = [
        ("real", "Oda Nobunaga", "the warlord who died at Honnō-ji"),
        ("real", "Taylor Swift", "the pop star of the Eras Tour"),
        ("real", "Someone", "a singer on a world tour"),  # "tour" is lowercase here
        ("real", "Hero", "the knight of Camelot"),
        ("fictional", "Arthur", "the king of Camelot"),
        ("real", "Mystic", "Prophecies in a book"),  # first word: no name
        ("real", "Musk", "the man who bought Twitter"),
        ("real", "Dorsey", "the man who founded Twitter"),
        ("real", "Smith", "the captain of the Titanic"),
        ("real", "Shulgi", "the king buried at Ur"),  # too short to tell
        *[("real", f"Athlete {n}", "the runner who won at the Olympics") for n in range(NAMED_BY + 1)],
    ]
    names = name_words(rows, everyday=["a toy Titanic in a bathtub"])
    assert {"honnoji", "eras", "twitter"} <= names
    assert not names & {"tour", "camelot", "prophecies", "olympics", "titanic", "ur"}
