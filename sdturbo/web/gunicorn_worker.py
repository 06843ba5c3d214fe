"""The gunicorn worker of `gunicorn.conf.py`: gthread with a lane of its own for health checks.

gthread hands each connection to one thread pool, first come first served. Under a burst a probe
waited behind every queued request (150-250 ms at 200 clients), and connections trickling their
headers could hold every pool thread so that /healthz was not answered at all. Here a connection whose
complete `GET /healthz` head is already waiting goes to two threads of its own instead; everything else
takes gthread's way unchanged (its pool's threads are all started up front). See sdturbo/web/serving.py.
"""

from __future__ import annotations

import contextlib
import functools
import selectors
import socket
import struct
import threading
import time
from concurrent import futures

from gunicorn.workers.gthread import ThreadWorker

from sdturbo.web.serving import is_health_check, waiting

HEALTH_THREADS = 2
SEND_TIMEOUT_S = 2  # a lane thread gives up on a client that does not read its answer (a ~1 KB JSON)


class _Lane:
    """The health lane's pool as gthread submits to it: each answer is written with a send timeout."""

    def __init__(self, pool: futures.ThreadPoolExecutor) -> None:
        self.pool = pool

    def submit(self, handle, conn) -> futures.Future:
        return self.pool.submit(_bounded, handle, conn)


def _bounded(handle, conn):
    """gthread's `handle(conn)` with SO_SNDTIMEO set for the call (reset after: the connection may carry
    other requests later), so a client that never reads cannot hold a lane thread in `sendall`."""
    sock = conn.sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT_S, 0))
    try:
        return handle(conn)
    finally:
        with contextlib.suppress(OSError):  # closed meanwhile
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 0))


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
        the worker's main thread only, so the pool can be swapped for the call). A new connection whose
        request has not arrived yet waits on the poller, as gthread parks it after a thread waited for
        it: with every thread busy it would otherwise wait for a thread before anyone looks at it."""
        if self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        if not conn.initialized and not conn.data_ready and not waiting(conn.sock):
            self._park(conn)
            return
        if not is_health_check(conn.sock):
            super().enqueue_req(conn)
            return
        ordinary, self.tpool = self.tpool, _Lane(self.health_pool)
        try:
            super().enqueue_req(conn)
        finally:
            self.tpool = ordinary

    def _park(self, conn) -> None:
        """Wait on the poller for a new connection's first bytes (gthread's own `_DEFER` path, without a
        thread waiting first); `on_pending_socket_readable` hands it back to `enqueue_req`."""
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, functools.partial(self.on_pending_socket_readable, conn))
