"""Screenshots of the web UI for the README, taken from the bundled example.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]     (default: docs/screenshots)

Copies example-evals/ to a temporary git repository, runs the support-qa eval
at two commits (the second after a change to the agent), serves `gitevals ui`
on a free port and photographs the run, compare and eval pages with Debian's
Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
GIT = ["git", "-c", "user.name=gitevals demo", "-c", "user.email=demo@example.invalid", "-c", "commit.gpgsign=false"]
GITEVALS = str(Path(sys.executable).parent / "gitevals")


def build_project(root: Path) -> list[str]:
    """The example at two commits, with a run at each; returns the two run ids."""
    shutil.copytree(REPO / "example-evals", root)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Example support-bot evals"]):
        subprocess.run([*GIT, *args], cwd=root, check=True)
    env = {**os.environ, "CI": "1"}
    subprocess.run([GITEVALS, "run", "support-qa"], cwd=root, env=env, stdout=subprocess.DEVNULL)
    agent = root / "support_bot" / "agent.py"
    agent.write_text(agent.read_text().replace('("refund", "return")', '("refund", "return", "money back")'))
    subprocess.run([*GIT, "commit", "-qam", "Refunds: understand 'money back'"], cwd=root, check=True)
    subprocess.run([GITEVALS, "run", "support-qa"], cwd=root, env=env, stdout=subprocess.DEVNULL)
    return sorted(p.name for p in (root / "runs" / "support-qa").iterdir())


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="gitevals-shots-") as work:
        root = Path(work) / "project"
        first, second = build_project(root)
        server = subprocess.Popen([GITEVALS, "-C", str(root), "ui", "--port", "0"], stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline() if server.stdout else ""
            match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if not match:
                raise SystemExit(f"the UI did not start: {line!r}")
            url = match.group(1)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                for name, path in (("run", f"/runs/{second}"), ("compare", f"/compare?a={first}&b={second}"),
                                   ("eval", "/evals/support-qa")):
                    page.goto(url + path)
                    page.screenshot(path=str(out / f"{name}.png"))
                    print(out / f"{name}.png")
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
