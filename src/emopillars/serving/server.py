"""Running the app on uvicorn: bind first (so ``--port 0`` can print the port it got), then serve."""

from __future__ import annotations

import socket
import sys

from emopillars.serving.app import ServeSettings, create_app

MAX_CONNECTIONS = 1024
"""uvicorn answers 503 beyond this many open connections, instead of growing without bound."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (IPv4 or IPv6); a clear error when the address is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ValueError(f"cannot listen on {host!r}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    return sock


def serve(classifier, settings: ServeSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until Ctrl-C / SIGTERM; prints ``serving MODEL on http://HOST:PORT`` once the port is bound."""
    import uvicorn

    sock = bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    app = create_app(classifier, settings)
    config = uvicorn.Config(app, log_level="info", limit_concurrency=MAX_CONNECTIONS, timeout_keep_alive=5)
    print(
        f"serving {classifier.model_id} ({classifier.backend}, {classifier.precision.describe()}) on "
        f"http://{shown}:{bound}  (page: /, API docs: /docs)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.Server(config).run(sockets=[sock])
