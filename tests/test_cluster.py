"""Ray Serve (issue 16): the settings and error mapping here; a local Ray with two CPU replicas of the tiny
model under `-m cluster` (`.ci/run` runs them): the same web app in front, the same engine behind."""

import base64
import concurrent.futures
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdturbo.batching import BatchFailed, Unavailable
from sdturbo.cluster import ClusterSettings, RemoteEngine
from sdturbo.cluster.__main__ import main
from sdturbo.config import Settings
from sdturbo.errors import InvalidParameterError
from sdturbo.schema import GenerationRequest
from sdturbo.studio import Studio
from tests.fakes import FakeEngine
from tests.net import free_port

ROOT = Path(__file__).resolve().parent.parent
ray = pytest.importorskip("ray")


# settings and flags


def test_a_fixed_count_or_autoscaling():
    assert ClusterSettings(replicas=3).scaling() == {"num_replicas": 3}
    scaling = ClusterSettings(min_replicas=2, max_replicas=6, target_ongoing=4).scaling()
    assert scaling == {"autoscaling_config": {"min_replicas": 2, "max_replicas": 6, "target_ongoing_requests": 4}}


def test_gpus_per_replica_auto_follows_the_cluster():
    assert ClusterSettings().gpus(available=8) == 1.0
    assert ClusterSettings().gpus(available=0) == 0.0
    assert ClusterSettings(gpus_per_replica="0.5").gpus(available=8) == 0.5


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"replicas": 0}, "replicas"),
        ({"min_replicas": 4, "max_replicas": 2}, "min_replicas"),
        ({"target_ongoing": 0}, "target_ongoing"),
        ({"gpus_per_replica": "two"}, "gpus_per_replica"),
        ({"gpus_per_replica": "9"}, "gpus_per_replica"),
        ({"cpus_per_replica": -1.0}, "cpus_per_replica"),
    ],
)
def test_bad_cluster_settings_name_the_field(fields, named):
    with pytest.raises(InvalidParameterError) as caught:
        ClusterSettings(**fields)
    assert caught.value.field == named


def test_bad_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("SDTURBO_RAY_REPLICAS", "many")
    with pytest.raises(InvalidParameterError, match="SDTURBO_RAY_REPLICAS: must be an integer"):
        ClusterSettings.from_env()


@pytest.mark.parametrize("address", ["http://head:6379", "head", "a b:1"])
def test_a_bad_ray_address_is_refused(address):
    with pytest.raises(InvalidParameterError, match="ray_address"):
        Settings(ray_address=address)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--replicas", "0"], "--replicas: must be an integer from 1 to 256, got 0"),
        (["--gpus-per-replica", "lots"], "--gpus-per-replica: must be a number from 0 to 8, got 'lots'"),
        (["--no-front"], "--no-front: needs --address of a running Ray cluster"),
        (["--address", "nowhere"], "--address: must be empty, auto, HOST:PORT or ray://HOST:PORT"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


# the front's view of replica failures


class _Response:
    def __init__(self, outcome):
        self.outcome = outcome
        self.timeouts: list[float] = []
        self.cancelled = False

    def result(self, timeout_s=None):
        self.timeouts.append(timeout_s)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def cancel(self):
        self.cancelled = True


def test_replica_failures_become_per_request_answers():
    engine = RemoteEngine(Settings(ray_address="auto"))
    assert engine._result(_Response("image")) == "image"
    died = ray.exceptions.ActorDiedError()
    assert isinstance(engine._result(_Response(died)), Unavailable)
    assert isinstance(engine._result(_Response(TimeoutError())), Unavailable)
    assert isinstance(engine._result(_Response(RuntimeError("serve controller gone"))), Unavailable)
    late = _Response(TimeoutError())
    assert isinstance(engine._result(late, deadline=time.monotonic() + 5), Unavailable)
    assert late.cancelled and 0 < late.timeouts[0] <= 5  # within the batch's deadline, then not run at all
    crashed = ray.exceptions.RayTaskError("generate", "Traceback ...", ValueError("bad shape"))
    answer = engine._result(_Response(crashed))
    assert isinstance(answer, BatchFailed) and "bad shape" in str(answer)


class _RemoteLike(FakeEngine):
    """Answers like a RemoteEngine: failures in the place of images, and Serve's state in its info."""

    def __init__(self, serve_status="RUNNING"):
        super().__init__()
        self.serve_status = serve_status

    def generate(self, requests):
        return [Unavailable("replica gone") for _ in requests]

    def info(self):
        return {**super().info(), "backend": "ray", "ray": {"status": self.serve_status, "message": "x"}}


def test_direct_mode_raises_a_failure_answered_in_place_of_an_image():
    studio = Studio(Settings(model="fake", validator_model="none", library=None), engine=_RemoteLike())
    with pytest.raises(Unavailable):
        studio.run([GenerationRequest("anime fox", 1)])


@pytest.mark.parametrize(("serving", "status", "code"), [("RUNNING", "ok", 200), ("UNHEALTHY", "unavailable", 503)])
def test_healthz_follows_the_replicas(serving, status, code):
    from sdturbo.web import create_app

    settings = Settings(model="fake", validator_model="none", library=None)
    app = create_app(settings, engine=_RemoteLike(serving), background=False)
    answer = app.test_client().get("/healthz")
    assert (answer.status_code, answer.get_json()["status"]) == (code, status)


# a local Ray, two CPU replicas of the tiny model, the studio in front


def _get(url: str, timeout: float = 10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _post(port: int, path: str, body: dict, timeout: float = 120):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), dict(err.headers)


def _replica_pids() -> list[int]:
    """The processes of this app's Serve replicas (Ray titles them ray::ServeReplica:<app>:<deployment>)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"ServeReplica:sdturbo:Replica" in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


@pytest.fixture(scope="module")
def cluster(tiny_settings, tmp_path_factory):
    """`python -m sdturbo.cluster --replicas 2` on the tiny model: yields the front's port once healthy."""
    port = free_port()
    log = tmp_path_factory.mktemp("cluster") / "cluster.log"
    env = {
        **os.environ,
        "SDTURBO_CACHE_DIR": str(tiny_settings.cache_dir),
        "SDTURBO_VALIDATOR_MODEL": "none",
        "SDTURBO_DEVICE": "cpu",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    command = [sys.executable, "-m", "sdturbo.cluster", "--replicas", "2", "--model", "tiny", "--library", "off"]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the cluster did not become healthy; its log:\n{log.read_text()[-3000:]}")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def _generate_16(port: int, seed0: int = 100) -> list[tuple[int, dict, dict]]:
    def one(i):
        return _post(port, "/api/generate", {"prompt": "anime fox", "seed": seed0 + i, "width": 256, "height": 256})

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(16)))


@pytest.mark.cluster
def test_sixteen_concurrent_requests_are_answered_by_both_replicas(cluster):
    health = _get(f"http://127.0.0.1:{cluster}/healthz")[1]
    assert health["backend"] == "ray" and health["ray"]["replicas"] == {"RUNNING": 2}
    answers = _generate_16(cluster)
    assert [status for status, _, _ in answers] == [200] * 16
    replicas = Counter(body["replica"] for _, body, _ in answers)
    assert len(replicas) == 2, replicas  # both replicas did work


@pytest.mark.cluster
def test_an_image_is_the_one_the_single_process_engine_makes(cluster, tiny_settings):
    from sdturbo.engine import Engine
    from sdturbo.schema import GenerationRequest

    status, body, _ = _post(
        cluster, "/api/generate", {"prompt": "cel-shaded fox", "seed": 4242, "width": 256, "height": 256}
    )
    assert status == 200
    served = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["image"]))).convert("RGB"))
    engine = Engine(tiny_settings)
    engine.load()
    (local,) = engine.generate([GenerationRequest(body["effective_prompt"], 4242, steps=1, width=256, height=256)])
    assert np.array_equal(served, np.asarray(local.image.convert("RGB")))


@pytest.mark.cluster
def test_clients_cannot_tell_the_difference(cluster, tiny_settings):
    """Truss /predict, the OpenAI SDK, and bad input answered exactly as the single-process app answers it."""
    from openai import OpenAI

    from sdturbo.web import create_app
    from tests.fakes import FakeEngine

    status, body, _ = _post(cluster, "/predict", {"prompt": "anime castle", "num_steps": 2})
    assert status == 200 and Image.open(io.BytesIO(base64.b64decode(body["result"]))).size == (512, 512)
    client = OpenAI(base_url=f"http://127.0.0.1:{cluster}/v1", api_key="unused")
    image = client.images.generate(prompt="anime lighthouse", size="256x256", response_format="b64_json")
    assert image.data[0].b64_json

    local = create_app(
        Settings(model="tiny", library=None, validator_model="none"), engine=FakeEngine(), background=False
    )
    bad = {"prompt": "anime fox", "steps": 9}
    expected = local.test_client().post("/api/generate", json=bad)
    status, body, _ = _post(cluster, "/api/generate", bad)
    assert (status, body) == (expected.status_code, expected.get_json()) and body["field"] == "steps"


@pytest.mark.cluster
def test_a_killed_replica_loses_only_its_requests_and_is_replaced(cluster):
    pids = _replica_pids()
    assert len(pids) == 2
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        load = pool.submit(_generate_16, cluster, 500)
        time.sleep(0.3)
        os.kill(pids[0], signal.SIGKILL)
        answers = load.result(180)
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= {200, 503}, statuses  # never a 500: in flight on the dead replica -> 503
    for status, body, headers in answers:
        if status == 503:
            assert headers.get("Retry-After") and body["error"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        replicas = _get(f"http://127.0.0.1:{cluster}/healthz")[1]["ray"]["replicas"]
        if replicas == {"RUNNING": 2} and len(set(_replica_pids()) - set(pids)) == 1:
            break
        time.sleep(1)
    else:
        pytest.fail(f"the killed replica was not replaced: {replicas}")
    assert [status for status, _, _ in _generate_16(cluster, 900)] == [200] * 16


@pytest.mark.cluster
def test_a_model_that_cannot_load_fails_with_its_error(tmp_path):
    env = {**os.environ, "SDTURBO_VALIDATOR_MODEL": "none", "SDTURBO_DEVICE": "cpu", "RAY_USAGE_STATS_ENABLED": "0"}
    missing = tmp_path / "no-such-model"
    result = subprocess.run(
        [sys.executable, "-m", "sdturbo.cluster", "--model", str(missing), "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m sdturbo.cluster: error: the replicas did not start") and "no-such-model" in last


@pytest.mark.cluster
def test_the_page_works_against_the_cluster(cluster):
    from tests.browser import browser_missing, launch

    if missing := browser_missing():
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 812})
            page.goto(f"http://127.0.0.1:{cluster}/")
            page.fill("#prompt", "a fox spirit in a lantern-lit alley, night rain")
            page.click("#generate")
            page.wait_for_selector("#image:not([hidden])", timeout=60_000)
            assert page.text_content("#seed-used").startswith("Seed ")
        finally:
            browser.close()


@pytest.mark.cluster
def test_live_mode_latest_wins_across_replicas(cluster):
    """One client's live requests meet in the front's queue: the newest is always answered with an image;
    older ones are answered too, or superseded (409) if they had not been sent to a replica yet."""

    def live(seq):
        body = {
            "prompt": f"anime fox {seq}",
            "live": True,
            "client_id": "artist-1",
            "seq": seq,
            "width": 256,
            "height": 256,
        }
        return seq, *_post(cluster, "/api/generate", body)[:2]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(live, range(1, 9)))
    assert answers[-1][1] == 200  # the newest
    for seq, status, body in answers:
        assert status in (200, 409), (seq, status, body)
        if status == 409:
            assert "superseded" in body["error"]
