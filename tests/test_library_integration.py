"""The issue's "done": generate with the real tiny model, restart the server, and everything kept is
there with its settings, findable by a word of its prompt, exportable as a zip, restorable from its PNG."""

import base64
import io
import json
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdturbo.config import Settings
from sdturbo.web import create_app
from tests.net import free_port, start_gunicorn
from tests.test_library import check_consistent

ROOT = Path(__file__).resolve().parent.parent
JSON = {"Content-Type": "application/json"}


def serve(generator, validator, folder):
    """A server on the session's loaded tiny engine and validator: a restart without reloading weights."""
    settings = Settings(model="tiny", device="cpu", cache_dir=generator.settings.cache_dir, library=folder)
    app = create_app(settings, generator.engine, validator=validator, background=False)
    studio = app.extensions["sdturbo"]
    assert studio.ready.is_set(), studio.load_error
    return app.test_client(), studio


def test_kept_images_survive_a_restart_and_can_be_found_exported_and_restored(generator, validator, tmp_path):
    client, studio = serve(generator, validator, tmp_path / "library")
    made = []
    for seed, prompt in [(11, "fox spirit under paper lanterns"), (12, "mecha pilot on a rainy rooftop")]:
        body = {"prompt": prompt, "seed": seed, "steps": 2, "width": 256, "height": 384}
        answer = client.post("/api/generate", json=body).json
        assert answer["library"]["saved"], answer["library"]
        made.append(answer)
    live = {"prompt": "fox spirit waving", "seed": 3, "live": True, "client_id": "page1", "format": "jpeg"}
    preview = client.post("/api/generate", json={**live, "width": 256, "height": 256}).json
    assert client.get("/api/library").json["total"] == 2  # the preview is not written
    studio.stop()

    client, studio = serve(generator, validator, tmp_path / "library")  # a restarted server
    try:
        listed = client.get("/api/library").json
        assert [e["seed"] for e in listed["items"]] == [12, 11]  # newest first
        fox = client.get("/api/library?q=lanterns").json["items"]
        assert [(e["prompt"], e["seed"], e["steps"], e["width"], e["height"]) for e in fox] == [
            ("fox spirit under paper lanterns", 11, 2, 256, 384)
        ]
        png = client.get(fox[0]["url"]).data
        assert png == base64.b64decode(made[0]["image"])  # the file is the PNG the page got
        restored = client.post("/api/png-info", data={"file": (io.BytesIO(png), "fox.png")}).json
        assert restored["settings"] == {
            "prompt": "fox spirit under paper lanterns",
            "style": "anime",
            "steps": 2,
            "seed": 11,
            "width": 256,
            "height": 384,
            "strength": None,
        }
        # the same settings make the same picture again
        again = client.post("/api/generate", json={k: v for k, v in restored["settings"].items() if v is not None}).json
        assert np.array_equal(pixels(base64.b64decode(again["image"])), pixels(png))
        exported = client.post("/api/library/export", json={"q": "lanterns"})
        archive = zipfile.ZipFile(io.BytesIO(exported.data))
        manifest = json.loads(archive.read("manifest.json"))
        assert [i["seed"] for i in manifest["images"]] == [11, 11]  # the original and the re-run
        assert archive.read(manifest["images"][1]["file"]) == png
        # a preview from before the restart is gone with the old process: a clear 404
        gone = client.post(preview["library"]["keep_url"])
        assert gone.status_code == 404 and "no longer held" in gone.json["error"]
    finally:
        studio.stop()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.slow  # two gunicorn worker processes each load the tiny model: ~20 s
def test_two_gunicorn_workers_share_one_library_without_losing_or_duplicating(tiny_settings, tmp_path):
    library = tmp_path / "library"
    port = free_port()
    server = start_gunicorn(tiny_settings.cache_dir, port, "-w", "2", library=str(library), http_threads="8")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, workers=2)
        seeds = list(range(100, 124))
        answers = {}

        def post(seed):
            body = {"prompt": f"anime fox number {seed}", "seed": seed, "width": 256, "height": 256}
            request = urllib.request.Request(f"{base}/api/generate", json.dumps(body).encode(), JSON)
            with urllib.request.urlopen(request, timeout=120) as response:
                answers[seed] = json.loads(response.read())["library"]

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(post, seeds))
        assert all(a["saved"] for a in answers.values()), answers
        ids = [a["id"] for a in answers.values()]
        assert len(set(ids)) == len(seeds)
    finally:
        server.terminate()
        server.wait(30)
    assert check_consistent(library) == set(ids)


def wait_healthy(base: str, workers: int) -> None:
    """Until /healthz is ok; asked repeatedly, so that every worker process has answered it once loaded."""
    oks = 0
    for _ in range(400):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                oks += json.loads(response.read())["status"] == "ok"
        except OSError:
            pass
        if oks >= 4 * workers:
            return
        time.sleep(0.1)
    raise AssertionError("gunicorn did not become healthy")
