"""`gitevals ui`: the local web UI."""

from __future__ import annotations

import os

import click

from ._common import console, err_console, get_project

DEFAULT_PORT = 8700
DEFAULT_HOST = "127.0.0.1"


@click.command()
@click.option("--port", type=click.IntRange(min=0, max=65535), default=DEFAULT_PORT, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--host", default=DEFAULT_HOST, show_default=True, metavar="HOST",
              help="Address to listen on. Any but loopback (127.0.0.1, ::1, localhost), e.g. 0.0.0.0, "
                   "requires a secret token: the printed URL carries it.")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in the default web browser.")
def ui(port: int, host: str, open_browser: bool) -> None:
    """Serve the web UI: datasets, evals, runs, live runs, comparisons.

    It listens on 127.0.0.1 unless --host says otherwise, and refuses changes
    (POST) from pages of other origins. On any other address, anyone who can
    reach it would read and change the project, so it requires a secret
    token, new at every start (or GITEVALS_UI_TOKEN, which also protects a
    loopback UI): open the printed URL once, and a cookie keeps the token.

    Runs started from the browser are recorded under runs/ as `gitevals run`
    records them; stopping the server (Ctrl-C) marks a run still going as
    interrupted, resumable with `gitevals run EVAL --resume RUN`. A run started
    with `gitevals run` elsewhere is followed live on its page too.
    """
    from urllib.parse import quote

    from gitevals.ui import TOKEN_ENV, access_token, bind, create_app, is_loopback, make_server

    project = get_project()
    token = access_token(host, os.environ.get(TOKEN_ENV) or None)
    sock = bind(port, host)
    bound_host, bound = sock.getsockname()[:2]
    url = f"http://{_url_host(bound_host)}:{bound}/" + (f"?token={quote(token, safe='')}" if token else "")
    console().print(f"gitevals ui: {project.root} at {url} (Ctrl-C stops)", markup=False, highlight=False,
                    soft_wrap=True)
    if not is_loopback(host):
        err_console().print(f"[yellow]warning:[/] listening on {bound_host}: anyone on the network with the token "
                            "can read and change the project (from another machine, use this machine's name "
                            "or address in the URL)", highlight=False)
    if open_browser:
        import threading
        import webbrowser

        # a browser on this machine reaches an any-address server through loopback
        here = url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")
        threading.Timer(0.5, webbrowser.open, args=(here,)).start()
    server = make_server(create_app(project, token=token))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _url_host(address: str) -> str:
    """An address as a URL writes it: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address
