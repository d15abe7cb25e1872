"""`gitevals ui --host`: a UI on the network requires its token; one on
loopback does not. Real servers in subprocesses, over real HTTP."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gitevals.cli import cli
from gitevals.errors import GitevalsError
from gitevals.ui import access_token, is_loopback
from tests.conftest import ProjectDir
from tests.ui.test_ui import CHROMIUM, CHROMIUM_ARGS, _get_when_up, project_with_runs

URL = re.compile(r"at (http://(\S+):(\d+)/(?:\?token=([\w-]+))?) \(Ctrl-C stops\)")


@contextmanager
def ui_server(project: ProjectDir, *args: str, env: dict[str, str] | None = None) -> Iterator[re.Match[str]]:
    """`gitevals ui --port 0 ARGS` in a subprocess: the URL it printed, parsed."""
    exe = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
    with subprocess.Popen([exe, "-C", str(project.root), "ui", "--port", "0", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as server:
        try:
            line = server.stdout.readline() if server.stdout else ""
            match = URL.search(line)
            assert match, (line, server.stderr.read() if server.poll() is not None and server.stderr else "")
            yield match
        finally:
            server.terminate()
            server.wait(10)


def test_a_ui_on_the_network_requires_its_token(project: ProjectDir) -> None:
    project_with_runs(project, runs=0)
    dataset = project.root / "datasets/support.yaml"
    with ui_server(project, "--host", "0.0.0.0") as match:
        host, port, token = match.group(2), match.group(3), match.group(4)
        assert host == "0.0.0.0" and token and len(token) >= 32
        base = f"http://127.0.0.1:{port}"
        missing = _get_when_up(base + "/datasets")
        assert missing.status_code == 401 and "needs its token" in missing.text
        assert missing.headers["content-type"].startswith("text/plain")  # for fetch and scripts
        page = httpx.get(base + "/datasets", headers={"Accept": "text/html"})
        assert page.status_code == 401 and "<h1>This gitevals UI needs its token</h1>" in page.text
        for path in ("/static/ui.css", "/runs/nope/events"):
            assert httpx.get(base + path).status_code == 401
        wrong = httpx.get(base + "/datasets", params={"token": token[:-1] + "x"}, follow_redirects=False)
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        stale = httpx.get(base + "/datasets", cookies={"gitevals_ui_000000000000": token})
        assert stale.status_code == 401  # a cookie of another name is not this server's

        right = httpx.get(base + "/datasets", params={"tag": "billing", "token": token}, follow_redirects=False)
        assert right.status_code == 303 and right.headers["location"] == "/datasets?tag=billing"
        cookie = right.headers["set-cookie"]
        assert f"={token};" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/" in cookie and "Max-Age" not in cookie  # a session cookie

        with httpx.Client(base_url=base) as browser:
            assert browser.get("/", params={"token": token}, follow_redirects=True).url.path == "/datasets"
            listed = browser.get("/datasets")
            assert listed.status_code == 200 and 'data-dataset="support"' in listed.text
            assert browser.get("/static/ui.css").status_code == 200
            # the cookie does not make a page of another site a page of this server
            refused = browser.post("/datasets/support/items/refund-window/remove",
                                   headers={"Origin": "http://evil.example"}, follow_redirects=False)
            assert refused.status_code == 403 and "id: refund-window" in dataset.read_text()
            # on the network the browser may call the server by any name: that name is its origin
            elsewhere = browser.post("/datasets/support/items/refund-window/remove",
                                     headers={"Host": f"devbox.lan:{port}", "Origin": base},
                                     follow_redirects=False)
            assert elsewhere.status_code == 403 and "id: refund-window" in dataset.read_text()
            named = browser.post("/datasets/support/items/refund-window/remove",
                                 headers={"Host": f"devbox.lan:{port}", "Origin": f"http://devbox.lan:{port}"},
                                 follow_redirects=False)
            assert named.status_code == 303 and "id: refund-window" not in dataset.read_text()
        script = httpx.get(base + "/evals", headers={"Authorization": f"Bearer {token}"})
        assert script.status_code == 200


def test_a_ui_on_loopback_needs_no_token(project: ProjectDir) -> None:
    project_with_runs(project, runs=0)
    with ui_server(project, "--host", "localhost") as match:
        assert match.group(4) is None
        page = _get_when_up(match.group(1) + "datasets")
        assert page.status_code == 200 and 'data-dataset="support"' in page.text


def test_gitevals_ui_token_sets_the_token_even_on_loopback(project: ProjectDir) -> None:
    project_with_runs(project, runs=0)
    token = "a-token-for-scripts-0123456789"
    env = {**os.environ, "GITEVALS_UI_TOKEN": token}
    with ui_server(project, env=env) as match:
        assert match.group(2) == "127.0.0.1" and match.group(4) == token
        base = match.group(1).split("?")[0]
        assert _get_when_up(base + "datasets").status_code == 401
        assert httpx.get(base + "datasets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    short = CliRunner().invoke(cli, ["-C", str(project.root), "ui", "--port", "0"],
                               env={"GITEVALS_UI_TOKEN": "short"})
    assert short.exit_code == 2 and "GITEVALS_UI_TOKEN is too short" in short.output


def test_loopback_names_and_the_tokens_they_need() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "devbox.lan", ""))
    assert access_token("127.0.0.1") is None and access_token("::1") is None
    assert access_token("0.0.0.0") != access_token("0.0.0.0")  # new at every start
    assert access_token("127.0.0.1", "x" * 16) == "x" * 16
    with pytest.raises(GitevalsError, match="too short"):
        access_token("0.0.0.0", "x" * 15)


def test_an_unknown_host_is_a_clear_error(project: ProjectDir) -> None:
    project_with_runs(project, runs=0)
    result = CliRunner().invoke(cli, ["-C", str(project.root), "ui", "--host", "no-such-host.invalid"])
    assert result.exit_code == 2 and "cannot listen on no-such-host.invalid" in result.output


@contextmanager
def another_site(html: str) -> Iterator[str]:
    """A page served by another site: http://localhost:PORT/ (127.0.0.1 is a different site)."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it)")
def test_in_a_real_browser_the_token_url_opens_the_ui_typed_or_linked(project: ProjectDir) -> None:
    from playwright.sync_api import expect, sync_playwright

    project_with_runs(project, runs=0)
    with ui_server(project, "--host", "0.0.0.0") as match, sync_playwright() as playwright:
        url = f"http://127.0.0.1:{match.group(3)}/datasets?token={match.group(4)}"
        _get_when_up(url)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            typed = browser.new_context().new_page()
            typed.goto(url)
            expect(typed.locator("h1")).to_have_text("Datasets")
            assert "token" not in typed.url
            typed.get_by_role("link", name="support", exact=True).click()  # the cookie carries on
            expect(typed.locator("h1")).to_have_text("support")
            # from a link on another site, a Strict cookie is not sent after an HTTP redirect
            with another_site(f'<a id="go" href="{url}">the UI</a>') as elsewhere:
                linked = browser.new_context().new_page()
                linked.goto(elsewhere)
                linked.locator("#go").click()
                expect(linked.locator("h1")).to_have_text("Datasets")
                assert "token" not in linked.url
            stranger = browser.new_context().new_page()
            stranger.goto(url.split("?")[0])
            expect(stranger.locator("h1")).to_have_text("This gitevals UI needs its token")
        finally:
            browser.close()
