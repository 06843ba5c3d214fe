"""Shared fixtures: one thread, no hub access, a tiny random model built once per session.

No torch import here: web, batching and params tests never load it (tests/test_web.py checks).
"""

from __future__ import annotations

import os
import threading

import pytest

# measured: one torch thread makes the tiny-model tests ~20x faster on 2 cores (no oversubscription);
# torch reads this when (and if) a test imports it
os.environ["OMP_NUM_THREADS"] = "1"


@pytest.fixture(scope="session", autouse=True)
def _hermetic_env(tmp_path_factory):
    """No hub downloads, no user SDTURBO_* settings, random models cached in a session folder, and
    the default image library ($XDG_DATA_HOME/sdturbo/library) in a session folder too.

    SDTURBO_TEST_CACHE_DIR names a folder to keep them in instead (the GPU session script shares the
    full-size random model between the tests and the benchmarks that way).
    """
    cache = os.environ.get("SDTURBO_TEST_CACHE_DIR") or str(tmp_path_factory.mktemp("sdturbo-cache"))
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("SDTURBO_")]:
            mp.delenv(name)
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("SDTURBO_CACHE_DIR", cache)
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
        yield


@pytest.fixture(scope="session")
def tiny_settings(_hermetic_env):
    from sdturbo.config import Settings

    return Settings.from_env(model="tiny", device="cpu", max_batch_size=8)


@pytest.fixture(scope="session")
def generator(tiny_settings):
    """A loaded SDTurboGenerator on the tiny model, shared by the engine tests."""
    from sdturbo.generator import SDTurboGenerator

    return SDTurboGenerator(settings=tiny_settings).load()


@pytest.fixture(scope="session")
def studio(generator, validator):
    """A direct-mode Studio over the shared tiny engine and validator (the CLI's and batches' path)."""
    from sdturbo.studio import Studio

    return Studio(generator.settings, engine=generator.engine, validator=validator)


@pytest.fixture(scope="session")
def validator():
    """The domain validator as shipped (multilingual embedding model, remembered prompts), loaded once."""
    from sdturbo.domain import DomainValidator

    return DomainValidator().load()


@pytest.fixture(scope="session")
def unremembered():
    """The same validator without its memory of labelled prompts: the rules and curated examples alone, which
    is what the sets in the memory still measure."""
    from sdturbo.domain import DomainValidator

    return DomainValidator(memory=None).load()


@pytest.fixture
def pipe_calls(generator, monkeypatch):
    """Record the batch size of every pipeline call the shared generator makes."""
    pipe = generator.engine.pipe
    calls: list[int] = []
    real_call = type(pipe).__call__

    def spy(self, *args, **kwargs):
        calls.append(len(kwargs["prompt"]))
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    return calls


@pytest.fixture(scope="module")
def live_server(tiny_settings):
    """The app with the tiny model served over HTTP on a free loopback port."""
    from werkzeug.serving import make_server

    from sdturbo.config import Settings
    from sdturbo.web import create_app

    settings = Settings(model="tiny", device="cpu", cache_dir=tiny_settings.cache_dir, max_wait_ms=5)
    app = create_app(settings, background=False)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    app.extensions["sdturbo"].stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (tests/browser.py says when it is missing)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()
