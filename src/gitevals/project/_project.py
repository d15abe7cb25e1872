"""A gitevals project: its root, its gitevals.yaml and the names it defines."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from gitevals.errors import ConfigError, NotFoundError, did_you_mean
from gitevals.formats import ProjectConfig

__all__ = ["CONFIG_FILE", "Project", "find_project"]

CONFIG_FILE = "gitevals.yaml"
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Project:
    """The folder holding gitevals.yaml (or the current one) and its settings."""

    root: Path
    config: ProjectConfig
    config_path: Path | None = None

    @property
    def datasets_dir(self) -> Path:
        return self.root / self.config.datasets_dir

    @property
    def evals_dir(self) -> Path:
        return self.root / self.config.evals_dir

    @property
    def runs_dir(self) -> Path:
        return self.root / self.config.runs_dir

    def dataset_names(self) -> list[str]:
        return _stems(self.datasets_dir)

    def eval_names(self) -> list[str]:
        return _stems(self.evals_dir)

    def dataset_path(self, name: str) -> Path:
        """The file of dataset `name` (a name, or a path to a YAML file)."""
        return self._find(name, self.datasets_dir, "dataset", self.dataset_names())

    def eval_path(self, name: str) -> Path:
        """The file of eval `name` (a name, or a path to a YAML file)."""
        return self._find(name, self.evals_dir, "eval", self.eval_names())

    def add_python_path(self) -> None:
        """Put the configured folders on sys.path so `module:attr` references import."""
        for folder in reversed(self.config.python_path):
            entry = str((self.root / folder).resolve())
            if entry not in sys.path:
                sys.path.insert(0, entry)

    def relative(self, path: Path) -> str:
        """`path` relative to the root when it is inside it, for messages and records."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def _find(self, name: str, folder: Path, kind: str, names: list[str]) -> Path:
        if name.endswith(_YAML_SUFFIXES):
            path = Path(name)
            path = path if path.is_absolute() else self.root / path
            if path.is_file():
                return path
            raise NotFoundError(f"{kind} file not found", path=path)
        for suffix in _YAML_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                return path
        if self.config_path is None and not folder.is_dir():  # most likely not where the user meant to be
            raise NotFoundError(
                f"no {kind} named {name!r}: {self.root} is not a gitevals project "
                f"(no {CONFIG_FILE} here or above, no {self.relative(folder)}/ folder)",
                hint="run it inside your project, point at it with `gitevals -C DIR ...`, or start one with `gitevals init`",
            )
        raise NotFoundError(
            f"no {kind} named {name!r} in {self.relative(folder)}/",
            hint=did_you_mean(name, names) or f"create {self.relative(folder)}/{name}.yaml",
        )


def find_project(start: Path | str | None = None) -> Project:
    """The project containing `start`: the nearest folder up with gitevals.yaml.

    Without one, `start` itself is the root and every setting has its default.
    """
    from gitevals._yaml.validation import read_model

    here = Path(start or Path.cwd()).resolve()
    if not here.is_dir():
        raise ConfigError(f"not a folder: {here}")
    for folder in (here, *here.parents):
        config_path = folder / CONFIG_FILE
        if config_path.is_file():
            _, config = read_model(config_path, ProjectConfig, ConfigError)
            return Project(folder, config, config_path)
    return Project(here, ProjectConfig())


def _stems(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in _YAML_SUFFIXES and p.is_file())
