"""Micro-batching: HTTP threads submit jobs, one worker thread owns the engine. No Flask, no torch.

The worker takes the oldest job, then waits at most `max_wait_s` for up to `max_batch - 1` more
jobs with the same key (steps and size), and runs them as one call. It only waits under load
(the last batch had company or jobs are queued): on an idle server a lone request runs at once.
Each job gets exactly its own result back. A batch that raises is split in halves and run again,
down to single jobs, so one bad request (or a batch too large for GPU memory) fails alone; a batch
function may also answer an exception in a job's place, and only that job fails with it. With
`in_flight` above 1 (a remote backend: the batch function sends work to Ray Serve replicas and
waits), that many batches run at once on a pool of threads; the default runs one at a time on the
worker thread, which owns the local engine.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sdturbo.errors import first_line

log = logging.getLogger(__name__)

_STOP = object()  # sentinel: the worker exits when it takes this from the queue


class QueueFull(Exception):
    """The queue is at capacity; retry later."""


class JobExpired(Exception):
    """The job waited longer than its timeout and was not run."""


class JobSuperseded(Exception):
    """A newer job from the same client replaced this one before it ran (live mode: latest wins)."""


class JobCancelled(Exception):
    """The job was cancelled (an A1111 /interrupt) before it ran."""


class ClientGone(Exception):
    """The client closed its connection before the job ran: it was not run."""


class ShuttingDown(Exception):
    """The server is stopping: queued jobs are answered, not run."""


class BatchFailed(Exception):
    """The batch this job was in raised; every job of the batch gets the same message."""


class Unavailable(Exception):
    """The backend that runs the job is gone for now (a Ray Serve replica died): retry in a moment."""


@dataclass(eq=False)
class Job:
    """One request waiting for the worker; `wait()` blocks until it is done."""

    payload: Any  # handed to the batch function as is
    key: Hashable  # only jobs with equal keys share a batch
    client: str | None = None  # jobs of one client supersede each other when `latest_wins`
    seq: int = 0  # the client's own order: a job never supersedes one the client sent later
    timeout_s: float = 30.0
    group: str | None = None  # jobs that `BatchWorker.cancel(group)` cancels together
    alive: Callable[[], bool] | None = None  # whether its client still waits (a socket peek); None: assume so
    enqueued: float = field(default_factory=time.monotonic)
    started: float | None = None  # when the worker took it into a batch
    result: Any = None
    error: Exception | None = None
    batch_size: int = 0
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _finish_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def finish(self, result: Any = None, error: Exception | None = None) -> bool:
        """Record the outcome once; later calls are ignored. True if this call decided it."""
        with self._finish_lock:
            if self._done.is_set():
                return False
            self.result, self.error = result, error
            self._done.set()
            return True

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def expired(self, now: float) -> bool:
        return now - self.enqueued > self.timeout_s

    def finished(self, timeout: float | None = None) -> bool:
        """Wait until the job is done, at most `timeout` seconds; whether it is."""
        return self._done.wait(timeout)

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
        if len(batch) < max_batch and job is not _STOP and job.key == first.key:
            pending.remove(job)
            batch.append(job)
    while len(batch) < max_batch:
        remaining = deadline - time.monotonic()
        try:
            job = source.get(timeout=remaining) if remaining > 0 else source.get_nowait()
        except queue.Empty:
            break
        if job is not _STOP and job.done:
            continue  # superseded while queued: takes no place in a batch
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
        prepare: Callable[[], bool] | None = None,
        in_flight: int = 1,
    ) -> None:
        self.run_batch = run_batch
        # runs once on the worker thread before the first batch; the worker ends if it returns False
        self.prepare = prepare
        self.max_batch, self.max_wait_s, self.latest_wins = max_batch, max_wait_s, latest_wins
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._pending: collections.deque = collections.deque()
        self._latest: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.batch_sizes: collections.Counter = collections.Counter()  # size -> how many batches ran
        self.running = 0  # jobs in the batches being run now
        self._slots = threading.BoundedSemaphore(in_flight)  # batches that may run at once
        self._runners = ThreadPoolExecutor(in_flight, thread_name_prefix="batch") if in_flight > 1 else None
        self.stopping = False  # stop() or drain() was called: submit refuses new jobs
        self._busy = False  # the last batch had company or jobs were waiting: wait max_wait_s to fill the next
        self._thread = threading.Thread(target=self._loop, name="batch-worker", daemon=True)

    def start(self) -> BatchWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batches already queued, then end the worker thread (or the caller's `step` loop);
        nothing new is queued from now on."""
        self.stopping = True
        with self._queue.mutex:  # the sentinel never waits for a place: a full queue must still stop
            self._queue.queue.append(_STOP)
            self._queue.not_empty.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def on_worker_thread(self) -> bool:
        """Whether the caller is the worker thread itself."""
        return threading.current_thread() is self._thread

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def depth(self) -> int:
        """Jobs waiting to run (queued, or held back for a different batch key)."""
        with self._queue.mutex:  # queue.Queue's own lock: a consistent look at its deque
            queued = sum(1 for job in self._queue.queue if job is not _STOP and not job.done)
        return queued + sum(1 for job in list(self._pending) if job is not _STOP and not job.done)

    @property
    def full(self) -> bool:
        """Whether no place is free: jobs queued or held back for another batch key count, those of
        answered or abandoned jobs are freed first."""
        if self.depth < self._queue.maxsize and not self._queue.full():
            return False
        self._purge_finished()
        return self.depth >= self._queue.maxsize or self._queue.full()

    def submit(self, job: Job) -> Job:
        """Queue `job`; raise QueueFull at capacity (queued plus held-back jobs), ShuttingDown once
        stopping. In live mode the client's newest job wins."""
        if self.stopping:
            raise ShuttingDown("the server is shutting down; retry in a moment")
        if self.full:
            raise QueueFull(f"queue is full ({self._queue.maxsize} jobs waiting)")
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise QueueFull(f"queue is full ({self._queue.maxsize} jobs waiting)") from None
        if self.latest_wins and job.client:
            self._supersede(job)
        return job

    def submit_all(self, jobs: list[Job]) -> list[Job]:
        """Queue `jobs` together (variations of one request): a waiting worker wakes to find all of them
        and runs them as one batch, where one by one it could take the first alone. All or none are
        queued: QueueFull if they do not all fit. Live mode's newest-wins applies to single jobs only."""
        if len(jobs) == 1 or (self.latest_wins and any(job.client for job in jobs)):
            return [self.submit(job) for job in jobs]
        if self.stopping:
            raise ShuttingDown("the server is shutting down; retry in a moment")
        if self.full or self.depth + len(jobs) > self._queue.maxsize > 0:
            raise QueueFull(f"queue is full ({self._queue.maxsize} jobs waiting; {len(jobs)} more asked)")
        with self._queue.mutex:  # queue.Queue's own lock, as put() takes it: one wake-up for the lot
            self._queue.queue.extend(jobs)
            self._queue.unfinished_tasks += len(jobs)
            self._queue.not_empty.notify()
        return jobs

    def _supersede(self, job: Job) -> None:
        """Of this client's newest known job and `job`, cancel the older one if it has not started."""
        with self._lock:  # the worker marks jobs started under the same lock
            latest = self._latest.get(job.client)
            if latest is not None and latest.seq > job.seq:
                loser = job  # arrived late: the client already sent something newer
            else:
                loser, self._latest[job.client] = latest, job
            if loser is not None and loser.started is None:
                loser.finish(error=JobSuperseded("superseded by a newer request from the same client"))

    def expire(self, job: Job) -> bool:
        """End `job` with JobExpired unless it has started; whether it did (the caller's deadline passed)."""
        with self._lock:  # the worker marks jobs started under the same lock
            if job.started is not None:
                return False
            waited = time.monotonic() - job.enqueued
            return job.finish(error=JobExpired(f"waited {waited:.1f} s, the {job.timeout_s:g} s timeout; not run"))

    def cancel(self, group: str) -> int:
        """Cancel the jobs of `group` that have not started (they end with JobCancelled); how many."""
        with self._queue.mutex:
            waiting = [job for job in [*self._queue.queue, *self._pending] if job is not _STOP]
        cancelled = 0
        with self._lock:  # the worker marks jobs started under the same lock
            for job in waiting:
                if job.group == group and job.started is None and job.finish(error=JobCancelled("interrupted")):
                    cancelled += 1
        return cancelled

    def _purge_finished(self) -> None:
        """Free the places of jobs already answered, and of jobs whose client hung up (they are answered now)."""
        with self._queue.mutex:
            queued = list(self._queue.queue)
        with self._lock:
            for job in queued:
                if job is not _STOP and not job.done and job.alive is not None and not job.alive():
                    job.finish(error=ClientGone("the client closed the connection before its turn; not run"))
        with self._queue.mutex:
            waiting = [job for job in self._queue.queue if job is _STOP or not job.done]
            self._queue.queue.clear()
            self._queue.queue.extend(waiting)

    def _loop(self) -> None:
        if self.prepare is not None and not self.prepare():
            self._fail_waiting("the worker could not start")
            return
        while self.step():
            pass

    def step(self) -> bool:
        """Collect one batch and run it; False once the stop sentinel is taken (jobs left get an answer).

        The worker thread calls this in a loop; tests drive it on their own thread, one batch at a time.
        """
        # with in_flight > 1: wait for a free slot *before* taking jobs out of the queue, so jobs waiting
        # for a slot still count against the queue's size and can be cancelled or drained
        self._slots.acquire()
        try:
            # wait for company only under load: a lone request on an idle server runs at once
            batch = collect(self._queue, self._pending, self.max_batch, self.max_wait_s if self._busy else 0.0)
        except Exception:  # never let the worker die: every later request would hang
            self._slots.release()
            log.exception("collecting a batch failed; carrying on")
            return True
        if batch[0] is _STOP:
            self._slots.release()
            self._fail_waiting("the server is shutting down")
            if self._runners is not None:
                self._runners.shutdown(wait=True)  # the batches in flight finish and are answered
            return False
        self._busy = len(batch) > 1 or self.depth > 0
        if self._runners is None:
            self._run_safely(batch)
            return True
        try:
            self._runners.submit(self._run_safely, batch)
        except RuntimeError as err:  # the pool is shut down (interpreter exit): answer, free the slot
            self._slots.release()
            for job in batch:
                job.finish(error=ShuttingDown(f"the server is shutting down ({err})"))
        return True

    def _run_safely(self, batch: list[Job]) -> None:
        try:
            self._run(self._runnable(batch))
        except Exception as err:  # a bug outside the batch function: answer the batch, keep the worker
            log.exception("running a batch failed outside the engine; carrying on")
            for job in batch:
                job.finish(error=BatchFailed(f"internal error: {type(err).__name__}"))
        finally:
            self._slots.release()

    def _runnable(self, batch: list[Job]) -> list[Job]:
        """Drop jobs already finished (superseded) and fail the ones that waited too long."""
        now, runnable = time.monotonic(), []
        with self._lock:
            for job in batch:
                if job.done:
                    continue
                if job.alive is not None and not job.alive():
                    job.finish(error=ClientGone("the client closed the connection before its turn; not run"))
                    self._forget(job)
                    continue
                if job.expired(now):
                    waited = now - job.enqueued
                    job.finish(
                        error=JobExpired(
                            f"waited {waited:.1f} s in the queue, longer than the {job.timeout_s:g} s timeout; not run"
                        )
                    )
                    self._forget(job)
                    continue
                job.started = now
                runnable.append(job)
        return runnable

    def _run(self, batch: list[Job]) -> None:
        if not batch:
            return
        for job, (result, error, size) in zip(batch, self._outcomes(batch), strict=True):
            job.batch_size = size
            job.finish(result, error)
        with self._lock:
            for job in batch:
                self._forget(job)

    def _outcomes(self, batch: list[Job]) -> list[tuple[Any, Exception | None, int]]:
        """(result, error, size of the call that made it) per job. A failing batch is split in halves and
        each half run again, so one bad request (or a batch too big for memory) fails alone. An
        exception answered in a job's place fails that job only; Unavailable is passed on as it is."""
        with self._lock:
            self.running += len(batch)
        try:
            results = self.run_batch([job.payload for job in batch])
        except Exception as err:  # one bad batch must not kill the worker, nor fail its neighbours
            with self._lock:  # not running now: the halves below count themselves
                self.running -= len(batch)
            if isinstance(err, Unavailable):
                return [(None, err, len(batch))] * len(batch)
            if len(batch) == 1:
                log.exception("request failed")
                return [(None, BatchFailed(f"generation failed: {type(err).__name__}: {first_line(err)[:200]}"), 1)]
            log.warning("batch of %d failed (%s); retrying its halves", len(batch), type(err).__name__)
            log.debug("the batch's error: %s", err)  # may quote a prompt: DEBUG only
            middle = len(batch) // 2
            return self._outcomes(batch[:middle]) + self._outcomes(batch[middle:])
        with self._lock:
            self.running -= len(batch)
        if len(results) != len(batch):  # a broken batch function: retrying would not help
            failure = BatchFailed(f"batch function returned {len(results)} results for {len(batch)} jobs")
            log.error("%s", failure)
            return [(None, failure, len(batch))] * len(batch)
        with self._lock:
            self.batch_sizes[len(batch)] += 1
        return [
            (None, result, len(batch)) if isinstance(result, Exception) else (result, None, len(batch))
            for result in results
        ]

    def _forget(self, job: Job) -> None:
        """Drop the client's latest-job entry once that job is finished (call with the lock held)."""
        if job.client and self._latest.get(job.client) is job:
            del self._latest[job.client]

    def drain(self, reason: str) -> int:
        """Answer every job not yet started with ShuttingDown(reason) (the running batch finishes); how many."""
        self.stopping = True
        with self._queue.mutex:
            waiting = [job for job in [*self._queue.queue, *list(self._pending)] if job is not _STOP]
        with self._lock:
            return sum(job.finish(error=ShuttingDown(reason)) for job in waiting if job.started is None)

    def _fail_waiting(self, reason: str) -> None:
        """On stop: jobs still waiting get an answer instead of hanging."""
        leftovers = list(self._pending)
        self._pending.clear()
        while True:
            try:
                leftovers.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for job in leftovers:
            if job is not _STOP:
                job.finish(error=ShuttingDown(reason))
