"""The public API: `gitevals.__all__` is exactly the public names, each loads
lazily from its home, and a user's type checker sees real signatures."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import gitevals

INIT = Path(gitevals.__file__)


def _type_checking_imports() -> dict[str, str]:
    """name -> module of every import under `if TYPE_CHECKING:` in __init__.py."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                for alias in stmt.names:
                    names[alias.asname or alias.name] = stmt.module
    return names


def test_all_is_exactly_the_public_names():
    public = set(_type_checking_imports()) | {"__version__"}
    assert sorted(gitevals.__all__) == sorted(public)
    assert gitevals.__all__ == sorted(gitevals.__all__), "keep __all__ sorted"
    assert sorted(dir(gitevals)) == sorted(public)


def test_every_public_name_loads_from_the_module_type_checkers_see():
    for name, module in _type_checking_imports().items():
        assert getattr(gitevals, name) is getattr(importlib.import_module(module), name), name


def test_an_unknown_name_is_an_attribute_error():
    try:
        gitevals.run_eval_s  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as e:
        assert "run_eval_s" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_a_type_checker_sees_run_evals_real_signature(tmp_path):
    user_code = tmp_path / "user_eval.py"
    user_code.write_text(
        textwrap.dedent(
            """
            import gitevals

            def agent(text: str) -> str:
                return text

            result = gitevals.run_evals(target=agent, data=[{"input": "hi"}], scorers=["exact_match"])
            reveal_type(result)
            gitevals.run_evals(target=agent, data=[], scorer=["exact_match"])
            """
        ),
        encoding="utf-8",
    )
    # Like a user's project: mypy finds gitevals through the installed
    # package (py.typed), not through our own mypy configuration.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", "/dev/null", str(user_code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert 'Revealed type is "gitevals.' in out and "EvalResult" in out, out
    assert 'Unexpected keyword argument "scorer" for "run_evals"' in out, out
    assert out.count("error:") == 1, out


def test_the_pytest_plugin_without_pytest_says_which_extra_to_install() -> None:
    # A plain `pip install gitevals` has no pytest: importing the plugin must say how to get it.
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pytest' or name.startswith(('pytest.', '_pytest')):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import gitevals.pytest_plugin\n"
    )
    done = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert done.returncode == 1
    assert "pip install 'gitevals[pytest]'" in done.stderr
    assert "pytest" in (metadata.metadata("gitevals").get_all("Provides-Extra") or [])
