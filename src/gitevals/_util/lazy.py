"""Re-exports loaded on first use: a package's `__init__` names what it exports
and where each name lives, and a module is imported only when one of its names
is asked for.

`gitevals run` needs a few modules of each package, not all of them; importing
every module a package re-exports would add about 50 ms to its start-up (the
YAML emitter for dataset edits, re-scoring, compare). The package keeps the
same names under `if TYPE_CHECKING:` for type checkers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["attach"]


def attach(package: str, homes: Mapping[str, Sequence[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module `__getattr__` and `__dir__` of `package`, which exports the
    names in `homes` (submodule, relative to the package -> its names)."""
    where = {name: module for module, names in homes.items() for name in names}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
