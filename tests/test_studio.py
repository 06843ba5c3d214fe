"""The studio: the one request spine (check -> prepare -> submit/run) every front end uses. No HTTP here."""

import threading

import pytest

from sdturbo.config import Settings
from sdturbo.domain import DomainValidator
from sdturbo.errors import InvalidParameterError
from sdturbo.schema import GenerationRequest, Shape
from sdturbo.studio import NotReady, OutOfDomain, Studio
from tests.fakes import FakeEngine, SlowLoad

LONG = "anime fox " * 99  # 990 characters: within the limit; the style template makes it longer


def direct(**settings) -> Studio:
    return Studio(Settings(model="fake", validator_model="none", **settings), engine=FakeEngine())


def served(engine=None, **settings) -> Studio:
    studio = Studio(Settings(model="fake", validator_model="none", **settings), engine=engine or FakeEngine())
    return studio.start(background=False)


def test_prepare_checks_the_user_prompt_then_applies_the_style():
    studio = direct()
    request = studio.prepare(LONG, style="chibi", steps=2, seed=7, width=256, height=320)
    assert len(request.prompt) > 1000 and request.prompt.startswith("chibi " + LONG.strip())
    assert request.user_prompt == LONG and request.style == "chibi"
    assert (request.seed, request.steps, request.width, request.height) == (7, 2, 256, 320)
    assert studio.check(LONG, "chibi").allowed  # the validate path gives the same answer


def test_tags_setting_decides_what_a_tag_prompt_draws():
    tags = "1girl, solo, long_hair, (red scarf:1.2), snowy street, masterpiece"
    suggested = direct(tags="suggest").prepare(tags, style="none")
    assert suggested.prompt == tags and suggested.user_prompt == tags
    applied = direct(tags="apply").prepare(tags, style="none")
    assert applied.prompt.startswith("a girl") and "masterpiece" not in applied.prompt and "_" not in applied.prompt
    assert applied.user_prompt == tags  # the library and metadata keep what the artist wrote
    with pytest.raises(InvalidParameterError, match="tags"):
        Settings(tags="always")


def test_prepare_uses_the_settings_style_and_draws_a_seed():
    request = direct(style="manga_ink").prepare("a lighthouse in a storm")
    assert request.style == "manga_ink" and 0 <= request.seed <= 2**32 - 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": "x" * 1001}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"style": "vaporwave"}, "style"),
        ({"steps": 5}, "steps"),
        ({"steps": "2"}, "steps"),
        ({"seed": -1}, "seed"),
        ({"width": 500}, "width"),
        ({"height": True}, "height"),
        ({"preview": "yes"}, "preview"),
    ],
)
def test_prepare_refuses_bad_values_naming_the_field(kwargs, field):
    kwargs = {"prompt": "anime fox", **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        direct().prepare(kwargs.pop("prompt"), **kwargs)
    assert info.value.field == field


def test_out_of_domain_raises_with_the_verdict_and_rewrites():
    with pytest.raises(OutOfDomain) as info:
        direct().prepare("a photo of Barack Obama, 50mm")
    verdict = info.value.verdict
    assert not verdict.allowed and verdict.category == "real_person" and verdict.suggestions


def test_shape_is_the_batch_key():
    request = direct().prepare("anime fox", steps=3, width=320, height=256, preview=True)
    assert request.shape == Shape(3, 320, 256, True)


def test_submit_runs_on_the_worker_and_reports_queue_facts():
    studio = served()
    served_ = studio.submit(studio.prepare("anime fox", seed=3))
    assert served_.result.seed == 3 and served_.batch_size == 1
    assert 0 <= served_.queue_ms <= served_.total_ms
    studio.stop()


def test_requests_of_one_shape_share_a_batch_and_other_shapes_do_not():
    gate = threading.Event()
    engine = FakeEngine(gate)
    studio = served(engine, max_wait_ms=0)
    first = threading.Thread(target=studio.submit, args=(studio.prepare("fox", seed=0),))
    first.start()
    while not engine.batches:  # the worker is busy with the first request
        threading.Event().wait(0.005)
    shapes = [(1, 512), (1, 512), (2, 512), (1, 256)]
    threads = [
        threading.Thread(target=studio.submit, args=(studio.prepare("fox", steps=s, seed=i + 1, width=w),))
        for i, (s, w) in enumerate(shapes)
    ]
    for thread in threads:
        thread.start()
    while studio.worker.depth < len(shapes):
        threading.Event().wait(0.005)
    gate.set()
    for thread in [first, *threads]:
        thread.join(5)
    assert sorted(engine.batches) == [1, 1, 1, 2]  # the two (1 step, 512) requests ran together
    studio.stop()


def test_served_studio_refuses_work_while_loading():
    gate = threading.Event()
    studio = Studio(Settings(model="fake", validator_model="none"), engine=SlowLoad(gate)).start()
    with pytest.raises(NotReady, match="still loading"):
        studio.check("anime fox")
    gate.set()
    studio._load_finished.wait(5)
    assert studio.check("anime fox").allowed
    studio.stop()


def test_direct_mode_runs_on_the_callers_thread_and_refuses_once_served():
    studio = direct()
    results = studio.run([studio.prepare("anime fox", seed=s) for s in (1, 2)])
    assert [r.seed for r in results] == [1, 2] and studio.engine.batches == [2]
    served_studio = served()
    with pytest.raises(RuntimeError, match="direct mode"):
        served_studio.run([GenerationRequest("anime fox", 1)])
    served_studio.stop()


def test_options_are_what_front_ends_render():
    options = direct(style="cel").options()
    assert options["limits"]["prompt_chars"] == 1000 and options["limits"]["steps"] == [1, 4]
    assert options["defaults"]["style"] == "cel" and [512, 512] in options["sizes"]
    assert list(options["styles"]) == list(DomainValidator("none").styles)


def test_direct_mode_with_the_tiny_engine_matches_the_generator(studio, generator):
    """The CLI's path (prepare + run) and the Python API give the same pixels for the same seed."""
    request = studio.prepare("anime fox", style="none", seed=11, width=256, height=256)
    via_studio = studio.run([request])[0]
    via_generator = generator.generate_result("anime fox", 1, 11, 256, 256)
    assert via_studio.image.tobytes() == via_generator.image.tobytes()


def test_a_styled_prompt_past_clips_window_is_truncated_and_logged_not_refused(studio, caplog):
    request = studio.prepare(LONG, seed=1, width=256, height=256)
    assert len(request.prompt) > 1000
    result = studio.run([request])[0]
    assert result.prompt == request.prompt and result.image.size == (256, 256)
    # diffusers logs what CLIP's 77 tokens cut
    assert any("truncated because CLIP can only handle" in r.getMessage() for r in caplog.records)


def test_modes_are_not_mixed():
    """submit needs the worker; a started studio loads only on its worker thread; start() comes first."""
    with pytest.raises(RuntimeError, match="in direct mode use run"):
        direct().submit(GenerationRequest("anime fox", 1))
    started = served()
    with pytest.raises(RuntimeError, match="loads on its worker thread"):
        started.load()
    started.stop()
    loaded = direct().load()
    with pytest.raises(RuntimeError, match="before anything loaded"):
        loaded.start()


def test_asset_batches_refuse_a_started_studio(tmp_path):
    from sdturbo.assets import generate_anime_assets

    started = served()
    with pytest.raises(InvalidParameterError, match="studio: must not be started"):
        generate_anime_assets(tmp_path / "out", studio=started, progress=False)
    assert not (tmp_path / "out").exists()
    started.stop()


def test_served_images_are_kept_in_the_library_and_previews_only_when_asked(tmp_path):
    engine = FakeEngine(preview_vae="fake-taesd")
    studio = served(engine, library=tmp_path / "library")
    try:
        made = studio.submit(studio.prepare("anime fox", seed=3, width=256, height=256))
        entry = made.kept.entry
        assert entry.record.prompt == "anime fox" and entry.record.seed == 3
        assert studio.library.path(entry).read_bytes() == made.kept.png  # what the answer carries
        preview = studio.submit(studio.prepare("anime fox", seed=4, width=256, height=256, preview=True))
        assert preview.kept.entry is None and preview.kept.png is None and studio.library.search().total == 1
        kept, created = studio.keep_preview(preview.kept.preview_id, starred=True)
        assert created and kept.starred and kept.record.vae is None  # made again with the full VAE
        assert [(r.seed, r.preview) for r in engine.requests[-2:]] == [(4, True), (4, False)]
        assert studio.keep_preview(preview.kept.preview_id) == (kept, False)
        unkept = studio.submit(studio.prepare("anime fox", seed=5, width=256, height=256), keep=False)
        assert unkept.kept.entry is None and studio.library.search().total == 2
    finally:
        studio.stop()


def test_a_direct_studio_never_touches_the_library(tmp_path):
    studio = direct(library=tmp_path / "library")
    studio.run([studio.prepare("anime fox", seed=1, width=256, height=256)])
    assert studio.library is None and not (tmp_path / "library").exists()


def test_the_studio_keeps_the_validators_embeddings_in_its_cache_dir(tmp_path):
    settings = Settings(model="fake", cache_dir=tmp_path)
    assert Studio(settings, engine=FakeEngine()).validator.cache_dir == tmp_path
