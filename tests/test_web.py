import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from sdturbo.config import Settings
from sdturbo.metadata import read_parameters
from sdturbo.web import create_app
from tests.fakes import FakeEngine, SlowLoad, seed_color
from tests.net import healthy, wait_until

ROOT = Path(__file__).resolve().parent.parent


def make_client(engine=None, background=False, **settings):
    settings = Settings(model="fake", validator_model="none", **settings)
    app = create_app(settings, engine=engine or FakeEngine(), background=background)
    return app.test_client(), app.extensions["sdturbo"]


@pytest.fixture
def client():
    client, studio = make_client()
    yield client
    studio.stop()


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def background_post(client, body):
    thread = threading.Thread(target=lambda: client.post("/api/generate", json=body))
    thread.start()
    return thread


def held(engine_kwargs=None, **settings):
    """A client whose worker is busy with seed 1's batch until the gate is set: (client, studio, engine,
    gate, the blocked request's thread)."""
    gate = threading.Event()
    engine = FakeEngine(gate, **(engine_kwargs or {}))
    client, studio = make_client(engine, **settings)
    blocker = background_post(client, {"prompt": "fox", "seed": 1})
    wait_until(lambda: engine.batches)  # running: out of the queue, holding the worker
    return client, studio, engine, gate, blocker


def queue_together(post, count, studio, gate, blocker) -> None:
    """`post(i)` for i < count on threads while the worker is held; once all are queued, let the worker
    go (they share a batch) and wait for every answer."""
    posts = [threading.Thread(target=post, args=(i,)) for i in range(count)]
    for thread in posts:
        thread.start()
    wait_until(lambda: studio.worker.depth == count)
    gate.set()
    for thread in [blocker, *posts]:
        thread.join(5)


def in_threads(fn, count):
    results = [None] * count

    def run(i):
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_healthz_is_503_until_warm_then_200():
    gate = threading.Event()
    client, studio = make_client(SlowLoad(gate), background=True)
    loading = client.get("/healthz")
    assert loading.status_code == 503 and loading.json["status"] == "loading"
    busy = client.post("/api/generate", json={"prompt": "anime fox"})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    gate.set()
    studio.ready.wait(5)
    ready = client.get("/healthz")
    assert ready.status_code == 200
    assert {"model", "device", "dtype", "queue_depth"} <= set(ready.json)
    studio.stop()


def test_failed_load_is_reported():
    class Broken(FakeEngine):
        def load(self):
            raise OSError("no weights here")

    client, studio = make_client(Broken())
    health = client.get("/healthz")
    assert health.status_code == 503 and "no weights here" in health.json["error"]
    studio.worker._thread.join(5)
    assert not studio.worker.alive  # the worker ends: nothing can be queued behind a failed load
    assert "failed to load" in client.post("/predict", json={"prompt": "anime fox"}).json["error"]


def test_engine_loads_warms_and_generates_on_the_worker_thread():
    """CUDA graphs are recorded per thread: warm-up has to run where the requests will."""
    threads = {}

    class Recording(FakeEngine):
        def load(self):
            threads["load"] = threading.current_thread().name
            super().load()

        def warmup(self):
            threads["warmup"] = threading.current_thread().name
            return 0.0

        def generate(self, requests):
            threads["generate"] = threading.current_thread().name
            return super().generate(requests)

    client, studio = make_client(Recording(), background=True)
    assert studio.ready.wait(5)
    assert client.post("/api/generate", json={"prompt": "anime fox"}).status_code == 200
    assert threads == {"load": "batch-worker", "warmup": "batch-worker", "generate": "batch-worker"}
    studio.stop()
    assert not studio.worker.alive


def test_stop_during_loading_ends_the_worker_once_loaded():
    gate = threading.Event()
    _, studio = make_client(SlowLoad(gate), background=True)
    stopper = threading.Thread(target=studio.stop)
    stopper.start()
    gate.set()
    stopper.join(10)
    assert not studio.worker.alive


def test_predict_matches_the_truss_contract(client):
    response = client.post("/predict", json={"prompt": "anime fox", "num_steps": 2})
    assert response.status_code == 200 and list(response.json) == ["result"]
    # the Truss README client: base64-decode and open with PIL
    image = decode(response.json["result"])
    assert image.format == "PNG" and image.size == (512, 512)
    assert "Steps: 2" in image.text["parameters"]
    assert client.post("/predict", json={"prompt": "anime fox"}).status_code == 200  # num_steps defaults to 1


@pytest.mark.parametrize("num_steps", [2, 2.0, "2", " 2 "])
def test_predict_reads_num_steps_as_the_truss_does(client, num_steps):
    """Baseten's sd-turbo truss casts num_steps with int(): 2.0 and "2" mean 2 (2.7 and true do not: below)."""
    response = client.post("/predict", json={"prompt": "anime fox", "num_steps": num_steps})
    assert response.status_code == 200
    assert "Steps: 2," in decode(response.json["result"]).text["parameters"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_predict_parses_the_body_as_json_whatever_the_content_type(client, content_type):
    """As the truss does (and as `curl -d '{...}'` sends it: form-encoded)."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/predict", data=b'{"prompt": "anime fox", "num_steps": 1}', headers=headers)
    assert response.status_code == 200 and list(response.json) == ["result"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "prompt", "prompt: is required"),
        ({"prompt": ""}, "prompt", "must not be empty"),
        ({"prompt": 5}, "prompt", "must be a string"),
        ({"prompt": "fox", "num_steps": 0}, "num_steps", "num_steps: must be an integer from 1 to 4, got 0"),
        ({"prompt": "fox", "num_steps": 2.7}, "num_steps", "got 2.7"),
        ({"prompt": "fox", "num_steps": True}, "num_steps", "got True"),
        ({"prompt": "fox", "num_steps": "two"}, "num_steps", "got 'two'"),
        ({"prompt": "fox", "num_steps": "2.0"}, "num_steps", "got '2.0'"),
        ({"prompt": "fox", "num_steps": "5"}, "num_steps", "from 1 to 4, got 5"),
        (["fox"], "body", "must be a JSON object"),
    ],
)
def test_predict_bad_fields_are_400(client, body, field, message):
    response = client.post("/predict", json=body)
    assert response.status_code == 400
    assert response.json["field"] == field and message in response.json["error"]


def test_out_of_domain_is_422_with_verdict(client):
    response = client.post("/predict", json={"prompt": "a photorealistic portrait of a banker, 85mm lens"})
    assert response.status_code == 422
    body = response.json
    assert body["category"] == "photographic" and body["verdict"]["allowed"] is False
    assert body["suggestions"] and all("banker" in s for s in body["suggestions"])
    generate = client.post("/api/generate", json={"prompt": "Taylor Swift on stage"})
    assert generate.status_code == 422 and generate.json["category"] == "real_person"


def test_generate_returns_image_and_parameters(client):
    body = {"prompt": "a fox", "steps": 3, "seed": 11, "width": 768, "height": 512, "style": "chibi"}
    data = client.post("/api/generate", json=body).json
    assert (data["seed"], data["steps"], data["width"], data["height"], data["style"]) == (11, 3, 768, 512, "chibi")
    assert data["effective_prompt"].startswith("chibi a fox")
    assert {"elapsed_ms", "queue_ms", "batch_size", "parameters", "mime"} <= set(data)
    image = decode(data["image"])
    assert image.size == (768, 512) and image.getpixel((0, 0)) == seed_color(11)
    assert read_parameters(io.BytesIO(base64.b64decode(data["image"]))) == data["parameters"]


def test_generate_draws_a_seed_when_none_given(client):
    data = client.post("/api/generate", json={"prompt": "a fox", "seed": None}).json
    assert 0 <= data["seed"] <= 2**32 - 1


def test_jpeg_format_for_live_previews(client):
    data = client.post("/api/generate", json={"prompt": "a fox", "format": "jpeg"}).json
    assert data["mime"] == "image/jpeg" and decode(data["image"]).format == "JPEG"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "fox", "steps": 5}, "steps"),
        ({"prompt": "fox", "width": 500}, "width"),
        ({"prompt": "fox", "height": 2048}, "height"),
        ({"prompt": "fox", "seed": -3}, "seed"),
        ({"prompt": "fox", "style": "vaporwave"}, "style"),
        ({"prompt": "fox", "format": "gif"}, "format"),
        ({"prompt": "fox", "live": "yes"}, "live"),
        ({"prompt": "fox", "client_id": "no spaces!"}, "client_id"),
        ({"prompt": "fox", "cfg_scale": 7}, "cfg_scale"),
    ],
)
def test_generate_bad_fields_are_400_naming_the_field(client, body, field):
    response = client.post("/api/generate", json=body)
    assert response.status_code == 400 and response.json["field"] == field
    assert response.json["error"].startswith(f"{field}: ")


def test_validate_and_config(client):
    verdict = client.post("/api/validate", json={"prompt": "a bar chart of sales"}).json
    assert verdict["allowed"] is False and verdict["category"] == "document_or_data"
    config = client.get("/api/config").json
    assert config["limits"]["steps"] == [1, 4] and config["defaults"]["style"] == "anime"
    assert "ghibli_like" in config["styles"] and [512, 512] in config["sizes"]


def test_concurrent_requests_share_a_batch_and_get_their_own_images():
    gate = threading.Event()
    engine = FakeEngine(gate)
    client, studio = make_client(engine, max_wait_ms=100)
    blocker = background_post(client, {"prompt": "fox", "seed": 99})
    wait_until(lambda: engine.batches)  # the worker is busy; the next requests queue up together
    responses = [None] * 6

    def post(i):
        responses[i] = client.post("/api/generate", json={"prompt": f"fox {i}", "seed": i}).json

    queue_together(post, 6, studio, gate, blocker)
    assert max(engine.batches) > 1
    for i, data in enumerate(responses):
        assert data["seed"] == i and decode(data["image"]).getpixel((0, 0)) == seed_color(i)
    studio.stop()


def test_a_request_that_breaks_the_engine_fails_alone_not_its_batch():
    """Issue 15 finding 1: a poisoned request batched with good ones; only it gets 500."""
    gate = threading.Event()
    engine = FakeEngine(gate, fail_on="POISON")
    client, studio = make_client(engine, max_wait_ms=100)
    blocker = background_post(client, {"prompt": "fox", "seed": 99})
    wait_until(lambda: engine.batches)  # the next six queue up and run as one batch
    answers: dict[int, object] = {}

    def post(i):
        prompt = "anime fox POISON" if i == 3 else f"anime fox {i}"
        answers[i] = client.post("/api/generate", json={"prompt": prompt, "seed": i})

    queue_together(post, 6, studio, gate, blocker)
    assert 6 in engine.batches  # they did share a batch
    assert answers[3].status_code == 500 and "cannot encode" in answers[3].json["error"]
    assert all(answers[i].status_code == 200 for i in (0, 1, 2, 4, 5))
    studio.stop()


@pytest.mark.parametrize(("prompt", "what"), [("anime fox \ud800", "lone surrogate"), ("anime\x00fox", "control")])
@pytest.mark.parametrize("path", ["/api/validate", "/api/generate", "/predict"])
def test_text_that_would_break_the_tokenizer_or_the_png_is_refused_at_decode(client, path, prompt, what):
    response = client.post(path, json={"prompt": prompt})
    assert response.status_code == 400 and response.json["field"] == "prompt" and what in response.json["error"]


def test_errors_fan_out_to_every_request_of_the_batch():
    client, studio = make_client(FakeEngine(fail="GPU fell off the bus"), max_wait_ms=100)
    responses = in_threads(lambda i: client.post("/api/generate", json={"prompt": "fox", "seed": i}), 3)
    assert {r.status_code for r in responses} == {500}
    assert len({r.json["error"] for r in responses}) == 1
    assert "GPU fell off the bus" in responses[0].json["error"]
    studio.stop()


def test_full_queue_is_503_with_retry_after():
    client, studio, engine, gate, first = held(queue_size=1, max_batch_size=1, max_wait_ms=0)
    second = background_post(client, {"prompt": "fox", "seed": 2})
    wait_until(lambda: studio.worker.depth == 1)  # the one queue place is taken
    response = client.post("/api/generate", json={"prompt": "fox", "seed": 3})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "queue is full" in response.json["error"]
    gate.set()
    first.join(5), second.join(5)
    studio.stop()


def test_request_waiting_past_timeout_is_504_and_not_run():
    client, studio, engine, gate, first = held(request_timeout_s=0.2, max_wait_ms=0)
    late = {}
    second = threading.Thread(
        target=lambda: late.update(r=client.post("/api/generate", json={"prompt": "fox", "seed": 2}))
    )
    second.start()
    wait_until(lambda: studio.worker.depth == 1)
    with studio.worker._queue.mutex:
        studio.worker._queue.queue[0].enqueued -= 1.0  # it has waited a second: past its 0.2 s timeout
    gate.set()
    first.join(5), second.join(5)
    response = late["r"]
    assert response.status_code == 504 and "not run" in response.json["error"]
    assert engine.batches == [1]
    studio.stop()


def test_live_requests_of_one_client_supersede_each_other():
    gate = threading.Event()
    engine = FakeEngine(gate)
    client, studio = make_client(engine, max_wait_ms=0)
    live = {"live": True, "client_id": "tab1"}
    blocker = background_post(client, {"prompt": "busy", "seed": 0})
    wait_until(lambda: engine.batches)
    results = {}

    def post(name, seq):
        results[name] = client.post("/api/generate", json={"prompt": name, "seq": seq, **live})

    threads = [threading.Thread(target=post, args=("fox", 1))]
    threads[0].start()
    wait_until(lambda: studio.worker.depth == 1)
    threads.append(threading.Thread(target=post, args=("fox in snow", 2)))
    threads[1].start()
    wait_until(lambda: "fox" in results)  # answered 409 at once, before anything ran
    gate.set()
    for t in [*threads, blocker]:
        t.join(5)
    assert results["fox"].status_code == 409 and "superseded" in results["fox"].json["error"]
    assert results["fox in snow"].status_code == 200
    studio.stop()


def test_page_is_offline_escaped_and_mobile_ready(client):
    html = client.get("/").get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for path in [
        ROOT / "templates" / "base.html",
        ROOT / "templates" / "index.html",
        ROOT / "static" / "app.js",
        ROOT / "static" / "style.css",
    ]:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, f"{path.name} loads something from the network"
    assert "innerHTML" not in (ROOT / "static" / "app.js").read_text(encoding="utf-8")  # prompts via textContent
    assert client.get("/static/app.js").status_code == 200


def test_web_modules_and_their_tests_do_not_import_torch():
    modules = "app, sdturbo.web, sdturbo.studio, tests.conftest, tests.test_web, tests.test_batching, tests.test_params"
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "--port: must be an integer from 1 to 65535, got 0"),
        (["--max-batch", "0"], "--max-batch: must be an integer from 1 to 64, got 0"),
        (["--max-wait-ms", "-1"], "--max-wait-ms: must be a number from 0 to 1000"),
        (["--device", "tpu"], "--device: must be one of auto, cpu"),
        (["--optimize", "warp"], "--optimize: unknown optimization 'warp'"),
        (["--style", "retro"], "--style: must be one of anime"),
        (["--compile-sizes", "512x100"], "--compile-sizes height: must be an integer from 256 to 1024"),
    ],
)
def test_app_flags_are_checked_before_starting(argv, message, capsys):
    import app

    assert app.main(argv) == 2
    assert message in capsys.readouterr().err


def test_live_requests_use_the_preview_flag(client):
    studio = client.application.extensions["sdturbo"]
    seen = []
    real = studio.engine.generate
    studio.worker.run_batch = lambda requests: seen.extend(requests) or real(requests)
    client.post("/api/generate", json={"prompt": "a fox", "live": True, "client_id": "tab"})
    client.post("/api/generate", json={"prompt": "a fox"})
    assert [r.preview for r in seen] == [True, False]


@pytest.mark.parametrize("body", [{"style": [1]}, {"format": {}}, {"seq": -1}, {"seq": "3"}])
def test_wrongly_typed_fields_are_400_not_500(client, body):
    response = client.post("/api/generate", json={"prompt": "a fox", **body})
    assert response.status_code == 400 and response.json["field"] == next(iter(body))
    if "style" in body:
        assert client.post("/api/validate", json={"prompt": "a fox", **body}).status_code == 400


def test_health_reports_a_dead_worker():
    client, studio = make_client()
    studio.worker.stop()
    health = client.get("/healthz")
    assert health.status_code == 503 and "worker has stopped" in health.json["error"]


def test_a_990_character_prompt_gets_one_answer_from_validate_and_generate(client):
    """The user's prompt is checked once, before the style template makes it longer than 1000 characters."""
    prompt = "anime fox " * 99
    assert client.post("/api/validate", json={"prompt": prompt}).json["allowed"] is True
    generated = client.post("/api/generate", json={"prompt": prompt, "style": "chibi"})
    assert generated.status_code == 200 and generated.json["prompt"] == prompt
    assert len(generated.json["effective_prompt"]) > 1000
    assert client.post("/predict", json={"prompt": prompt}).status_code == 200
    too_long = prompt + "x" * 11
    answers = [client.post(url, json={"prompt": too_long}) for url in ("/api/validate", "/api/generate", "/predict")]
    assert {a.status_code for a in answers} == {400}
    assert {a.json["error"] for a in answers} == {"prompt: must be at most 1000 characters, got 1001"}


def test_the_page_renders_the_servers_limits_and_styles(client):
    html = client.get("/").get_data(as_text=True)
    config = client.get("/api/config").json
    assert f'maxlength="{config["limits"]["prompt_chars"]}"' in html
    for style in config["styles"]:
        assert f'value="{style}"' in html


def test_favicon_is_served():
    client, studio = make_client()
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    studio.stop()


def test_fields_are_checked_before_the_loading_gate_and_the_domain_decision():
    gate = threading.Event()
    client, studio = make_client(SlowLoad(gate), background=True)
    loading = client.post("/api/generate", json={"prompt": "anime fox", "width": 100})
    assert loading.status_code == 400 and loading.json["field"] == "width"  # not 503: the input is wrong anyway
    assert client.post("/api/validate", json={"prompt": ""}).status_code == 400
    gate.set()
    studio._load_finished.wait(5)
    rejected = client.post("/api/generate", json={"prompt": "a photo of Barack Obama, 50mm", "width": 100})
    assert rejected.status_code == 400 and rejected.json["field"] == "width"
    truss = client.post("/predict", json={"prompt": "a photo of Barack Obama, 50mm", "num_steps": 9})
    assert truss.status_code == 400 and truss.json["field"] == "num_steps"
    studio.stop()


def test_config_defaults_include_the_format(client):
    defaults = client.get("/api/config").json["defaults"]
    assert defaults == {
        "steps": 1,
        "width": 512,
        "height": 512,
        "style": "anime",
        "strength": 0.5,
        "img2img_steps": 2,
        "format": "png",
    }


# issue 15, findings 4, 5 and 8: limits, JSON errors, the deadline


def test_a_body_over_the_limit_is_413_before_it_is_read():
    """Finding 4: a 400 MB body was read whole and answered 200; now its Content-Length alone refuses it."""
    import http.client

    from tests.net import serve_app

    app = create_app(Settings(model="fake", validator_model="none", library=None), FakeEngine(), background=False)
    with serve_app(app) as url:
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
        connection.putrequest("POST", "/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(400 * 2**20))
        connection.endheaders(b'{"prompt": "anime fox"}')  # the 400 MB never come
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
    assert response.status == 413 and "at most 20 MB" in body["error"]


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_400_naming_the_body(client, depth):
    """Finding 5: JSON nested ~1 000 deep was a 500 with an HTML traceback."""
    body = '{"prompt": "anime fox", "seed": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/api/generate", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["field"] == "body"
    assert "nested more than 32 levels" in response.json["error"]


def test_an_unexpected_error_is_json_without_a_traceback(monkeypatch):
    client, studio = make_client()
    monkeypatch.setattr(studio, "check", lambda *a: 1 / 0)
    response = client.post("/api/validate", json={"prompt": "anime fox"})
    studio.stop()
    assert response.status_code == 500 and response.is_json
    assert response.json["error"] == "internal error (ZeroDivisionError); the server log has the details"


@pytest.mark.parametrize(("path", "body"), [("/predict", {"num_step": 2}), ("/api/validate", {"styel": "anime"})])
def test_unknown_fields_are_refused_everywhere(client, path, body):
    """Finding 8: /predict and /api/validate ignored a misspelt field that /api/generate refused."""
    response = client.post(path, json={"prompt": "anime fox", **body})
    assert response.status_code == 400 and response.json["field"] == next(iter(body))


def test_a_request_still_queued_at_its_deadline_is_504_then_with_retry_after_and_never_run():
    """Finding 5: the 504 came 4-6 s after the timeout, without Retry-After (and the job could still run)."""
    client, studio, engine, gate, blocker = held(request_timeout_s=0.3)
    started = time.monotonic()
    response = client.post("/api/generate", json={"prompt": "fox", "seed": 2})
    waited = time.monotonic() - started
    gate.set()
    blocker.join(5)
    studio.stop()
    assert response.status_code == 504 and response.headers["Retry-After"] == "5"
    assert 0.25 <= waited < 1.3  # at the 0.3 s deadline, not when the worker got to it
    assert [r.seed for r in engine.requests] == [1]  # the expired request was never made


# issue 15, findings 2 and 3: per-client quota, clients that hang up, shutdown


def test_one_client_gets_its_quota_of_waiting_images_then_429_with_retry_after():
    gate = threading.Event()
    engine = FakeEngine(gate)
    client, studio = make_client(engine, client_quota=8, max_batch_size=1)
    blocker = background_post(client, {"prompt": "fox", "seed": 1, "n": 7})  # 7 of this client's 8 places
    wait_until(lambda: engine.batches)
    refused = client.post("/api/generate", json={"prompt": "fox", "seed": 20, "n": 2})
    fits = threading.Thread(target=lambda: client.post("/api/generate", json={"prompt": "fox", "seed": 30}))
    fits.start()
    wait_until(lambda: studio.worker.depth == 7)
    gate.set()
    blocker.join(5), fits.join(5)
    studio.stop()
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "already has 7 image(s) waiting (at most 8)" in refused.json["error"]
    assert 30 in [r.seed for r in engine.requests] and 20 not in [r.seed for r in engine.requests]


def test_a_request_whose_client_hung_up_is_not_made():
    """Over a real socket: sent, then closed before its turn; the worker skips it."""
    import socket as sockets

    from tests.net import serve_app

    gate = threading.Event()
    engine = FakeEngine(gate)
    app = create_app(Settings(model="fake", validator_model="none", library=None), engine, background=False)
    studio = app.extensions["sdturbo"]
    with serve_app(app) as url:
        host, port = url.removeprefix("http://").split(":")
        held = threading.Thread(
            target=lambda: urllib_post(f"{url}/api/generate", {"prompt": "fox", "seed": 1}), daemon=True
        )
        held.start()
        wait_until(lambda: engine.batches)
        body = json.dumps({"prompt": "fox", "seed": 2}).encode()
        with sockets.create_connection((host, int(port))) as raw:
            raw.sendall(
                b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            wait_until(lambda: studio.worker.depth == 1)
        gate.set()  # the hung-up request's turn comes now
        held.join(5)
        answered = urllib_post(f"{url}/api/generate", {"prompt": "fox", "seed": 3})
    assert answered == 200 and [r.seed for r in engine.requests] == [1, 3]  # seed 2 was never made


def urllib_post(url: str, body: dict) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_shutdown_answers_waiting_requests_503_at_once_and_refuses_new_ones():
    gate = threading.Event()
    engine = FakeEngine(gate)
    client, studio = make_client(engine)
    running = background_post(client, {"prompt": "fox", "seed": 1})
    wait_until(lambda: engine.batches)
    answers = {}
    waiting = threading.Thread(target=lambda: answers.update(r=client.post("/api/generate", json={"prompt": "fox"})))
    waiting.start()
    wait_until(lambda: studio.worker.depth == 1)
    assert studio.shutdown(timeout=0) == 1
    waiting.join(5)
    assert answers["r"].status_code == 503 and answers["r"].headers["Retry-After"] == "5"
    assert "shutting down" in answers["r"].json["error"]
    refused = client.post("/api/generate", json={"prompt": "fox"})
    assert refused.status_code == 503 and "shutting down" in refused.json["error"]
    gate.set()
    running.join(5)
    assert [r.seed for r in engine.requests] == [1]  # the batch already running finished


@pytest.mark.slow  # starts app.py on the tiny model: ~10 s
def test_sigterm_stops_the_dev_server_within_a_bound(tmp_path):
    import signal

    from tests.net import free_port

    port = free_port()
    env = {**os.environ, "SDTURBO_CACHE_DIR": str(tmp_path), "SDTURBO_VALIDATOR_MODEL": "none"}
    server = subprocess.Popen(
        [sys.executable, "app.py", "--model", "tiny", "--device", "cpu", "--library", "off", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: healthy(f"http://127.0.0.1:{port}/healthz"), timeout=120)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0 and time.monotonic() - started < 15
        assert b"shutting down" in server.stderr.read()
    finally:
        server.kill()


@pytest.mark.slow  # starts gunicorn on the tiny model: ~10 s
def test_sigterm_stops_gunicorn_within_a_bound(tmp_path):
    """gunicorn.conf.py's post_worker_init hook answers queued requests at SIGTERM; the server exits."""
    import signal

    from tests.net import free_port, start_gunicorn

    port = free_port()
    server = start_gunicorn(tmp_path, port, library="off")
    try:
        wait_until(lambda: healthy(f"http://127.0.0.1:{port}/healthz"), timeout=120)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(40) == 0 and time.monotonic() - started < 40  # graceful_timeout is 30 s
    finally:
        server.kill()


def test_a_request_refused_part_way_leaves_none_of_its_images_queued():
    """The review of 2026-11-25: n=8 into a queue with room for 4 answered 503, yet 4 were made for nobody."""
    client, studio, engine, gate, blocker = held(queue_size=4, max_batch_size=1, client_quota=16)
    refused = client.post("/api/generate", json={"prompt": "anime cat", "seed": 100, "n": 8})
    assert refused.status_code == 503 and studio.worker.depth == 0
    gate.set()
    blocker.join(5)
    studio.stop()
    assert [r.seed for r in engine.requests] == [1]
