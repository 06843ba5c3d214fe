"""The typed request and result every layer shares."""

import pytest

from sdturbo.errors import InvalidParameterError
from sdturbo.metadata import read_parameters
from sdturbo.schema import GenerationRequest, GenerationResult, Shape, encode_pngs
from tests.fakes import FakeEngine


def test_request_defaults_and_shape():
    request = GenerationRequest("anime fox", 7)
    assert (request.steps, request.width, request.height, request.preview) == (1, 512, 512, False)
    assert request.shape == Shape(1, 512, 512, False) and hash(request.shape) == hash((1, 512, 512, False, None))
    assert request.style == "none" and request.user_prompt == ""


def test_a_long_rendered_prompt_is_allowed():
    """The 1000-character limit is the user's prompt's (checked in Studio.prepare), not the styled text's."""
    assert len(GenerationRequest("anime fox, " * 200, 1).prompt) == 2200


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"seed": 2**32}, "seed"),
        ({"steps": 0}, "steps"),
        ({"width": 100}, "width"),
        ({"height": 1000}, "height"),
        ({"preview": 1}, "preview"),
    ],
)
def test_request_fields_are_checked_once_on_creation(kwargs, field):
    with pytest.raises(InvalidParameterError) as info:
        GenerationRequest(**{"prompt": "anime fox", "seed": 1, **kwargs})
    assert info.value.field == field


def test_style_and_user_prompt_are_keyword_only():
    with pytest.raises(TypeError):
        GenerationRequest("a", 1, 1, 512, 512, False, "anime")


def results(count=2) -> list[GenerationResult]:
    return FakeEngine().generate([GenerationRequest("anime fox", s, 2, 256, 256) for s in range(count)])


def test_result_parameters_and_png_round_trip(tmp_path):
    result = results(1)[0]
    assert result.parameters.startswith("anime fox\nSteps: 2, Sampler: Euler, CFG scale: 0, Seed: 0, Size: 256x256")
    path = result.save(tmp_path / "a.png")
    assert read_parameters(path) == result.parameters


def test_encode_pngs_keeps_order_and_parameters():
    batch = results(3)
    datas = encode_pngs(batch)
    assert datas == [r.png_bytes() for r in batch]
