"""Loopback ports for tests that start servers."""

import socket


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
