"""The local web UI (`gitevals ui`): datasets, evals, runs, live runs and comparisons
in the browser, served on 127.0.0.1 by the same library code as the CLI."""

from .app import HOST, bind, create_app, make_server

__all__ = ["HOST", "bind", "create_app", "make_server"]
