"""Loopback ports, and servers started on them, for tests."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def wait_until(condition, timeout: float = 5.0) -> None:
    """Poll `condition` until true (bounded): tests wait for a state, never for a guessed time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def healthy(url: str) -> bool:
    """Whether `url` (a /healthz) answers 200 now; False while the server is not up or still loading."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def free_port(consecutive: int = 1) -> int:
    """A port p on 127.0.0.1 such that p .. p + consecutive - 1 are all free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sockets = [socket.socket() for _ in range(consecutive)]
        try:
            for offset, sock in enumerate(sockets):
                sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return port
    raise RuntimeError(f"no {consecutive} consecutive free ports on 127.0.0.1")


def start_gunicorn(cache_dir, port: int, *args: str, **env: str) -> subprocess.Popen:
    """`gunicorn -c gunicorn.conf.py [args] "app:create_app()"` on 127.0.0.1:port with the tiny model on the
    CPU, keyword-only validation and the given SDTURBO_* variables (`library="..."` sets SDTURBO_LIBRARY)."""
    variables = {
        "SDTURBO_MODEL": "tiny",
        "SDTURBO_DEVICE": "cpu",
        "SDTURBO_PORT": str(port),
        "SDTURBO_CACHE_DIR": str(cache_dir),
        "SDTURBO_VALIDATOR_MODEL": "none",
        **{f"SDTURBO_{name.upper()}": value for name, value in env.items()},
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    return subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", *args, "app:create_app()"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, **variables},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def tiny_library_server(cache_dir, validator, library, **settings):
    """The app on the tiny model with the library in `library`, served by werkzeug on a free loopback
    port (the session's loaded validator reused); yields its base URL."""
    from sdturbo.config import Settings
    from sdturbo.web import create_app

    app = create_app(
        Settings(model="tiny", device="cpu", cache_dir=cache_dir, library=library, **settings),
        validator=validator,
        background=False,
    )
    with serve_app(app) as url:
        yield url


@contextlib.contextmanager
def serve_app(app):
    """`app` served by werkzeug's threaded server on a free loopback port; yields its base URL, then
    shuts the server down and stops the app's studio."""
    from werkzeug.serving import make_server

    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        app.extensions["sdturbo"].stop()
