import pytest

from sdturbo.errors import InvalidParameterError
from sdturbo.params import MAX_SEED, check_count, check_prompt, check_prompts, check_seed, check_side, check_steps


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_steps_in_range(steps):
    assert check_steps(steps) == steps


@pytest.mark.parametrize("bad", [0, 5, 9, -1, 1.0, "2", None, True])
def test_steps_out_of_range_names_field_and_range(bad):
    with pytest.raises(InvalidParameterError, match=r"^num_inference_steps: must be an integer from 1 to 4, got"):
        check_steps(bad)


@pytest.mark.parametrize("side", [256, 320, 512, 768, 1024])
def test_sides_in_range(side):
    assert check_side(side, "width") == side


@pytest.mark.parametrize("bad", [500, 4096, 0, 192, 1088, 512.0, "512"])
def test_sides_out_of_range(bad):
    with pytest.raises(InvalidParameterError, match="^height: must be an integer from 256 to 1024 in multiples of 64"):
        check_side(bad, "height")


def test_seed_range_and_batch_overflow():
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED
    for bad in (-1, MAX_SEED + 1, 1.5, "7"):
        with pytest.raises(InvalidParameterError, match="^seed: must be an integer from 0 to 4294967295"):
            check_seed(bad)
    with pytest.raises(InvalidParameterError, match="too large for 2 images"):
        check_seed(MAX_SEED, count=2)


def test_prompt_rules():
    assert check_prompt("anime fox") == "anime fox"
    assert check_prompt("猫耳の少女, 桜") == "猫耳の少女, 桜"
    with pytest.raises(InvalidParameterError, match="^prompt: must not be empty"):
        check_prompt("   \n")
    with pytest.raises(InvalidParameterError, match="at most 1000 characters, got 1001"):
        check_prompt("a" * 1001)
    with pytest.raises(InvalidParameterError, match="must be a string, got int"):
        check_prompt(3)


def test_prompts_refuses_bare_string_and_empty_list():
    with pytest.raises(InvalidParameterError, match="list of prompt strings, got str"):
        check_prompts("anime fox")
    with pytest.raises(InvalidParameterError, match="at least one prompt"):
        check_prompts([])
    with pytest.raises(InvalidParameterError, match=r"^prompts\[1\]: must not be empty"):
        check_prompts(["ok", ""])


def test_count():
    assert check_count(3, "count") == 3
    with pytest.raises(InvalidParameterError, match="^count: must be an integer from 1 to 64, got 65"):
        check_count(65, "count")
