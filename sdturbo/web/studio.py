"""The server's core: one engine behind one batch worker, plus the domain validator. No Flask."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sdturbo.batching import BatchWorker, Job
from sdturbo.config import Settings
from sdturbo.domain import DomainValidator, Verdict
from sdturbo.params import random_seed
from sdturbo.schema import GenerationRequest, GenerationResult

log = logging.getLogger(__name__)

RUN_GRACE_S = 120.0  # how long a request waits for a batch that already started, beyond its queue timeout


class NotReady(Exception):
    """The model is still loading (or failed to load)."""


@dataclass(frozen=True)
class Served:
    """A finished request: the result and how long it waited."""

    result: GenerationResult
    queue_ms: float  # from submission until the worker took it into a batch
    total_ms: float  # from submission until the result was back
    batch_size: int


class Studio:
    """Loads the engine and validator once (in the background) and serves requests through the batcher."""

    def __init__(self, settings: Settings, engine=None, validator: DomainValidator | None = None) -> None:
        self.settings = settings
        self.engine = engine if engine is not None else _real_engine(settings)
        self.validator = validator or DomainValidator(settings.validator_model)
        # the worker thread loads and warms the engine itself: CUDA graphs (compile modes
        # max-autotune, reduce-overhead) are recorded per thread, so warm-up must run where requests do
        self.worker = BatchWorker(
            self.engine.generate,
            max_batch=settings.max_batch_size,
            max_wait_s=settings.max_wait_ms / 1000,
            queue_size=settings.queue_size,
            prepare=self._load,
        )
        self.ready = threading.Event()
        self.load_error: str | None = None
        self.load_seconds: float | None = None
        self._load_finished = threading.Event()

    def start(self, background: bool = True) -> Studio:
        """Load and warm everything once, on the worker thread; /healthz answers meanwhile.

        With background=False, return only when loading has finished (or failed).
        """
        self.worker.start()
        if not background:
            self._load_finished.wait()
        return self

    def _load(self) -> bool:
        started = time.perf_counter()
        try:
            if not getattr(self.engine, "loaded", False):
                self.engine.load()
            self.engine.warmup()
            self.validator.load()
        except Exception as err:  # the server stays up and reports the failure on /healthz
            self.load_error = f"{type(err).__name__}: {err}"
            log.exception("loading the model failed")
            return False
        else:
            self.load_seconds = time.perf_counter() - started
            self.ready.set()
            log.info("studio ready in %.2f s: %s", self.load_seconds, self.engine.info())
            return True
        finally:
            self._load_finished.set()

    def stop(self) -> None:
        """Finish queued work and end the worker; during loading, it ends as soon as loading does."""
        if self.worker.alive:
            self.worker.stop()

    def validate(self, prompt: str, style: str) -> Verdict:
        self._require_ready()
        return self.validator.validate(prompt, style)

    def generate(
        self,
        prompt: str,
        steps: int,
        seed: int | None,
        width: int,
        height: int,
        client: str | None = None,
        preview: bool = False,
        seq: int = 0,
    ) -> Served:
        """Queue one image and wait for it; raises the batcher's errors (QueueFull, JobExpired, ...)."""
        self._require_ready()
        seed = random_seed() if seed is None else seed
        request = GenerationRequest(prompt, seed, steps, width, height, preview)
        job = self.worker.submit(
            Job(request, (steps, width, height, preview), client, seq, timeout_s=self.settings.request_timeout_s)
        )
        result = job.wait(self.settings.request_timeout_s + RUN_GRACE_S)
        now = time.monotonic()
        return Served(result, ((job.started or now) - job.enqueued) * 1000, (now - job.enqueued) * 1000, job.batch_size)

    def health(self) -> dict:
        """Status for /healthz: loading, error, or ok with model and queue facts."""
        if self.load_error:
            return {"status": "error", "error": self.load_error}
        if self.ready.is_set() and not self.worker.alive:
            return {"status": "error", "error": "the generation worker has stopped"}
        if not self.ready.is_set():
            return {"status": "loading", "model": self.settings.model}
        return {
            "status": "ok",
            **self.engine.info(),
            "validator": self.validator.mode,
            "queue_depth": self.worker.depth,
            "batch_sizes": {str(k): v for k, v in sorted(self.worker.batch_sizes.items())},
            "load_seconds": round(self.load_seconds or 0.0, 2),
        }

    def _require_ready(self) -> None:
        if self.load_error:
            raise NotReady(f"the model failed to load: {self.load_error}")
        if not self.ready.is_set():
            raise NotReady("the model is still loading")


def _real_engine(settings: Settings):
    from sdturbo.engine import Engine  # torch is imported here, not when the web modules load

    return Engine(settings)
