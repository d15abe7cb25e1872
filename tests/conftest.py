"""Shared fixtures: real projects in temporary git repositories."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from gitevals.cli import cli

from .http_fakes import FakeServer, Handler

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Coroutine tests run under anyio without a marker on each."""
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.function):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a fixed identity; returns stdout."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def invoke(project: ProjectDir, *args: str, env: dict[str, str] | None = None) -> Result:
    """`gitevals -C ROOT ARGS...` in this process; exceptions propagate so a
    traceback fails the test instead of hiding in the output."""
    return CliRunner(env=env).invoke(cli, ["-C", str(project.root), *args], catch_exceptions=False)


class ProjectDir:
    """A gitevals project in a temporary folder, written file by file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def git_init(self) -> None:
        git(self.root, "init", "--quiet", "--initial-branch=main")

    def commit(self, message: str = "commit") -> str:
        git(self.root, "add", "--all")
        git(self.root, "commit", "--quiet", "--allow-empty", "-m", message)
        return git(self.root, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path: Path) -> ProjectDir:
    """An empty project folder with gitevals.yaml."""
    root = tmp_path / "proj"
    root.mkdir()
    proj = ProjectDir(root)
    proj.write("gitevals.yaml", "defaults: {concurrency: 4}\n")
    return proj


@pytest.fixture
def client_for() -> Iterator[Callable[[ProjectDir], TestClient]]:
    """Makes a TestClient of the web app over a project, its lifespan running
    (the task group that live runs use) until the test ends."""
    from gitevals.project import find_project
    from gitevals.ui import create_app

    clients: list[TestClient] = []

    def make(project: ProjectDir) -> TestClient:
        client = TestClient(create_app(find_project(project.root)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _isolate_imports(tmp_path: Path) -> Iterator[None]:
    """Targets and scorers are imported from each test's own folder: forget them after,
    so the next test's module of the same name is imported afresh."""
    path_before = list(sys.path)
    modules_before = set(sys.modules)
    cwd_before = os.getcwd()
    yield
    os.chdir(cwd_before)  # `gitevals -C DIR` changes folder, as git does
    sys.path[:] = path_before
    for name in set(sys.modules) - modules_before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


SUPPORT_AGENT = '''
import asyncio

FACTS = {"refund": "You can ask for a refund within 30 days.", "hours": "We are open 9 to 5."}


def answer(question, tone="plain"):
    for key, fact in FACTS.items():
        if key in question.lower():
            return fact if tone == "plain" else fact + " Have a nice day!"
    return "I don't know."


async def answer_async(question):
    await asyncio.sleep(0.001)
    return answer(question)


def broken(question):
    raise RuntimeError("model unavailable")
'''

SUPPORT_DATASET = """
# Hand-written support questions
description: Support questions
items:
  - id: refund-window
    input: How long do I have to ask for a refund?
    expected: 30 days
    context: {tags: [billing]}
  - id: opening-hours
    input: What are your hours?
    expected: 9 to 5
    context: {tags: [general]}
  - id: unknown-topic
    input: Can I pay with seashells?
    expected: we accept
    context: {tags: [billing]}
"""


@pytest.fixture
def support_project(project: ProjectDir) -> ProjectDir:
    """A committed project with a small agent, a 3-item dataset and an eval."""
    project.write("support_agent.py", SUPPORT_AGENT)
    project.write("datasets/support.yaml", SUPPORT_DATASET)
    project.write(
        "evals/support.yaml",
        """
        dataset: support
        target: support_agent:answer
        scorers:
          - {type: contains, name: has-answer}
        thresholds: {has-answer: 0.5}
        """,
    )
    project.git_init()
    project.commit("initial")
    return project


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeServer]]:
    """Start fakes: `serve(handler)`; all are stopped after the test."""
    servers: list[FakeServer] = []

    def start(handler: Handler) -> FakeServer:
        servers.append(FakeServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
