"""The README's examples run as written and its test command is what CI runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# examples that talk to a running server are checked in tests/test_web.py, not here
PYTHON_BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "requests.post" not in b]


def _commands():
    return [line.strip() for line in README.splitlines() if line.startswith("    python3 -m venv")]


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    install_run, install_test = _commands()[:2]
    assert "app.py" in install_run and "pytest" in install_test
    assert install_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


# the asset-batch example renders 28 images at 512x512 (~10 s on two cores): a slow test
EXAMPLES = [
    pytest.param(code, marks=[pytest.mark.slow] if "generate_anime_assets()" in code else [], id=f"block{i}")
    for i, code in enumerate(PYTHON_BLOCKS)
]


@pytest.mark.parametrize("code", EXAMPLES)
def test_python_examples_run_with_the_tiny_model(code, monkeypatch, tmp_path):
    monkeypatch.setenv("SDTURBO_MODEL", "tiny")  # the examples use the default model: point it at tiny
    monkeypatch.setenv("SDTURBO_DEVICE", "cpu")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    assert list(tmp_path.rglob("*.png"))  # images, or an asset library in a subfolder
