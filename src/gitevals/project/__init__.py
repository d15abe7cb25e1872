"""A gitevals project: finding it, reading gitevals.yaml, and creating a new one from the template.
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
    from ._project import Project, find_project
    from ._scaffold import init_project

__all__ = [
    "Project",
    "find_project",
    "init_project",
]

__getattr__, __dir__ = attach(__name__, {
    "_project": ["Project", "find_project"],
    "_scaffold": ["init_project"],
})
