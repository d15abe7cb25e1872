"""`gitevals ui`: the local web UI."""

from __future__ import annotations

import click

from ._common import console, get_project

DEFAULT_PORT = 8700


@click.command()
@click.option("--port", type=click.IntRange(min=0, max=65535), default=DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in the default web browser.")
def ui(port: int, open_browser: bool) -> None:
    """Serve the web UI on 127.0.0.1: datasets, evals, runs, live runs, comparisons.

    It listens on the loopback address only and refuses changes (POST) from
    pages of other origins. Runs started from the browser are recorded under
    runs/ as `gitevals run` records them; stopping the server (Ctrl-C)
    marks a run still going as interrupted, resumable with `gitevals run EVAL --resume RUN`.
    """
    from ..ui import bind, create_app, make_server

    project = get_project()
    sock = bind(port)
    host, bound = sock.getsockname()[:2]
    url = f"http://{host}:{bound}/"
    console().print(f"gitevals ui: {project.root} at {url} (Ctrl-C stops)", markup=False, highlight=False)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = make_server(create_app(project))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
