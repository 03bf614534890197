"""Run the lab.

    python -m lab                      the platform server over stdio (what connectors spawn)
    python -m lab control              the control server over stdio (staging, reset, truth)
    python -m lab http [--port 8765] [--host 127.0.0.1] [--control]
                                       either server over streamable HTTP at /mcp
    python -m lab exporter [--port 9464] [--host 127.0.0.1]
                                       the lab's state as the exporters' series (node_exporter,
                                       kube-state-metrics, snmp_exporter...) at GET /metrics
    python -m lab exporter --once      one exposition on stdout, then exit
    python -m lab exporter --history 3600 [--step 15] --history-file past.om [--port ...]
                                       first writes the simulated past hour (OpenMetrics with
                                       timestamps, for promtool's backfill), then serves on

Over HTTP the lab binds to loopback unless ``--host`` says otherwise and every request must
carry ``Authorization: Bearer <token>``: the token is ``LAB_TOKEN`` for the platform server,
``LAB_CONTROL_TOKEN`` for the control server. It refuses to start without one.
"""

from __future__ import annotations

import hmac
import os
import sys
from typing import Any

DEFAULT_PORT = 8765


class BearerAuth:
    """ASGI middleware: HTTP requests without the right bearer token get 401."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"text/plain"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b"bearer token required\n"})
                return
        await self.app(scope, receive, send)


def _option(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def serve_http(argv: list[str]) -> None:
    import uvicorn

    control = "--control" in argv
    variable = "LAB_CONTROL_TOKEN" if control else "LAB_TOKEN"
    token = os.environ.get(variable, "").strip()
    if not token:
        sys.exit(f"lab: set {variable} to the bearer token clients must send")
    if control:
        from lab.control import control as server
    else:
        from lab.server import mcp as server
    host = _option(argv, "--host", "127.0.0.1")
    port = int(_option(argv, "--port", str(DEFAULT_PORT)))
    app = server.streamable_http_app(stateless_http=True, json_response=True, host=host)
    uvicorn.run(BearerAuth(app, token), host=host, port=port, log_level="warning")


def serve_exporter(argv: list[str]) -> None:
    """The exporter: read-only, no token (like the exporters it stands for); loopback unless
    ``--host`` says otherwise."""
    from lab.exporter import DEFAULT_PORT as EXPORTER_PORT
    from lab.exporter import Exporter, serve

    exporter = Exporter()
    if "--once" in argv:
        sys.stdout.write(exporter.exposition().decode())
        return
    if "--history" in argv:
        from pathlib import Path

        target = Path(_option(argv, "--history-file", "history.om"))
        past = exporter.history(
            float(_option(argv, "--history", "3600")), float(_option(argv, "--step", "15"))
        )
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(past)
        partial.replace(target)  # whole or absent: a reader never sees half a history
    host = _option(argv, "--host", "127.0.0.1")
    port = int(_option(argv, "--port", str(EXPORTER_PORT)))
    server = serve(host, port, exporter)
    print(f"lab exporter: http://{host}:{server.server_port}/metrics", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str]) -> None:
    mode = argv[1] if len(argv) > 1 else "stdio"
    if mode == "http":
        serve_http(argv)
    elif mode == "exporter":
        serve_exporter(argv)
    elif mode == "control":
        from lab.control import control

        control.run()
    elif mode == "stdio":
        from lab.server import mcp

        mcp.run()
    else:
        sys.exit(f"lab: unknown mode {mode!r} (stdio, control, http, exporter)")


if __name__ == "__main__":
    main(sys.argv)
