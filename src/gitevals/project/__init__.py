"""A gitevals project: finding it, reading gitevals.yaml, and creating a new one from the template.
"""

from ._project import Project, find_project
from ._scaffold import init_project

__all__ = [
    "Project",
    "find_project",
    "init_project",
]
