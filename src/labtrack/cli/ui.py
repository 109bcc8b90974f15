"""``labtrack ui``: serve the web UI over the local store."""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

import click

from ._common import dir_option, handle_errors

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve(store_dir: Path | None, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True, path: str = "/") -> None:
    """Serve the UI over the store in ``store_dir`` until Ctrl+C; prints the URL first.

    Args:
        store_dir: the store directory (default ``LABTRACK_DIR`` or ``~/.labtrack``).
        host, port: where to listen (port 0 picks a free port).
        open_browser: open ``path`` in a browser tab once listening.
        path: the page to open, e.g. ``/projects/demo``.
    Raises:
        click.ClickException: the address cannot be bound (port in use).
    """
    import socket

    import uvicorn

    from ..server import create_app
    from ..settings import Settings
    from ..store import open_store

    settings = Settings()
    if store_dir is not None:
        settings.dir = Path(store_dir).expanduser()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({err.strerror}); pick another port with --port"
        ) from None
    store = open_store(settings.dir)
    app = create_app(store, settings=settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{'[' + shown + ']' if ':' in shown else shown}:{sock.getsockname()[1]}"
    url = base + (path if path.startswith("/") else "/" + path)
    click.echo(f"labtrack UI for {settings.dir}")
    click.echo(f"  {url}   (Ctrl+C to stop)")
    if host not in LOCAL_HOSTS:
        click.echo(f"  warning: listening on {host}: anyone who can reach this machine can read "
                   "and edit your runs", err=True)
    if open_browser:
        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        store.close()


@click.command("ui")
@dir_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; 0.0.0.0 exposes the UI to your network (no login!).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@handle_errors
def ui(store_dir: Path | None, host: str, port: int, no_browser: bool) -> None:
    """Serve the web UI (runs table, charts, compare) on http://HOST:PORT."""
    serve(store_dir, host=host, port=port, open_browser=not no_browser)
