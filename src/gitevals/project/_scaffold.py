"""`gitevals init`: a new project with a commented example dataset, eval and target."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gitevals.formats import write_schemas
from gitevals.git import init_repo, open_repo

__all__ = ["InitResult", "init_project"]

_TEMPLATE_FILES = {
    "gitevals.yaml": "gitevals.yaml",
    "datasets/example.yaml": "datasets/example.yaml",
    "evals/example.yaml": "evals/example.yaml",
    "my_agent.py": "my_agent.py",
    "gitignore": ".gitignore",
}


@dataclass
class InitResult:
    """What `init_project` did."""

    root: Path
    created: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    """Files that already existed and were left alone."""
    git_initialized: bool = False


def init_project(folder: Path) -> InitResult:
    """Create the layout in `folder`, never overwriting a file; `git init` when
    the folder is not inside a repository."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    result = InitResult(folder)
    template = resources.files("gitevals.project") / "templates" / "init"
    for source, target in _TEMPLATE_FILES.items():
        path = folder / target
        if path.exists():
            result.skipped.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((template / source).read_text(encoding="utf-8"), encoding="utf-8")
        result.created.append(path)
    if not (folder / "schemas").exists():
        result.created += write_schemas(folder / "schemas")
    repo = open_repo(folder)
    if repo is None:
        result.git_initialized = init_repo(folder)
    else:
        repo.close()
    return result
