"""Turning a target spec from config into a Target."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gitevals._util.httpclient import api_key
from gitevals._util.imports import import_ref, is_ref
from gitevals.errors import ConfigError, did_you_mean
from gitevals.formats import (
    CommandTargetConfig,
    HttpTargetConfig,
    MastraTargetConfig,
    OpenAITargetConfig,
    PythonTargetConfig,
    TargetConfig,
)

from ._base import Target
from ._command import CommandTarget
from ._http import HttpTarget
from ._mastra import MastraTarget
from ._openai import OpenAITarget
from ._python import PythonTarget

__all__ = ["expand_env", "resolve_target"]

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve_target(
    spec: Any,
    *,
    named: Mapping[str, Any] | None = None,
    root: Path | None = None,
    options: Mapping[str, Any] | None = None,
) -> Target:
    """A target from `module:attr`, a name in gitevals.yaml's `targets:`, a
    target mapping, or a Python object (function, agent, Target)."""
    named = named or {}
    if isinstance(spec, str):
        if is_ref(spec):
            spec = PythonTargetConfig(ref=spec)
        elif spec in named:
            return resolve_target(named[spec], root=root, options=options)
        else:
            raise ConfigError(
                f"unknown target {spec!r}",
                hint=did_you_mean(spec, named) or "use module:attr, or name a target in gitevals.yaml's `targets:`",
            )
    elif isinstance(spec, Mapping):
        try:
            spec = TypeAdapter(TargetConfig).validate_python(dict(spec))
        except ValidationError as exc:
            raise ConfigError(f"bad target: {exc.errors()[0]['msg']}") from None
    if isinstance(spec, PythonTargetConfig):
        return PythonTarget(import_ref(spec.ref, "target"), name=spec.ref, options=options)
    if isinstance(spec, CommandTargetConfig):
        cwd = (root or Path.cwd()) / spec.cwd if spec.cwd else root
        command = spec.command
        command = expand_env(command) if isinstance(command, str) else [expand_env(a) for a in command]
        env = {key: expand_env(value) for key, value in spec.env.items()}
        return CommandTarget(command, cwd=cwd, env=env, output=spec.output)
    if isinstance(spec, (HttpTargetConfig, OpenAITargetConfig, MastraTargetConfig)):
        return _http_target(spec)
    if isinstance(spec, (PythonTarget, CommandTarget, HttpTarget, OpenAITarget, MastraTarget)):
        return spec
    return PythonTarget(spec, options=options)


def _http_target(spec: HttpTargetConfig | OpenAITargetConfig | MastraTargetConfig) -> Target:
    """`${VAR}` in headers is read here, when the run starts, and kept only in the target."""
    fields = spec.model_dump(exclude={"type"})
    fields["headers"] = {key: expand_env(value) for key, value in spec.headers.items()}
    if isinstance(spec, HttpTargetConfig):
        return HttpTarget(fields.pop("url"), **fields)
    if isinstance(spec, OpenAITargetConfig):
        fields["api_key"] = api_key(fields.pop("api_key_env"), f"the openai target {spec.model!r}")
        return OpenAITarget(fields.pop("model"), **fields)
    return MastraTarget(fields.pop("base_url"), **fields)


def expand_env(text: str) -> str:
    """Replace `${VAR}` with the environment's value; a missing variable is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"environment variable {name} is not set",
                hint=f"export {name}=... before running; it is read at run time and never stored",
            )
        return os.environ[name]

    return _ENV_RE.sub(value, text)
