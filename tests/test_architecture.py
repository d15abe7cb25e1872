"""The package's layers, as docs/architecture.md draws them: every import
(at module level, inside a function or under TYPE_CHECKING) goes down the
order below or stays inside its own package, and no modules import each other
in a cycle."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import gitevals

PACKAGE = Path(gitevals.__file__).parent

# Lowest first, as docs/architecture.md lists them: a unit may import the units
# of earlier layers, never one of its own layer or of a later one.
LAYERS = [
    {"_version", "errors", "trace"},
    {"_util"},
    {"formats"},
    {"_yaml"},
    {"git"},
    {"project"},
    {"datasets"},
    {"targets", "scorers", "otel"},
    {"runs"},
    {"compare"},
    {"engine"},
    {"report"},
    {"ui"},
    {"cli", "pytest_plugin"},
    {"__init__", "__main__"},
]
LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The gitevals modules `path` imports, by full name."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "gitevals")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gitevals":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    found.discard(name)
    return found


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_unit_has_a_layer() -> None:
    assert {_unit(module) for module in MODULES} == set(LAYER_OF)


def test_imports_only_go_down_the_layers() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if _unit(target) != _unit(module) and LAYER_OF[_unit(target)] >= LAYER_OF[_unit(module)]
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_walk_sees_imports_of_every_kind() -> None:
    # The checks above are only as good as the walk: it must see a lazy import
    # inside a function and a relative one, as the runner's imports are.
    execute = GRAPH["gitevals.engine._execute"]
    assert "gitevals.runs" in execute and "gitevals.targets" in execute
    assert "gitevals.cli.run" in GRAPH["gitevals.cli"]


LAZY_PACKAGES = sorted(
    module for module, path in MODULES.items()
    if path.name == "__init__.py" and "attach(__name__" in path.read_text(encoding="utf-8")
)


def _declared(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A lazy package's exports as its TYPE_CHECKING block imports them and as
    it hands them to `attach`: name -> submodule, each."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typed = {alias.name: node.module or "" for block in tree.body if isinstance(block, ast.If)
             for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "attach")
    homes = ast.literal_eval(call.args[1])
    attached = {name: module for module, names in homes.items() for name in names}
    return typed, attached


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_a_lazy_package_exports_exactly_what_it_declares(package: str) -> None:
    typed, attached = _declared(MODULES[package])
    module = importlib.import_module(package)
    assert typed == attached and sorted(module.__all__) == sorted(typed) == module.__all__
    for name, home in attached.items():
        assert getattr(module, name) is getattr(importlib.import_module(f"{package}.{home}"), name)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_lazy_packages_are_the_concept_packages() -> None:
    assert LAZY_PACKAGES == [f"gitevals.{name}" for name in
                             ("compare", "datasets", "engine", "formats", "otel", "project", "runs")]
