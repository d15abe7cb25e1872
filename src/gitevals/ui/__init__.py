"""The local web UI (`gitevals ui`): datasets, evals, runs, live runs and comparisons
in the browser, served on 127.0.0.1 (or, with a token, on the network) by the same library code as the CLI."""

from ._access import TOKEN_ENV, access_token, is_loopback
from .app import HOST, bind, create_app, make_server

__all__ = ["HOST", "TOKEN_ENV", "access_token", "bind", "create_app", "is_loopback", "make_server"]
