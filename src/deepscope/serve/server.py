"""Run the explorer with uvicorn on 127.0.0.1 (by default) until Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["serve"]


def serve(
    paths: list[str | Path], *, host: str = "127.0.0.1", port: int = 8000, echo: Callable[[str], None] = print
) -> None:
    """Serve the runs at ``paths`` on http://HOST:PORT/ until interrupted; returns cleanly on
    Ctrl-C. Binding to anything but 127.0.0.1 exposes the models to the network: say so."""
    import uvicorn

    from deepscope.serve.app import create_app

    app = create_app(paths)
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo(f"Warning: serving on {host}, reachable from other machines; the explorer has no authentication.")
    echo(f"deepscope explorer: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/  (Ctrl-C to stop)")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    echo("explorer stopped")
