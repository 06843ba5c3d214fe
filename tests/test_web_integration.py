"""The server with the tiny real model, the real batch worker and the real validator."""

import base64
import io
import re
import threading

import numpy as np
import pytest
from PIL import Image

from sdturbo.config import Settings
from sdturbo.schema import GenerationRequest
from sdturbo.web import create_app
from tests.net import free_port, start_gunicorn


@pytest.fixture(scope="module")
def served(tiny_settings):
    settings = Settings(model="tiny", device="cpu", cache_dir=tiny_settings.cache_dir, max_wait_ms=300)
    app = create_app(settings, background=False)
    studio = app.extensions["sdturbo"]
    assert studio.ready.is_set(), studio.load_error
    yield app.test_client(), studio
    studio.stop()


def pixels(b64):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"), dtype=np.float32)


def test_concurrent_requests_are_batched_and_routed_by_seed(served):
    client, studio = served
    results = {}

    def post(seed):
        body = {"prompt": "a fox in the snow", "seed": seed, "width": 256, "height": 256, "style": "none"}
        results[seed] = client.post("/api/generate", json=body).json

    threads = [threading.Thread(target=post, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert max(r["batch_size"] for r in results.values()) > 1
    assert any(size > 1 for size in studio.worker.batch_sizes)
    for seed, data in results.items():
        assert data["seed"] == seed
        direct = studio.engine.generate([GenerationRequest("a fox in the snow", seed, 1, 256, 256)])[0]
        assert np.abs(pixels(data["image"]) - np.asarray(direct.image, dtype=np.float32)).max() <= 1.0


def test_predict_with_the_tiny_model(served):
    client, _ = served
    response = client.post("/predict", json={"prompt": "cel-shaded castle on a hill", "num_steps": 2})
    image = Image.open(io.BytesIO(base64.b64decode(response.json["result"])))
    assert image.size == (512, 512) and "Model: tiny-random" in image.text["parameters"]


def test_embedding_validator_is_live(served):
    client, _ = served
    verdict = client.post("/api/validate", json={"prompt": "a quiet lighthouse in the fog"}).json
    assert verdict["allowed"] and verdict["mode"] == "keywords+embedding"
    health = client.get("/healthz").json
    assert health["validator"] == "keywords+embedding" and health["random_weights"] is True


def test_truss_readme_client_works_unchanged(live_server, tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    [client_code] = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "requests.post" in b]
    monkeypatch.chdir(tmp_path)
    exec(client_code.replace("http://localhost:5000", live_server), {})
    assert Image.open(tmp_path / "fox.png").size == (512, 512)


@pytest.mark.slow  # gunicorn loads the model in its own process: ~7 s
def test_gunicorn_serves_the_factory(tiny_settings, tmp_path):
    import json
    import time
    import urllib.request

    port = free_port()
    server = start_gunicorn(tiny_settings.cache_dir, port)
    try:
        health = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.25)
        assert health and health["status"] == "ok" and health["device"] == "cpu"
        body = json.dumps({"prompt": "cel-shaded fox"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert "result" in json.loads(response.read())
    finally:
        server.terminate()
        server.wait(20)
