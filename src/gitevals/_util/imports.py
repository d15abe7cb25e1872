"""Importing `module:attr` references named in config, with errors a user can act on."""

from __future__ import annotations

import importlib
import traceback
from typing import Any

from gitevals.errors import ConfigError, did_you_mean

__all__ = ["import_ref", "is_ref"]


def is_ref(text: str) -> bool:
    """Whether `text` looks like `module:attr`."""
    module, sep, attr = text.partition(":")
    return bool(sep and module and attr)


def import_ref(ref: str, what: str) -> Any:
    """The object `ref` (`package.module:attr.sub`) names; `what` says what it is for."""
    module_name, _, attr_path = ref.partition(":")
    if not module_name or not attr_path:
        raise ConfigError(f"{what} reference {ref!r} is not of the form module:attr")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(
                f"cannot import module {module_name!r} for {what} {ref!r}",
                hint="check the module name and that its folder is listed in `python_path` "
                "in gitevals.yaml (default: the project root)",
            ) from None
        raise _import_failure(ref, what, exc) from None
    except Exception as exc:
        raise _import_failure(ref, what, exc) from None
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ConfigError(
                f"{module_name!r} has no attribute {part!r} (for {what} {ref!r})",
                hint=did_you_mean(part, names),
            )
        obj = getattr(obj, part)
    return obj


def _import_failure(ref: str, what: str, exc: BaseException) -> ConfigError:
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename]
    frame = user[-1] if user else (frames[-1] if frames else None)
    if isinstance(exc, SyntaxError) and exc.filename:
        return ConfigError(
            f"syntax error while importing {what} {ref!r}: {exc.msg}",
            path=exc.filename,
            line=exc.lineno,
            col=exc.offset,
        )
    return ConfigError(
        f"importing {what} {ref!r} raised {type(exc).__name__}: {exc}",
        path=frame.filename if frame else None,
        line=frame.lineno if frame else None,
        hint="fix the error in that module",
    )
