"""Micro-batching: HTTP threads submit jobs, one worker thread owns the engine. No Flask, no torch.

The worker takes the oldest job, then waits at most `max_wait_s` for up to `max_batch - 1` more
jobs with the same key (steps and size), and runs them as one call. It only waits under load
(the last batch had company or jobs are queued): on an idle server a lone request runs at once.
Each job gets exactly its own result back; an error fails every job of that batch with the
same message.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()  # sentinel: the worker exits when it takes this from the queue


class QueueFull(Exception):
    """The queue is at capacity; retry later."""


class JobExpired(Exception):
    """The job waited longer than its timeout and was not run."""


class JobSuperseded(Exception):
    """A newer job from the same client replaced this one before it ran (live mode: latest wins)."""


class BatchFailed(Exception):
    """The batch this job was in raised; every job of the batch gets the same message."""


@dataclass(eq=False)
class Job:
    """One request waiting for the worker; `wait()` blocks until it is done."""

    payload: Any  # handed to the batch function as is
    key: Hashable  # only jobs with equal keys share a batch
    client: str | None = None  # jobs of one client supersede each other when `latest_wins`
    timeout_s: float = 30.0
    enqueued: float = field(default_factory=time.monotonic)
    started: float | None = None  # when the worker took it into a batch
    result: Any = None
    error: Exception | None = None
    batch_size: int = 0
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def finish(self, result: Any = None, error: Exception | None = None) -> None:
        if not self._done.is_set():  # first outcome wins
            self.result, self.error = result, error
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def expired(self, now: float) -> bool:
        return now - self.enqueued > self.timeout_s

    def wait(self, timeout: float | None = None) -> Any:
        """The result, or raise the job's error; TimeoutError if still not done after `timeout`."""
        if not self._done.wait(timeout):
            raise TimeoutError("job not finished in time")
        if self.error is not None:
            raise self.error
        return self.result


def collect(source: queue.Queue, pending: collections.deque, max_batch: int, max_wait_s: float) -> list[Job]:
    """The next batch: the oldest job plus compatible ones arriving within `max_wait_s`.

    Incompatible jobs seen meanwhile go to `pending` (in order) and are served first next time.
    Returns [_STOP] when the stop sentinel is reached with nothing else to do.
    """
    first = pending.popleft() if pending else source.get()
    if first is _STOP:
        return [_STOP]
    batch, deadline = [first], time.monotonic() + max_wait_s
    for job in list(pending):  # older jobs waiting from a previous round go first
        if len(batch) < max_batch and job.key == first.key:
            pending.remove(job)
            batch.append(job)
    while len(batch) < max_batch:
        remaining = deadline - time.monotonic()
        try:
            job = source.get(timeout=remaining) if remaining > 0 else source.get_nowait()
        except queue.Empty:
            break
        if job is not _STOP and job.key == first.key:
            batch.append(job)
        else:
            pending.append(job)
            if job is _STOP:
                break
    return batch


class BatchWorker:
    """Owns the batch function on one thread; `submit` is safe from any thread."""

    def __init__(
        self,
        run_batch: Callable[[list[Any]], list[Any]],
        max_batch: int = 8,
        max_wait_s: float = 0.005,
        queue_size: int = 64,
        latest_wins: bool = True,
    ) -> None:
        self.run_batch = run_batch
        self.max_batch, self.max_wait_s, self.latest_wins = max_batch, max_wait_s, latest_wins
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._pending: collections.deque = collections.deque()
        self._latest: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.batch_sizes: collections.Counter = collections.Counter()  # size -> how many batches ran
        self._thread = threading.Thread(target=self._loop, name="batch-worker", daemon=True)

    def start(self) -> BatchWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batches already queued, then end the worker thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    @property
    def depth(self) -> int:
        """Jobs waiting (queued or held back for a different batch key)."""
        return self._queue.qsize() + len(self._pending)

    def submit(self, job: Job) -> Job:
        """Queue `job`; raise QueueFull when at capacity. A newer job of the same client supersedes."""
        if self.latest_wins and job.client:
            with self._lock:
                older = self._latest.get(job.client)
                self._latest[job.client] = job
            if older is not None and older.started is None:
                older.finish(error=JobSuperseded("superseded by a newer request from the same client"))
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise QueueFull(f"queue is full ({self._queue.maxsize} jobs waiting)") from None
        return job

    def _loop(self) -> None:
        busy = False
        while True:
            # wait for company only under load: a lone request on an idle server runs at once
            batch = collect(self._queue, self._pending, self.max_batch, self.max_wait_s if busy else 0.0)
            if batch[0] is _STOP:
                return
            busy = len(batch) > 1 or self.depth > 0
            self._run(self._runnable(batch))

    def _runnable(self, batch: list[Job]) -> list[Job]:
        """Drop jobs already finished (superseded) and fail the ones that waited too long."""
        now, runnable = time.monotonic(), []
        for job in batch:
            if job.done:
                continue
            if job.expired(now):
                job.finish(
                    error=JobExpired(
                        f"waited {now - job.enqueued:.1f} s in the queue, "
                        f"longer than the {job.timeout_s:g} s timeout; not run"
                    )
                )
                continue
            job.started = now
            runnable.append(job)
        return runnable

    def _run(self, batch: list[Job]) -> None:
        if not batch:
            return
        try:
            results = self.run_batch([job.payload for job in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} jobs")
        except Exception as err:  # one bad batch must not kill the worker; every job hears why
            log.exception("batch of %d failed", len(batch))
            failure = BatchFailed(f"generation failed: {type(err).__name__}: {err}")
            for job in batch:
                job.finish(error=failure)
            return
        self.batch_sizes[len(batch)] += 1
        for job, result in zip(batch, results, strict=True):
            job.batch_size = len(batch)
            job.finish(result)
        with self._lock:
            for job in batch:
                if job.client and self._latest.get(job.client) is job:
                    del self._latest[job.client]
