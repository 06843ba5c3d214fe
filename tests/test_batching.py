import collections
import queue
import threading
import time

import pytest

from sdturbo.batching import (
    _STOP,
    BatchFailed,
    BatchWorker,
    Job,
    JobCancelled,
    JobExpired,
    JobSuperseded,
    QueueFull,
    Unavailable,
    collect,
)


def job(payload, key="k", **kwargs):
    return Job(payload, key, **kwargs)


def filled(*jobs):
    source = queue.Queue()
    for item in jobs:
        source.put(item)
    return source


def test_collect_takes_up_to_max_batch_of_one_key():
    source, pending = filled(*(job(i) for i in range(5))), collections.deque()
    assert [j.payload for j in collect(source, pending, max_batch=3, max_wait_s=0)] == [0, 1, 2]
    assert [j.payload for j in collect(source, pending, max_batch=3, max_wait_s=0)] == [3, 4]


def test_collect_holds_other_keys_back_in_order():
    source, pending = filled(job(1, "a"), job(2, "b"), job(3, "a"), job(4, "b")), collections.deque()
    assert [j.payload for j in collect(source, pending, 8, 0)] == [1, 3]
    assert [j.payload for j in pending] == [2, 4]
    assert [j.payload for j in collect(source, pending, 8, 0)] == [2, 4]


def test_collect_waits_at_most_max_wait_for_company():
    source, pending = queue.Queue(), collections.deque()
    source.put(job(1))
    threading.Timer(0.02, lambda: source.put(job(2))).start()
    started = time.monotonic()
    batch = collect(source, pending, max_batch=8, max_wait_s=0.5)  # 25x the timer's delay, even on busy CI
    assert [j.payload for j in batch] == [1, 2]
    assert time.monotonic() - started < 1.0  # bounded by max_wait_s, not by the queue


def test_collect_returns_stop_only_when_nothing_is_left():
    source, pending = filled(job(1), _STOP), collections.deque()
    assert [j.payload for j in collect(source, pending, 8, 0)] == [1]
    assert collect(source, pending, 8, 0) == [_STOP]


def echo(payloads):
    return [f"r{p}" for p in payloads]


@pytest.fixture
def worker_factory():
    workers = []

    def make(run_batch=echo, **kwargs):
        worker = BatchWorker(run_batch, **kwargs).start()
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()


def gate(release: threading.Event, seen: list):
    def run(payloads):
        seen.append(list(payloads))
        release.wait(5)
        return echo(payloads)

    return run


def stepped(run_batch, **kwargs):
    """A worker whose loop the test drives with step(): no thread, no clock, batches decided by the queue."""
    return BatchWorker(run_batch, **kwargs)


def recording(seen: list):
    def run(payloads):
        seen.append(list(payloads))
        return echo(payloads)

    return run


def test_each_job_gets_its_own_result_and_batches_form():
    seen = []
    worker = stepped(recording(seen), max_batch=4, max_wait_s=0.05)
    first = worker.submit(job(0))
    assert worker.step() and first.wait(0) == "r0"  # idle: a lone request runs at once
    jobs = [worker.submit(job(i)) for i in range(1, 5)]  # all queued before the next step: they run together
    assert worker.step()
    assert [j.wait(0) for j in jobs] == ["r1", "r2", "r3", "r4"]
    assert seen == [[0], [1, 2, 3, 4]] and jobs[0].batch_size == 4
    assert worker.batch_sizes == {1: 1, 4: 1}


def test_it_waits_for_company_only_under_load(monkeypatch):
    """An idle server runs a lone request at once; after a shared batch it waits max_wait_s to fill the next."""
    waits = []
    real_collect = collect

    def spy(source, pending, max_batch, max_wait_s):
        waits.append(max_wait_s)
        return real_collect(source, pending, max_batch, 0.0)  # the test never sleeps

    monkeypatch.setattr("sdturbo.batching.collect", spy)
    worker = stepped(echo, max_batch=4, max_wait_s=0.5)
    worker.submit(job(0))
    worker.step()  # idle: no wait
    worker.submit(job(1)), worker.submit(job(2))
    worker.step()  # still "idle" when it started; this batch had company
    worker.submit(job(3))
    worker.step()  # under load: waits for company
    worker.submit(job(4))
    worker.step()  # the last batch was alone and nothing waited: idle again
    assert waits == [0.0, 0.0, 0.5, 0.0]


def test_a_running_job_is_never_superseded():
    newer = {}
    worker = stepped(None, max_batch=4, max_wait_s=0)

    def run(payloads):  # while this batch runs, the same client sends a newer request
        newer["job"] = worker.submit(job("newer", client="c", seq=2))
        return echo(payloads)

    worker.run_batch = run
    running = worker.submit(job("running", client="c", seq=1))
    worker.step()
    assert running.wait(0) == "rrunning"
    worker.run_batch = echo
    worker.step()
    assert newer["job"].wait(0) == "rnewer"


def test_stop_does_not_block_on_a_full_queue():
    worker = stepped(echo, max_batch=1, queue_size=1)
    queued = worker.submit(job(1))
    worker.stop()  # the sentinel takes no queue place
    assert worker.step() and queued.wait(0) == "r1"
    assert not worker.step()


def test_the_loop_runs_on_its_own_thread_until_the_sentinel():
    """LitServe's test_batched_loop pattern: fill the queue, queue the sentinel, run the loop to its end."""
    seen = []
    worker = stepped(recording(seen), max_batch=2, max_wait_s=0)
    jobs = [worker.submit(job(i, key=i % 2)) for i in range(5)]
    worker.stop()  # queues the sentinel; no worker thread was started
    loop = threading.Thread(target=lambda: [None for _ in iter(worker.step, False)])
    loop.start()
    loop.join(5)
    assert not loop.is_alive()
    assert [j.wait(0) for j in jobs] == ["r0", "r1", "r2", "r3", "r4"]
    assert seen == [[0, 2], [1, 3], [4]]  # one key per batch, at most max_batch, oldest first


def test_a_batch_that_fails_once_is_split_and_every_job_still_gets_its_result():
    """A CUDA out-of-memory error for the whole batch: its halves fit, and nobody fails."""
    calls = []

    def oom_at_three(payloads):
        calls.append(list(payloads))
        if len(payloads) > 2:
            raise RuntimeError("CUDA out of memory")
        return echo(payloads)

    worker = stepped(oom_at_three, max_batch=4, max_wait_s=0)
    jobs = [worker.submit(job(i)) for i in range(3)]
    worker.step()
    assert [j.wait(0) for j in jobs] == ["r0", "r1", "r2"]
    assert calls == [[0, 1, 2], [0], [1, 2]] and [j.batch_size for j in jobs] == [1, 2, 2]


def test_only_the_culprit_of_a_failing_batch_fails_and_the_worker_carries_on():
    def poisoned(payloads):
        if "bad" in payloads:
            raise ValueError("tokenizer choked")
        return echo(payloads)

    worker = stepped(poisoned, max_batch=8, max_wait_s=0)
    jobs = [worker.submit(job(p)) for p in (0, 1, "bad", 3, 4)]
    worker.step()
    with pytest.raises(BatchFailed, match="ValueError: tokenizer choked"):
        jobs[2].wait(0)
    assert [j.wait(0) for j in jobs if j is not jobs[2]] == ["r0", "r1", "r3", "r4"]
    assert worker.submit(job(9)) and worker.step() and worker.batch_sizes[1] >= 1


def test_length_contract_is_enforced():
    worker = stepped(lambda payloads: ["only one"], max_batch=4, max_wait_s=0)
    jobs = [worker.submit(job(i)) for i in range(2)]
    worker.step()  # both queued before the worker looks: one batch of two (a started thread could take one alone)
    for j in jobs:
        with pytest.raises(BatchFailed, match="returned 1 results for 2 jobs"):
            j.wait(5)


def test_cancel_ends_a_groups_waiting_jobs_and_leaves_the_rest():
    seen = []
    worker = stepped(recording(seen), max_batch=8, max_wait_s=0)
    mine = [worker.submit(Job(i, "k", group="a1111")) for i in range(2)]
    other = worker.submit(Job(9, "k"))
    assert worker.cancel("a1111") == 2 and worker.cancel("a1111") == 0
    worker.step()
    assert seen == [[9]] and other.wait(1) == "r9"
    for j in mine:
        with pytest.raises(JobCancelled):
            j.wait(1)


def test_expired_jobs_are_rejected_not_run():
    seen = []
    worker = stepped(recording(seen), max_batch=4, max_wait_s=0)
    fresh = worker.submit(job(0))
    late = worker.submit(job(1, timeout_s=0.01))
    late.enqueued -= 1.0  # it has waited a second
    worker.step()
    assert fresh.wait(0) == "r0"
    with pytest.raises(JobExpired, match="longer than the 0.01 s timeout; not run"):
        late.wait(0)
    assert seen == [[0]]


def test_latest_wins_for_one_client():
    seen = []
    worker = stepped(recording(seen), max_batch=4, max_wait_s=0)
    stale = worker.submit(job("typing", client="c1"))
    other = worker.submit(job("other client", client="c2"))
    latest = worker.submit(job("typing more", client="c1"))
    with pytest.raises(JobSuperseded):
        stale.wait(0)
    worker.step()
    assert (other.wait(0), latest.wait(0)) == ("rother client", "rtyping more")
    assert seen == [["other client", "typing more"]]


def test_full_queue_raises():
    worker = stepped(echo, max_batch=1, max_wait_s=0, queue_size=1)
    worker.submit(job(0))
    worker.step()  # job 0 ran, the queue is empty again
    worker.submit(job(1))
    with pytest.raises(QueueFull, match="queue is full"):
        worker.submit(job(2))


class SlowQueue(queue.Queue):
    """A queue whose put() lets the worker run before the next put: what a busy server's threads do."""

    def put(self, item, block=True, timeout=None):
        super().put(item, block, timeout)
        time.sleep(0.02)


def test_jobs_submitted_together_run_as_one_batch_on_an_idle_worker():
    """Variations of one request: queued one by one, an idle worker woke for the first and ran it alone."""
    seen: list = []
    worker = BatchWorker(recording(seen), max_batch=8, max_wait_s=0)
    worker._queue = SlowQueue(maxsize=64)
    worker.start()
    for _ in range(3):
        jobs = worker.submit_all([job(i) for i in range(4)])
        assert [j.wait(5) for j in jobs] == ["r0", "r1", "r2", "r3"]
    worker.stop()
    assert seen == [[0, 1, 2, 3]] * 3


def test_jobs_submitted_together_are_queued_all_or_none():
    worker = stepped(echo, max_batch=8, max_wait_s=0, queue_size=3)
    worker.submit(job(0))
    with pytest.raises(QueueFull, match=r"queue is full \(3 jobs waiting; 3 more asked\)"):
        worker.submit_all([job(i) for i in (1, 2, 3)])
    assert worker.depth == 1
    worker.submit_all([job(i) for i in (1, 2)])
    assert worker.depth == 3


def test_stop_ends_the_thread_after_queued_work(worker_factory):
    worker = BatchWorker(echo).start()
    pending = worker.submit(job(1))
    worker.stop()
    assert pending.wait(1) == "r1"
    assert not worker._thread.is_alive()


def test_stop_with_jobs_of_other_keys_waiting_does_not_kill_the_worker(worker_factory):
    release, seen = threading.Event(), []
    worker = BatchWorker(gate(release, seen), max_batch=4, max_wait_s=0).start()
    a, b = worker.submit(job("a", key=1)), worker.submit(job("b", key=2))
    release.set()
    worker.stop()
    assert (a.wait(5), b.wait(5)) == ("ra", "rb")
    assert not worker.alive


def test_a_late_arriving_older_request_does_not_supersede_a_newer_one():
    worker = stepped(echo, max_batch=4, max_wait_s=0)
    newer = worker.submit(job("newer", client="c", seq=2))
    older = worker.submit(job("older", client="c", seq=1))  # its HTTP thread was slower
    with pytest.raises(JobSuperseded):
        older.wait(0)
    worker.step()
    assert newer.wait(0) == "rnewer"


def test_superseded_jobs_free_their_queue_places():
    worker = stepped(echo, max_batch=1, max_wait_s=0, queue_size=2)
    for seq in range(1, 6):  # one client typing: each request replaces the last
        latest = worker.submit(job(f"t{seq}", client="c", seq=seq))
    assert worker.depth == 1
    other = worker.submit(job("other client"))  # not refused: superseded jobs hold no place
    worker.step(), worker.step()
    assert (latest.wait(0), other.wait(0)) == ("rt5", "rother client")


def test_a_full_queue_does_not_cancel_the_clients_previous_request():
    worker = stepped(echo, max_batch=1, max_wait_s=0, queue_size=1)
    first = worker.submit(job("first", client="c", seq=1))
    with pytest.raises(QueueFull):
        worker.submit(job("second", client="c", seq=2))
    worker.step()
    assert first.wait(0) == "rfirst"


def test_latest_entries_are_forgotten_on_every_outcome():
    worker = stepped(lambda payloads: 1 / 0, max_batch=1, max_wait_s=0)
    failed = worker.submit(job("x", client="c"))
    assert worker.step()  # the batch failed; the loop carries on
    with pytest.raises(BatchFailed, match="ZeroDivisionError"):
        failed.wait(0)
    assert worker._latest == {}


def test_a_job_whose_client_has_gone_is_not_run():
    """Issue 15 finding 3: requests sent and hung up kept their places, and were made for nobody."""
    from sdturbo.batching import ClientGone

    seen = []
    worker = stepped(recording(seen), max_batch=8, max_wait_s=0)
    gone = [worker.submit(Job(i, "k", alive=lambda: False)) for i in range(3)]
    here = worker.submit(Job(9, "k", alive=lambda: True))
    worker.step()
    assert seen == [[9]] and here.wait(0) == "r9"
    for j in gone:
        with pytest.raises(ClientGone):
            j.wait(0)


def test_drain_answers_every_waiting_job_and_leaves_the_running_one():
    from sdturbo.batching import ShuttingDown

    worker = stepped(echo, max_batch=1, max_wait_s=0)
    jobs = [worker.submit(job(i, key=i)) for i in range(3)]
    assert worker.drain("stopping") == 3 and worker.depth == 0
    for j in jobs:
        with pytest.raises(ShuttingDown, match="stopping"):
            j.wait(0)


def test_a_full_queue_frees_the_places_of_clients_that_hung_up():
    worker = stepped(echo, max_batch=1, max_wait_s=0, queue_size=2)
    gone = [worker.submit(Job(i, "k", alive=lambda: False)) for i in range(2)]
    assert worker._queue.full() and not worker.full  # their places are free again
    newcomer = worker.submit(job(9))
    assert all(j.done for j in gone) and not newcomer.done and worker.depth == 1


# the review of the issue-15 change, 2026-11-25


def test_a_liveness_check_that_raises_fails_its_batch_not_the_worker():
    def broken():
        raise ValueError("non-zero flags not allowed in calls to recv() on <class 'ssl.SSLSocket'>")

    worker = stepped(echo, max_batch=8, max_wait_s=0)
    bad = worker.submit(Job(1, "k", alive=broken))
    assert worker.step()  # the worker carries on
    with pytest.raises(BatchFailed, match="internal error: ValueError"):
        bad.wait(0)
    fine = worker.submit(job(2))
    worker.step()
    assert fine.wait(0) == "r2"


def test_capacity_counts_jobs_held_back_for_another_batch_key():
    worker = stepped(echo, max_batch=1, max_wait_s=0, queue_size=3)
    for key in "abc":
        worker.submit(job(key, key=key))
    collect(worker._queue, worker._pending, 1, 0.0)  # takes one, holds the others back: queue places free
    assert worker.depth == 2 and worker.full is False
    worker.submit(job("d", key="d"))
    with pytest.raises(QueueFull):
        worker.submit(job("e", key="e"))


def test_nothing_is_queued_once_stopping():
    from sdturbo.batching import ShuttingDown

    worker = stepped(echo)
    worker.stop()
    with pytest.raises(ShuttingDown):
        worker.submit(job(1))


def test_an_exception_answered_in_a_jobs_place_fails_that_job_only(worker_factory):
    """A remote backend answers per request: the job whose replica failed gets that error, the rest their images."""

    def run(payloads):
        return [Unavailable("replica gone") if p == 2 else f"r{p}" for p in payloads]

    worker = worker_factory(run, max_batch=8, max_wait_s=0.05)
    jobs = [worker.submit(job(i)) for i in range(4)]
    with pytest.raises(Unavailable, match="replica gone"):
        jobs[2].wait(5)
    assert [j.wait(5) for j in jobs if j is not jobs[2]] == ["r0", "r1", "r3"]


def test_unavailable_is_passed_on_not_bisected():
    calls = []

    def run(payloads):
        calls.append(list(payloads))
        raise Unavailable("no replica")

    worker = stepped(run, max_batch=8)
    jobs = [worker.submit(job(i)) for i in range(4)]
    worker.step()
    assert calls == [[0, 1, 2, 3]]  # one call: retrying halves would not bring a replica back
    for j in jobs:
        with pytest.raises(Unavailable):
            j.wait(0)


def test_in_flight_runs_several_batches_at_once_and_stop_waits_for_them(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=1, in_flight=3)
    jobs = [worker.submit(job(i)) for i in range(5)]
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert len(seen) == 3 and worker.running == 3  # three batches wait on the gate together, no fourth
    release.set()
    assert [j.wait(5) for j in jobs] == ["r0", "r1", "r2", "r3", "r4"]
    assert worker.running == 0 and worker.batch_sizes == {1: 5}


def test_jobs_waiting_for_a_free_slot_still_count_against_the_queue(worker_factory):
    """Review finding: with in_flight > 1 the worker took a batch out of the queue and then waited for a
    slot, so jobs got past queue_size and escaped cancel and drain."""
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=1, in_flight=2, queue_size=2)
    running = [worker.submit(job(i)) for i in range(2)]
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    waiting = [worker.submit(job(i, group="a1111")) for i in (2, 3)]
    time.sleep(0.05)  # the worker would have taken one of them out by now
    with pytest.raises(QueueFull):
        worker.submit(job(4))
    assert worker.cancel("a1111") == 2 and all(j.done for j in waiting)
    release.set()
    assert [j.wait(5) for j in running] == ["r0", "r1"]


def test_running_counts_each_job_once_while_a_failing_batch_is_split():
    counts = []

    def run(payloads):
        counts.append((len(payloads), worker.running))
        if len(payloads) > 1:
            raise ValueError("bad batch")
        return echo(payloads)

    worker = stepped(run, max_batch=4)
    for i in range(4):
        worker.submit(job(i))
    worker.step()
    assert all(size == running for size, running in counts), counts
    assert worker.running == 0
