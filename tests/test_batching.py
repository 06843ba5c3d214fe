import collections
import queue
import threading
import time

import pytest

from sdturbo.batching import _STOP, BatchFailed, BatchWorker, Job, JobExpired, JobSuperseded, QueueFull, collect


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
    batch = collect(source, pending, max_batch=8, max_wait_s=0.2)
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


def test_each_job_gets_its_own_result_and_batches_form(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=4, max_wait_s=0.05)
    first = worker.submit(job(0))
    time.sleep(0.1)  # the worker is now busy with job 0; the next four queue up together
    jobs = [worker.submit(job(i)) for i in range(1, 5)]
    release.set()
    assert first.wait(5) == "r0"
    assert [j.wait(5) for j in jobs] == ["r1", "r2", "r3", "r4"]
    assert seen == [[0], [1, 2, 3, 4]] and jobs[0].batch_size == 4
    assert worker.batch_sizes == {1: 1, 4: 1}


def test_error_fails_the_whole_batch_with_one_message_and_worker_survives(worker_factory):
    calls = []

    def flaky(payloads):
        calls.append(payloads)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return echo(payloads)

    worker = worker_factory(flaky, max_batch=4, max_wait_s=0.1)
    jobs = [worker.submit(job(i)) for i in range(3)]
    errors = []
    for j in jobs:
        with pytest.raises(BatchFailed) as info:
            j.wait(5)
        errors.append(str(info.value))
    assert len(set(errors)) == 1 and "CUDA out of memory" in errors[0]
    assert worker.submit(job(9)).wait(5) == "r9"


def test_length_contract_is_enforced(worker_factory):
    worker = worker_factory(lambda payloads: ["only one"], max_batch=4, max_wait_s=0.1)
    jobs = [worker.submit(job(i)) for i in range(2)]
    for j in jobs:
        with pytest.raises(BatchFailed, match="returned 1 results for 2 jobs"):
            j.wait(5)


def test_expired_jobs_are_rejected_not_run(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=4, max_wait_s=0)
    blocker = worker.submit(job(0))
    time.sleep(0.05)
    late = worker.submit(job(1, timeout_s=0.01))
    time.sleep(0.05)
    release.set()
    blocker.wait(5)
    with pytest.raises(JobExpired, match="longer than the 0.01 s timeout; not run"):
        late.wait(5)
    assert seen == [[0]]


def test_latest_wins_for_one_client(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=4, max_wait_s=0)
    blocker = worker.submit(job("busy"))
    time.sleep(0.05)
    stale = worker.submit(job("typing", client="c1"))
    other = worker.submit(job("other client", client="c2"))
    latest = worker.submit(job("typing more", client="c1"))
    with pytest.raises(JobSuperseded):
        stale.wait(1)
    release.set()
    assert (blocker.wait(5), other.wait(5), latest.wait(5)) == ("rbusy", "rother client", "rtyping more")
    assert "typing" not in [p for batch in seen for p in batch]


def test_full_queue_raises(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=1, max_wait_s=0, queue_size=1)
    worker.submit(job(0))
    time.sleep(0.05)  # job 0 is running, the queue is empty again
    worker.submit(job(1))
    with pytest.raises(QueueFull, match="queue is full"):
        worker.submit(job(2))
    release.set()


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


def test_a_late_arriving_older_request_does_not_supersede_a_newer_one(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=4, max_wait_s=0)
    worker.submit(job("busy"))
    time.sleep(0.05)
    newer = worker.submit(job("newer", client="c", seq=2))
    older = worker.submit(job("older", client="c", seq=1))  # its HTTP thread was slower
    with pytest.raises(JobSuperseded):
        older.wait(1)
    release.set()
    assert newer.wait(5) == "rnewer"


def test_superseded_jobs_free_their_queue_places(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=1, max_wait_s=0, queue_size=2)
    worker.submit(job("busy"))
    time.sleep(0.05)
    for seq in range(1, 6):  # one client typing: each request replaces the last
        latest = worker.submit(job(f"t{seq}", client="c", seq=seq))
    assert worker.depth == 1
    other = worker.submit(job("other client"))  # not refused: superseded jobs hold no place
    release.set()
    assert (latest.wait(5), other.wait(5)) == ("rt5", "rother client")


def test_a_full_queue_does_not_cancel_the_clients_previous_request(worker_factory):
    release, seen = threading.Event(), []
    worker = worker_factory(gate(release, seen), max_batch=1, max_wait_s=0, queue_size=1)
    worker.submit(job("busy"))
    time.sleep(0.05)
    first = worker.submit(job("first", client="c", seq=1))
    with pytest.raises(QueueFull):
        worker.submit(job("second", client="c", seq=2))
    release.set()
    assert first.wait(5) == "rfirst"


def test_latest_entries_are_forgotten_on_every_outcome(worker_factory):
    worker = worker_factory(lambda payloads: 1 / 0, max_batch=1, max_wait_s=0)
    failed = worker.submit(job("x", client="c"))
    with pytest.raises(BatchFailed, match="ZeroDivisionError"):
        failed.wait(5)
    deadline = time.monotonic() + 2
    while worker._latest and time.monotonic() < deadline:  # the worker forgets right after answering
        time.sleep(0.01)
    assert worker._latest == {} and worker.alive
