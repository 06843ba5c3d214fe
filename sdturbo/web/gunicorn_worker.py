"""The gunicorn worker of `gunicorn.conf.py`: gthread with a lane of its own for health checks.

gthread hands each connection to one thread pool, first come first served. Under a burst a probe
waited behind every queued request (150-250 ms at 200 clients), and connections trickling their
headers could hold every pool thread so that /healthz was not answered at all. Here a connection whose
complete `GET /healthz` head is already waiting goes to two threads of its own instead; everything else
takes gthread's way unchanged (its pool's threads are all started up front). See sdturbo/web/serving.py.
"""

from __future__ import annotations

import threading
from concurrent import futures

from gunicorn.workers.gthread import ThreadWorker

from sdturbo.web.serving import is_health_check

HEALTH_THREADS = 2


class HealthLaneWorker(ThreadWorker):
    """gunicorn's gthread worker plus a two-thread lane for complete `GET /healthz` requests."""

    def get_thread_pool(self) -> futures.ThreadPoolExecutor:
        """gthread's pool with every thread started now: the pool starts threads as connections come, and
        each start waits for the new thread to run, which under a burst held up the accept loop."""
        self.health_pool = futures.ThreadPoolExecutor(HEALTH_THREADS, thread_name_prefix="healthz")
        pool = super().get_thread_pool()
        started = threading.Barrier(self.cfg.threads + 1)
        for _ in range(self.cfg.threads):
            pool.submit(started.wait)
        started.wait()
        return pool

    def enqueue_req(self, conn) -> None:
        """gthread's own hand-over, into the health lane's pool for a complete health check (this runs on
        the worker's main thread only, so the pool can be swapped for the call)."""
        if self.cfg.is_ssl or not is_health_check(conn.sock):
            super().enqueue_req(conn)
            return
        ordinary, self.tpool = self.tpool, self.health_pool
        try:
            super().enqueue_req(conn)
        finally:
            self.tpool = ordinary
