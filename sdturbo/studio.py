"""The studio: the one service every front end calls (CLI, asset batches, the web app, also over Ray Serve).

No Flask, no HTTP, no torch at import time. A request takes one path:

    prepare(prompt, style, ...)  -> GenerationRequest   user prompt checked once, style applied after
    submit(request)              -> Served              served mode: the batch worker thread runs it,
                                                        then the image is kept (library, or previews)
    run(requests)                -> [GenerationResult]  direct mode: the caller's thread runs them
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sdturbo import metadata, params
from sdturbo.batching import BatchWorker, Job, JobCancelled
from sdturbo.config import Settings
from sdturbo.domain import DomainValidator, Verdict
from sdturbo.errors import InvalidParameterError
from sdturbo.library import Entry, ImageRecord, Library, LibraryError, PreviewRing
from sdturbo.schema import GenerationRequest, GenerationResult

log = logging.getLogger(__name__)

LIBRARY_OFF = "the library is off (the server runs with --library off)"
RUN_GRACE_S = 120.0  # how long a request waits for a batch that started before its queue deadline


class NotReady(Exception):
    """The model is still loading (or failed to load)."""


class ClientBusy(Exception):
    """One client already has its quota of requests waiting (Settings.client_quota); retry later."""


class OutOfDomain(ValueError):
    """The prompt is outside the anime domain; `verdict` has the reasons and anime rewrites."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"prompt is outside this tool's anime domain ({verdict.category})")
        self.verdict = verdict


@dataclass(frozen=True)
class Kept:
    """What became of an image after it was made (docs/LIBRARY.md)."""

    png: bytes | None = None  # the PNG with its settings chunks, as written to the library (answers reuse it)
    entry: Entry | None = None  # saved in the library
    preview_id: str | None = None  # a live preview held in memory until the user keeps it
    error: str | None = None  # not saved, and why


@dataclass(frozen=True)
class Served:
    """A finished request: the result, how long it waited, and what became of it."""

    result: GenerationResult
    queue_ms: float  # from submission until the worker took it into a batch
    total_ms: float  # from submission until the result was back
    batch_size: int
    kept: Kept = Kept()


class Studio:
    """One engine and one domain validator behind the request spine.

    Served mode (`start()`): a batch worker thread loads and warms the engine, then runs queued
    requests; `submit` is safe from any thread. Direct mode (`load()`): `run` calls the engine on
    the caller's thread, in order, one pipeline call per `max_batch_size` requests of one shape.
    """

    def __init__(self, settings: Settings, engine=None, validator: DomainValidator | None = None) -> None:
        self.settings = settings
        self.engine = engine if engine is not None else _real_engine(settings)
        self.validator = validator or DomainValidator(
            settings.validator_model, tags=settings.tags, cache_dir=settings.cache_dir
        )
        # the worker thread loads and warms the engine itself: CUDA graphs (compile modes
        # max-autotune, reduce-overhead) are recorded per thread, so warm-up must run where requests do
        self.worker = BatchWorker(
            self.engine.generate,
            max_batch=settings.max_batch_size,
            max_wait_s=settings.max_wait_ms / 1000,
            queue_size=settings.queue_size,
            prepare=self._load_served,
            in_flight=getattr(self.engine, "max_in_flight", 1),  # a remote engine (Ray Serve) runs several
        )
        self.served = False
        self.ready = threading.Event()
        self.load_error: str | None = None
        self.load_seconds: float | None = None
        self._load_finished = threading.Event()
        self.previews = PreviewRing()
        self.library: Library | None = None  # opened by start(), again on later saves if that failed
        self.library_error: str | None = None
        self._library_lock = threading.Lock()
        self._waiting: collections.Counter[str] = collections.Counter()  # queued images per client (source)
        self._waiting_lock = threading.Lock()
        self.closing = False  # shutdown() was called: nothing new is queued

    # lifecycle

    def load(self, warmup: bool | None = None) -> Studio:
        """Load the engine and the validator on this thread, once; warm the engine up (by default when
        served, and in direct mode where it pays: on GPUs, and when compiled)."""
        if self.served and not self.worker.on_worker_thread:
            raise RuntimeError("a started studio loads on its worker thread, where its requests run")
        if not self.ready.is_set():
            started = time.perf_counter()
            if not self.engine.loaded:
                self.engine.load()
            if warmup is None:
                warmup = self.served or self.engine.warms_by_default
            if warmup:
                self.engine.warmup()
            self.validator.load()
            self.load_seconds = time.perf_counter() - started
            self.ready.set()
        return self

    def start(self, background: bool = True) -> Studio:
        """Served mode: load and warm everything once on the worker thread; /healthz answers meanwhile.

        With background=False, return only when loading has finished (or failed).
        """
        if self.served or self.ready.is_set():
            # warm-up (CUDA graphs) must happen on the worker thread, so the worker must do the loading
            raise RuntimeError("start() must be called once, before anything loaded the studio")
        self.served = True
        self.open_library()
        self.worker.start()
        if not background:
            self._load_finished.wait()
        return self

    def _load_served(self) -> bool:
        try:
            self.load()
        except Exception as err:  # the server stays up and reports the failure on /healthz
            self.load_error = f"{type(err).__name__}: {err}"
            log.exception("loading the model failed")
            return False
        else:
            log.info("studio ready in %.2f s: %s", self.load_seconds, self.engine.info())
            return True
        finally:
            self._load_finished.set()

    def shutdown(self, timeout: float = 10.0) -> int:
        """Stop at once: nothing new is queued, waiting requests are answered 503 (not run), the batch
        running finishes (at most `timeout` s), the worker ends. Returns how many were answered unrun."""
        self.closing = True
        drained = self.worker.drain("the server is shutting down; retry in a moment")
        log.info("shutting down: %d waiting request(s) answered, not run", drained)
        if self.worker.alive:
            self.worker.stop(timeout)
        if self.library is not None and not self.worker.alive:  # a batch still running saves its images
            self.library.close()
        return drained

    def stop(self) -> None:
        """Finish queued work and end the worker; during loading, it ends as soon as loading does."""
        if self.worker.alive:
            self.worker.stop()
        if self.library is not None:
            self.library.close()

    def open_library(self) -> Library | None:
        """The open library (None when it is off or cannot be opened: `library_error` says why)."""
        folder = self.settings.library
        if folder is None or self.library is not None:
            return self.library
        with self._library_lock:
            if self.library is None:
                try:
                    self.library = Library(folder, retain=self.settings.library_retain).open()
                except LibraryError as err:
                    if self.library_error != str(err):
                        log.error("%s; images are answered but not saved", err)
                    self.library_error = str(err)
                else:
                    self.library_error = None
                    log.info("library at %s", folder)
        return self.library

    # the request spine

    def check(self, prompt: object, style: object = None) -> Verdict:
        """The validator's verdict; the user's prompt and the style name are checked first, once."""
        prompt, style = self.validator.check_input(prompt, self.settings.style if style is None else style)
        self._require_ready()
        return self.validator.judge(prompt, style)

    def prepare(
        self,
        prompt: object,
        *,
        style: object = None,
        steps: object = None,
        seed: object = None,
        width: object = None,
        height: object = None,
        preview: object = None,
        init_image=None,
        strength: object = None,
    ) -> GenerationRequest:
        """A checked request for an in-domain prompt; raises InvalidParameterError, NotReady or OutOfDomain.

        Values come as the front end decoded them; None means the default (random for the seed).
        Every field is checked once, before the readiness gate and the domain decision; errors name
        the field as written here (prompt, style, steps, seed, width, height, preview, strength).
        `init_image` (an RGB PIL image already fitted, see sdturbo.init_image) makes it image-to-image:
        its size is the request's, and steps and strength default to the model card's 2 and 0.5.
        """
        # 1. the input: the user's prompt and style, then every other field as the request is built
        prompt, style = self.validator.check_input(prompt, self.settings.style if style is None else style)
        given = {"steps": steps, "width": width, "height": height, "preview": preview}
        img2img = {}
        if init_image is not None:
            given |= {"width": init_image.width, "height": init_image.height}
            if steps is None:
                given["steps"] = params.DEFAULT_IMG2IMG_STEPS
            img2img = {"init_image": init_image, "strength": params.DEFAULT_STRENGTH if strength is None else strength}
        elif strength is not None:
            raise InvalidParameterError("strength", "is for image-to-image: give an init image too")
        request = GenerationRequest(
            self.validator.render(prompt, style),  # what the model renders
            params.random_seed() if seed is None else seed,
            **{name: value for name, value in given.items() if value is not None},
            style=style,
            user_prompt=prompt,
            **img2img,
        )
        # 2. is the studio up, and is the prompt in the domain
        self._require_ready()
        verdict = self.validator.judge(prompt, style)
        if not verdict.allowed:
            raise OutOfDomain(verdict)
        return request

    def variations(self, request: GenerationRequest, count: object, seeded: bool) -> list[GenerationRequest]:
        """`count` (1-8) requests like `request` with consecutive seeds: from its seed when the caller
        `seeded` it, else from a fresh random start that leaves room for all of them."""
        count = params.check_count(count, "n", 1, params.MAX_VARIATIONS)
        first = request.seed if seeded else params.random_seed(count)
        if first + count - 1 > params.MAX_SEED:
            raise InvalidParameterError("seed", f"{first} + {count - 1} variations passes {params.MAX_SEED}")
        return [dataclasses.replace(request, seed=first + i) for i in range(count)]

    def submit_many(
        self,
        requests: list[GenerationRequest],
        *,
        client: str | None = None,
        seq: int = 0,
        keep: bool = True,
        group: str | None = None,
        source: str | None = None,
        alive=None,
    ) -> list[Served | None]:
        """Served mode: queue `requests` together (the worker batches them) and wait for all, in order.

        With a `group`, `interrupt(group)` cancels those still waiting: they answer None, and the
        images made before the interrupt are kept and answered as usual. `source` (the client's address)
        is held to `client_quota` waiting images (ClientBusy beyond); `alive()` says whether the client
        still waits, checked before its jobs run."""
        if not self.served:
            raise RuntimeError("Studio.submit is for a started studio; in direct mode use run()")
        if client is not None and len(requests) > 1:
            raise InvalidParameterError("n", "live mode makes one image at a time; use n 1 with live")
        self._require_ready()
        with self._quota(source, len(requests)):
            return self._submit(requests, client, seq, keep, group, alive)

    @contextlib.contextmanager
    def _quota(self, source: str | None, count: int):
        """Hold `count` of `source`'s quota of waiting images while its requests wait."""
        quota = self.settings.client_quota
        with self._waiting_lock:
            if source is not None and self._waiting[source] + count > quota:
                raise ClientBusy(f"this client already has {self._waiting[source]} image(s) waiting (at most {quota})")
            if source is not None:
                self._waiting[source] += count
        try:
            yield
        finally:
            if source is not None:
                with self._waiting_lock:
                    self._waiting[source] -= count
                    if self._waiting[source] <= 0:
                        del self._waiting[source]

    def _submit(self, requests, client, seq, keep, group, alive) -> list[Served | None]:
        timeout = self.settings.request_timeout_s
        jobs: list[Job] = []
        try:
            jobs = [Job(r, r.shape, client, seq, timeout_s=timeout, group=group, alive=alive) for r in requests]
            self.worker.submit_all(jobs)  # together: variations run as one batch
            return self._collect(requests, jobs, client, keep, group, timeout)
        except BaseException:
            # refused part-way (queue full) or failed while waiting: what is still queued is nobody's now
            for job in jobs:
                self.worker.expire(job)
            raise

    def _collect(self, requests, jobs, client, keep, group, timeout) -> list[Served | None]:
        """Wait for each job in order (504 at its deadline) and keep its image."""
        served = []
        inits: dict[int, tuple[bytes, str]] = {}  # variations share one init image: encode and hash it once
        for request, job in zip(requests, jobs, strict=True):
            # answer 504 at the deadline, not when the worker reaches the job: then it is not run at all
            if not job.finished(max(0.0, job.enqueued + timeout - time.monotonic())):
                self.worker.expire(job)
            try:
                result = job.wait(RUN_GRACE_S)  # started by the deadline: its batch may take this long
            except JobCancelled:
                if group is None:
                    raise
                served.append(None)
                continue
            now = time.monotonic()
            kept = self._keep(request, result, client, inits) if keep else Kept()
            queued, total = ((job.started or now) - job.enqueued) * 1000, (now - job.enqueued) * 1000
            served.append(Served(result, queued, total, job.batch_size, kept))
        return served

    def submit(
        self, request: GenerationRequest, *, client: str | None = None, seq: int = 0, keep: bool = True
    ) -> Served:
        """Served mode: queue one request and wait for it; raises the batcher's errors (QueueFull, ...).

        With a `client`, that client's newest request wins (live mode): older ones not yet started
        end with JobSuperseded; `seq` is the client's own order. With `keep`, the image is saved in
        the library, or held as a preview when the request is one (live mode).
        """
        (served,) = self.submit_many([request], client=client, seq=seq, keep=keep)
        return served

    def _keep(
        self,
        request: GenerationRequest,
        result: GenerationResult,
        client: str | None,
        inits: dict[int, tuple[bytes, str]] | None = None,
    ) -> Kept:
        """Save a finished image in the library (previews: hold it); a failure to save is reported, not raised.

        `inits` holds the PNG and sha256 of init images already encoded in this call, by object id."""
        if request.preview:
            return Kept(preview_id=self.previews.add(client, request, result)) if self.settings.library else Kept()
        init_png = init_sha = None
        if request.init_image is not None:
            inits = {} if inits is None else inits
            if id(request.init_image) not in inits:
                data = metadata.plain_png(request.init_image)
                inits[id(request.init_image)] = (data, hashlib.sha256(data).hexdigest())
            init_png, init_sha = inits[id(request.init_image)]
        record = ImageRecord.of(request, result, init_sha)
        png = result.png_bytes(fast=True, extra=record.png_chunks())
        library = self.open_library()
        if library is None:
            return Kept(png, error=self.library_error and f"not saved to the library: {self.library_error}")
        try:
            return Kept(png, entry=library.add(record, png, init_png))
        except LibraryError as err:
            log.error("not saved to the library: %s", err)
            return Kept(png, error=f"not saved to the library: {err}")

    def keep_preview(self, preview_id: str, *, starred: bool = False) -> tuple[Entry, bool]:
        """Save a held live preview in the library; returns (entry, whether it was saved just now).

        A preview decoded by the fast preview VAE is made again with the full VAE (same prompt, seed,
        steps and size): the library keeps the same image at full quality. Raises NotFound, LibraryError.
        """
        held = self.previews.get(preview_id)
        library = self.open_library()
        if library is None:
            raise LibraryError(self.library_error or LIBRARY_OFF)
        with held.lock:
            if held.entry_id is not None and not library.many([held.entry_id])[0]:
                held.entry_id = None  # kept, then deleted from the library: keep it again
            if held.entry_id is None:
                request, result = held.request, held.result
                if result.vae is not None:
                    request = dataclasses.replace(request, preview=False)
                    result = self.submit(request, keep=False).result
                kept = self._keep(dataclasses.replace(request, preview=False), result, held.client)
                if kept.entry is None:
                    raise LibraryError(kept.error or "not saved to the library")
                held.entry_id, created = kept.entry.id, True
            else:
                created = False
        entry = library.get(held.entry_id)
        if starred and not entry.starred:
            entry = library.update(entry.id, starred=True)
        return entry, created

    def run(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Direct mode: the images of `requests`, in order, made on this thread."""
        if self.served:
            raise RuntimeError("Studio.run is for direct mode; a started studio takes requests through submit()")
        results = self.load().engine.generate(requests)
        for result in results:  # a remote engine answers a failure in the place of its image
            if isinstance(result, Exception):
                raise result
        return results

    # facts for front ends

    @property
    def in_flight(self) -> int:
        """Images requested by web clients that have not been answered yet (queued, running or kept)."""
        with self._waiting_lock:
            return sum(self._waiting.values())

    def interrupt(self, group: str) -> int:
        """Cancel the queued requests submitted with `group` (the batch already running finishes); how many."""
        return self.worker.cancel(group)

    def activity(self) -> dict:
        """How busy the worker is: images being made now, and images waiting."""
        return {"running": self.worker.running, "queued": self.worker.depth}

    def redact(self, text: str) -> str:
        """`text` without this machine's folders when the server is reachable beyond loopback (their
        names stay: enough for the owner, who has the log); unchanged on a local-only server."""
        if self.settings.local_only:
            return text
        for folder in (self.settings.library, self.settings.cache_dir, Path(self.settings.model), Path.home()):
            if folder is not None and folder.is_absolute() and str(folder) in text:
                text = text.replace(str(folder), folder.name or "~")
        return text

    def health(self) -> dict:
        """Status for /healthz: loading, error, or ok with model and queue facts (see `redact`)."""
        return json.loads(self.redact(json.dumps(self._health())))

    def _health(self) -> dict:
        if self.load_error:
            return {"status": "error", "error": self.load_error}
        if self.ready.is_set() and self.served and not self.worker.alive:
            return {"status": "error", "error": "the generation worker has stopped"}
        if not self.ready.is_set():
            return {"status": "loading", "model": self.settings.model}
        info = self.engine.info()
        serving = info.get("ray", {}).get("status", "RUNNING")  # Ray Serve replicas (sdturbo.cluster)
        return {
            # replicas unhealthy, undeployed or unreachable: a load balancer should send traffic elsewhere
            "status": "ok" if serving in ("RUNNING", "DEPLOYING") else "unavailable",
            **info,
            "validator": self.validator.mode,
            "queue_depth": self.worker.depth,
            "batch_sizes": {str(k): v for k, v in sorted(self.worker.batch_sizes.items())},
            "load_seconds": round(self.load_seconds or 0.0, 2),
            "library": self._library_health(),
        }

    def _library_health(self) -> dict | None:
        if self.settings.library is None:
            return None
        if self.library is None:
            return {"path": str(self.settings.library), "error": self.library_error}
        return {"path": str(self.settings.library), "retain": self.settings.library_retain}

    def options(self) -> dict:
        """What a front end may ask for: limits, defaults, preset sizes and styles (the page renders these)."""
        return {
            "limits": {
                "steps": [params.MIN_STEPS, params.MAX_STEPS],
                "side": {"min": params.MIN_SIDE, "max": params.MAX_SIDE, "multiple": params.SIDE_MULTIPLE},
                "seed": [0, params.MAX_SEED],
                "prompt_chars": params.MAX_PROMPT_CHARS,
                "strength": [params.MIN_STRENGTH, params.MAX_STRENGTH],  # and steps x strength >= 1
                "n": [1, params.MAX_VARIATIONS],
            },
            "defaults": {
                "steps": params.DEFAULT_STEPS,
                "width": params.DEFAULT_SIDE,
                "height": params.DEFAULT_SIDE,
                "style": self.settings.style,
                "strength": params.DEFAULT_STRENGTH,
                "img2img_steps": params.DEFAULT_IMG2IMG_STEPS,
            },
            "sizes": [list(size) for size in params.PRESET_SIZES],
            "styles": self.validator.styles,
        }

    def _require_ready(self) -> None:
        if not self.served:
            return  # direct mode loads on first use
        if self.closing:
            raise NotReady("the server is shutting down")
        if self.load_error:
            raise NotReady(f"the model failed to load: {self.load_error}")
        if not self.ready.is_set():
            raise NotReady("the model is still loading")


def _real_engine(settings: Settings):
    if settings.ray_address:  # the images are made by Ray Serve replicas (sdturbo.cluster)
        from sdturbo.cluster import RemoteEngine

        return RemoteEngine(settings)
    from sdturbo.engine import Engine  # torch is imported here, not when the web modules load

    return Engine(settings)
