"""Targets: what is evaluated. The protocol and the built-in kinds."""

from ._base import Target, TargetCall, TargetError, TargetResult
from ._command import CommandTarget
from ._http import HttpTarget
from ._mastra import MastraTarget
from ._openai import OpenAITarget
from ._python import PythonTarget
from ._resolve import expand_env, resolve_target

__all__ = [
    "CommandTarget",
    "HttpTarget",
    "MastraTarget",
    "OpenAITarget",
    "PythonTarget",
    "Target",
    "TargetCall",
    "TargetError",
    "TargetResult",
    "expand_env",
    "resolve_target",
]
