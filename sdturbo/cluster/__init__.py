"""Ray Serve across GPUs and hosts: one warm engine per replica, the studio's own web app in front (issue 16).

    python -m sdturbo.cluster --replicas 2                      # this machine: local Ray, 2 replicas, studio on :5000
    python -m sdturbo.cluster --address auto --no-front         # deploy onto a running cluster (ray start --head)
    SDTURBO_RAY_ADDRESS=auto gunicorn -c gunicorn.conf.py "app:create_app()"   # a front for the deployed replicas

Design: the Flask app (every route, the validator, the queue, live mode's latest-wins, encoding and
the library) runs unchanged; only its engine is swapped. With `Settings.ray_address` set, the studio's
engine is a `RemoteEngine`: each request of a batch goes through a Serve DeploymentHandle to a
`Replica`, which Serve picks (fewest ongoing requests of two) and which batches what reaches it with
`@serve.batch` into one call of the same `Engine.generate` the single-process server makes. So there
is one implementation of each route and of generation, and a client cannot tell the difference.
Stale live-mode requests are dropped by the front's batch worker before they are sent, so latest-wins
holds whichever replica would have run them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sdturbo.batching import BatchFailed, Unavailable
from sdturbo.config import FromEnv, Settings
from sdturbo.errors import InvalidParameterError, ModelLoadError, first_line
from sdturbo.params import check_count
from sdturbo.schema import GenerationRequest, GenerationResult

log = logging.getLogger(__name__)

DEPLOYMENT = "Replica"
MAX_IN_FLIGHT = 16  # batches the front sends at once: more than the replicas take, fewer than the queue holds
READY_TIMEOUT_S = 600.0  # replicas load and warm up before taking traffic (a cold compile takes minutes)
STATUS_EVERY_S = 2.0  # how often the front asks Serve how its replicas are (shown on /healthz)


def _env(name: str) -> dict:
    return {"env": f"SDTURBO_RAY_{name}"}


@dataclass(frozen=True)
class ClusterSettings(FromEnv):
    """How the replicas are deployed (the model, style, batch size and wait come from Settings)."""

    # a fixed number of replicas; ignored when max_replicas > 0 (autoscaling)
    replicas: int = dataclasses.field(default=1, metadata=_env("REPLICAS"))
    # autoscaling between min and max replicas, aiming at target_ongoing requests per replica
    min_replicas: int = dataclasses.field(default=1, metadata=_env("MIN_REPLICAS"))
    max_replicas: int = dataclasses.field(default=0, metadata=_env("MAX_REPLICAS"))
    target_ongoing: float = dataclasses.field(default=8.0, metadata=_env("TARGET_ONGOING"))
    # GPUs each replica holds: "auto" = 1 where the cluster has GPUs, else 0 (CPU replicas); 0.5 packs two per GPU
    gpus_per_replica: str = dataclasses.field(default="auto", metadata=_env("GPUS_PER_REPLICA"))
    cpus_per_replica: float = dataclasses.field(default=1.0, metadata=_env("CPUS_PER_REPLICA"))

    def __post_init__(self) -> None:
        check_count(self.replicas, "replicas", 1, 256)
        check_count(self.min_replicas, "min_replicas", 1, 256)
        check_count(self.max_replicas, "max_replicas", 0, 256)
        if self.max_replicas and self.min_replicas > self.max_replicas:
            raise InvalidParameterError(
                "min_replicas", f"must be at most max_replicas ({self.max_replicas}), got {self.min_replicas}"
            )
        _check_number("target_ongoing", self.target_ongoing, 0.1, 1000.0)
        _check_number("cpus_per_replica", self.cpus_per_replica, 0.0, 256.0)
        if self.gpus_per_replica != "auto":
            try:
                gpus = float(self.gpus_per_replica)
            except (TypeError, ValueError):
                gpus = -1.0
            _check_number("gpus_per_replica", gpus, 0.0, 8.0, shown=repr(self.gpus_per_replica))

    def gpus(self, available: float) -> float:
        """GPUs per replica on a cluster with `available` GPUs in all."""
        if self.gpus_per_replica == "auto":
            return 1.0 if available >= 1 else 0.0
        return float(self.gpus_per_replica)

    def scaling(self) -> dict:
        """The deployment's replica options: a fixed count, or Serve's autoscaling between min and max."""
        if not self.max_replicas:
            return {"num_replicas": self.replicas}
        return {
            "autoscaling_config": {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing,
            }
        }


def _check_number(field: str, value: object, low: float, high: float, shown: object = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidParameterError(field, f"must be a number from {low:g} to {high:g}, got {shown or repr(value)}")


# the replica: one warm engine


try:  # an optional dependency (requirements-cluster.txt): without it this module still imports
    import ray
    from ray import serve
except ImportError:
    ray = serve = None


def require_ray() -> None:
    if serve is None:
        raise ModelLoadError("Ray Serve is not installed: pip install -r requirements-cluster.txt (ray[serve])")


def _batched(method):
    """@serve.batch (its size and wait are set per deployment in Replica.__init__); as is without Ray."""
    return method if serve is None else serve.batch(max_batch_size=8, batch_wait_timeout_s=0.005)(method)


class Replica:
    """One warm engine (a GPU, or the CPU) making the images of the requests Serve routes to it.

    It loads and warms up in its constructor, so Serve gives it traffic only once it is ready; a
    model that cannot load fails the constructor, and Serve reports the error (and the front's
    /healthz shows it). One thread loads, warms and runs the engine: CUDA graphs are per thread.
    """

    def __init__(self, settings: Settings) -> None:
        from sdturbo.engine import Engine  # torch is imported in the replica's process only

        self.tag = serve.get_replica_context().replica_id.unique_id
        self.engine = Engine(settings)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="engine")
        self._thread.submit(self._load).result()
        self.generate.set_max_batch_size(settings.max_batch_size)
        self.generate.set_batch_wait_timeout_s(settings.max_wait_ms / 1000)

    def _load(self) -> None:
        started = time.perf_counter()
        self.engine.load()
        self.engine.warmup()
        log.info("replica %s ready in %.2f s: %s", self.tag, time.perf_counter() - started, self.engine.info())

    @_batched
    async def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult | Exception]:
        """The images of the requests Serve gathered into one batch, in order. If the batch fails, each
        request runs alone, so only a culprit fails (its error in its place), as in the single-process batcher."""
        try:
            return await self._generate(requests)
        except Exception as err:  # noqa: BLE001
            if len(requests) > 1:
                log.warning("batch of %d failed on replica %s (%s); running each alone", len(requests), self.tag, err)
            answers: list[GenerationResult | Exception] = []
            for request in requests:
                try:
                    answers += await self._generate([request])
                except Exception as alone:  # noqa: BLE001
                    log.exception("request failed on replica %s", self.tag)
                    answers.append(BatchFailed(f"generation failed: {type(alone).__name__}: {first_line(alone)[:200]}"))
            return answers

    async def _generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self._thread, self.engine.generate, requests)
        return [dataclasses.replace(result, replica=self.tag) for result in results]

    def info(self) -> dict:
        return {**self.engine.info(), "replica": self.tag}

    def check_health(self) -> None:
        """Serve's periodic health check: a replica whose engine is not loaded is restarted."""
        if not self.engine.loaded:
            raise RuntimeError("the engine is not loaded")


def deployment(settings: Settings, cluster: ClusterSettings, gpus_available: float):
    """The Replica class as a Serve deployment bound to `settings`: an application for `serve.run`."""
    require_ray()
    return serve.deployment(
        Replica,
        name=DEPLOYMENT,
        ray_actor_options={"num_gpus": cluster.gpus(gpus_available), "num_cpus": cluster.cpus_per_replica},
        max_ongoing_requests=2 * settings.max_batch_size,  # room to fill the next batch while one runs
        health_check_period_s=5,
        health_check_timeout_s=30,
        max_constructor_retry_count=2,  # a model that cannot load fails the deployment, with its error
        graceful_shutdown_timeout_s=30,
        **cluster.scaling(),
    ).bind(dataclasses.replace(settings, ray_address=""))


# the front: the studio's engine over Serve


class RemoteEngine:
    """The studio's engine over a Ray Serve application: each request goes to a replica through a handle.

    `generate` answers an exception in the place of a request that failed (the batch worker's contract):
    Unavailable (503, retry) when its replica died or none answered in time, BatchFailed when the engine
    raised. `load` waits until the application runs; one that failed to deploy raises with Serve's message.
    """

    warms_by_default = False
    max_in_flight = MAX_IN_FLIGHT

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.handle = None
        self._info: dict = {}
        self._status: dict = {}

    @property
    def loaded(self) -> bool:
        return self.handle is not None

    def load(self) -> None:
        require_ray()
        if not ray.is_initialized():
            ray.init(address=self.settings.ray_address, log_to_driver=False)
        app, deadline = self.settings.ray_app, time.monotonic() + READY_TIMEOUT_S
        while True:
            status = self.read_status()
            if status.get("status") == "RUNNING":
                break
            if status.get("status") in ("DEPLOY_FAILED", "UNHEALTHY") or time.monotonic() > deadline:
                state, message = status.get("status"), status.get("message")
                raise ModelLoadError(f"Ray Serve application {app!r} is {state}: {message}")
            time.sleep(0.5)
        self.handle = serve.get_app_handle(app)
        self._info = self.handle.info.remote().result(timeout_s=60)
        threading.Thread(target=self._watch, name="serve-status", daemon=True).start()
        log.info("generating on Ray Serve application %r: %s", app, self._status)

    def warmup(self) -> float:
        return 0.0  # each replica warmed itself up before Serve gave it traffic

    def info(self) -> dict:
        engine = {key: value for key, value in self._info.items() if key != "replica"}
        serving = {"app": self.settings.ray_app, **self._status}  # status, replicas' states, Serve's message
        return {**engine, "loaded": self.loaded, "backend": "ray", "ray": serving}

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult | Exception]:
        # one deadline for the batch, well inside the front's own (its 504 would come first otherwise)
        deadline = time.monotonic() + self.settings.request_timeout_s
        responses = [self.handle.generate.remote(request) for request in requests]  # all sent, then awaited
        return [self._result(response, deadline) for response in responses]

    def _result(self, response, deadline: float = math.inf) -> GenerationResult | Exception:
        try:
            return response.result(timeout_s=max(0.0, min(deadline - time.monotonic(), 3600.0)))
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as err:
            log.warning("a replica failed while making an image: %s", first_line(err))
            return Unavailable("the GPU replica making this image stopped; retry in a moment")
        except TimeoutError:
            response.cancel()  # nobody waits for it any more: it must not run when a replica frees up
            return Unavailable("no replica answered in time; retry in a moment")
        except ray.exceptions.RayTaskError as err:
            cause = err.cause if isinstance(err.cause, Exception) else err
            return BatchFailed(f"generation failed on a replica: {type(cause).__name__}: {first_line(cause)[:200]}")
        except Exception as err:  # noqa: BLE001  Serve's own errors (its controller gone, back-pressure)
            log.warning("Ray Serve did not deliver an image: %s", first_line(err))
            return Unavailable(f"Ray Serve could not run this request ({type(err).__name__}); retry in a moment")

    def read_status(self) -> dict:
        """The application's status, its replicas' states and Serve's message for it (one controller call)."""
        application = serve.status().applications.get(self.settings.ray_app)
        if application is None:
            self._status = {"status": "NOT_DEPLOYED", "message": "deploy it with python -m sdturbo.cluster"}
            return self._status
        replica = application.deployments.get(DEPLOYMENT)
        # a replica that failed to start: Serve's message ends with the constructor's traceback, whose
        # last line is the error itself ("ModelLoadError: Model folder ... does not exist")
        messages = [application.message, _last_line(replica.message) if replica else ""]
        self._status = {
            "status": str(application.status.value if hasattr(application.status, "value") else application.status),
            "replicas": dict(replica.replica_states) if replica else {},
            "message": " ".join(m for m in messages if m)[:2000],
        }
        return self._status

    def _watch(self) -> None:
        """Keep the replicas' states fresh for /healthz without a controller call per probe."""
        while True:
            time.sleep(STATUS_EVERY_S)
            try:
                self.read_status()
            except Exception as err:  # noqa: BLE001  Serve unreachable: say so on /healthz, keep trying
                self._status = {**self._status, "status": "UNREACHABLE", "message": first_line(err)[:500]}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
