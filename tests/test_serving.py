"""Connection handling of the dev server and the gunicorn worker: /healthz keeps answering (issue 15)."""

import socket
import threading
import time
import urllib.request

import pytest

from sdturbo.web.serving import DevServer, is_health_check
from tests.net import free_port, healthy, start_gunicorn, wait_until


def _peeked(data: bytes) -> bool:
    """is_health_check on a socket that has `data` waiting; the data must still be there afterwards."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        if data:
            theirs.sendall(data)
        time.sleep(0.01)
        verdict = is_health_check(ours)
        ours.setblocking(False)
        left = ours.recv(len(data) + 1) if data else b""
        assert left == data  # looked at, not read
        return verdict


@pytest.mark.parametrize(
    ("data", "lane"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", True),
        (b"GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", False),  # head not complete: a slow client
        (b"GET /healthz", False),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", False),  # pipelined
        (b"GET /healthzz HTTP/1.1\r\n\r\n", False),
        (b"POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\n", False),
        (b"GET /api/config HTTP/1.1\r\n\r\n", False),
        (b"", False),  # nothing sent yet: no wait
    ],
)
def test_only_a_complete_health_check_takes_the_lane(data, lane):
    assert _peeked(data) is lane


def test_a_closed_socket_is_not_a_health_check():
    ours, theirs = socket.socketpair()
    theirs.close()
    ours.close()
    assert is_health_check(ours) is False


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


def test_dev_server_serves_each_connection_on_its_own_thread():
    """Eight connections trickling their headers do not hold up a ninth request."""
    port = free_port()
    server = DevServer("127.0.0.1", port, _hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    try:
        for connection in slow:
            connection.sendall(b"GET /slow HTTP/1.1\r\n")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/fast", timeout=5) as response:
            assert response.read() == b"/fast"
        for connection in slow:
            connection.sendall(b"Host: x\r\nConnection: close\r\n\r\n")
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for connection in slow:
            connection.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.slow  # gunicorn loads the tiny model in its own process: ~8 s
def test_gunicorn_answers_healthz_while_slow_clients_hold_every_thread(tmp_path):
    """Issue 15 finding 2: with more slow-header connections than HTTP threads, gthread stopped answering
    /healthz at all. Four threads, twelve slow connections: the health lane still answers."""
    port = free_port()
    server = start_gunicorn(tmp_path, port, library="off", http_threads="4")
    slow = []
    try:
        wait_until(lambda: healthy(f"http://127.0.0.1:{port}/healthz"), timeout=120)
        for _ in range(12):
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
            slow.append(connection)
        time.sleep(0.5)  # every thread is now blocked reading a slow client's headers
        for _ in range(5):
            started = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200
            assert time.monotonic() - started < 2.0
        # a probe accepted before its request arrives waits on the poller, not for a (busy) thread
        with socket.create_connection(("127.0.0.1", port), timeout=5) as late:
            time.sleep(0.5)
            late.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert late.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for connection in slow:
            connection.close()
        server.terminate()
        server.wait(30)
