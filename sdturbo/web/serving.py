"""Connection handling of both servers, so /healthz answers in milliseconds under any load (issue 15).

Both servers are one Python process: under a burst of connections hundreds of threads want the GIL,
and what decides a health check's latency is how long it waits *before* its request is read
(measured with `bench/load_test.py`: the app answers /healthz in about 1 ms once it has the request).

- Dev server (`app.py`): werkzeug's threaded server starts one thread per connection with
  `threading.Thread.start()`, which waits until the new thread has run; in a burst of 200 connections
  each start waits its turn for the GIL and the accept loop fell 150-350 ms behind. `DevServer` starts
  the thread without that wait (`_thread.start_new_thread`, what `Thread.start` is built on; werkzeug's
  threads are daemons and untracked already).
- gunicorn (`gunicorn.conf.py`): the gthread worker hands every connection to one thread pool, first
  come first served, so a probe waited behind every queued request, and behind slow-header
  connections holding all the threads. `HealthLaneWorker` (sdturbo/web/gunicorn_worker.py) gives
  complete `GET /healthz` requests two threads of their own.
"""

from __future__ import annotations

import _thread
import signal
import socket
import time

from werkzeug.serving import ThreadedWSGIServer

HEALTH_REQUEST = b"GET /healthz"
_HEAD_PEEK = 4096  # a health check's whole request head fits: longer ones take the ordinary way


def waiting(sock: socket.socket) -> bytes:
    """What the client has sent and nobody has read yet (up to 4 KB), looked at without reading it or
    blocking: b"" when nothing is there yet, or for a closed or TLS socket (TLS cannot peek)."""
    try:
        return sock.recv(_HEAD_PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (OSError, ValueError):
        return b""


def is_health_check(sock: socket.socket) -> bool:
    """Whether `sock` holds exactly one complete `GET /healthz` request head and nothing more. Only a whole
    head is taken, so a slow client cannot hold a health-lane thread, and only one, so a client sending
    health checks back to back without reading the answers cannot fill the lane's sockets."""
    head = waiting(sock)
    return (
        head.startswith(HEALTH_REQUEST)
        and head[len(HEALTH_REQUEST) : len(HEALTH_REQUEST) + 1] in b" ?"
        and head.endswith(b"\r\n\r\n")
        and head.count(b"\r\n\r\n") == 1
    )


class DevServer(ThreadedWSGIServer):
    """werkzeug's threaded dev server whose accept loop does not wait for each new thread to start."""

    def process_request(self, request, client_address) -> None:
        _thread.start_new_thread(self.process_request_thread, (request, client_address))


SHUTDOWN_GRACE_S = 15.0  # the batch running and the answers being written, at most


def serve(app, settings) -> int:
    """Serve a studio app on `DevServer` at settings.host:port until Ctrl-C or SIGTERM, then finish cleanly
    (`_finish`); app.py and `python -m sdturbo.cluster` both serve this way."""
    signal.signal(signal.SIGTERM, _interrupt)
    server = DevServer(settings.host, settings.port, app)
    server.log_startup()
    try:
        server.serve_forever()  # returns on Ctrl-C (or SIGTERM, see _interrupt), having closed the socket
    finally:
        _finish(app.extensions["sdturbo"])
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # what the server stops on, as on Ctrl-C


def _exit_now(signum, frame) -> None:
    raise SystemExit(1)


def _finish(studio) -> None:
    """Queued requests are answered 503 (not run); the running batch finishes and its answers are
    written (their threads keep running after the server stops listening), within a bound. A second
    SIGTERM or Ctrl-C meanwhile ends the process at once, quietly (exit 1)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_now)
    studio.shutdown(timeout=SHUTDOWN_GRACE_S)
    deadline = time.monotonic() + SHUTDOWN_GRACE_S
    while studio.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the last answers leave their threads' buffers
