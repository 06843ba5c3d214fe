"""The README's examples run as written and its test command is what CI runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
# the Truss client example is checked in tests/test_web.py; the other server examples below
PYTHON_BLOCKS = [b for b in BLOCKS if "localhost:5000" not in b and "port=5000" not in b]
CLIENT_BLOCKS = [b for b in BLOCKS if "requests.post" not in b and b not in PYTHON_BLOCKS]


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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sdturbo.config import Settings
    from sdturbo.web import create_app
    from tests.fakes import FakeEngine
    from tests.net import serve_app

    settings = Settings(model="tiny", device="cpu", validator_model="none", library=tmp_path_factory.mktemp("lib"))
    with serve_app(create_app(settings, FakeEngine(), background=False)) as url:
        yield url


@pytest.mark.parametrize("code", CLIENT_BLOCKS, ids=[f"client{i}" for i in range(len(CLIENT_BLOCKS))])
def test_client_examples_work_against_a_live_server(code, server, monkeypatch, tmp_path):
    """The OpenAI SDK and webuiapi examples, pointed at a live server on a free port, as written otherwise."""
    port = server.rsplit(":", 1)[1]
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_example"}
    exec(compile(code.replace("5000", port), "README.md", "exec"), namespace)
    assert namespace["result"] is not None and (list(tmp_path.glob("*.png")) or namespace["result"].data)


def test_there_are_client_examples():
    assert len(CLIENT_BLOCKS) == 2
