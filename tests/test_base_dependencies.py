"""What `pip install -e .` installs is enough to import and run every command: each third-party import in podium/
comes from a base dependency (or one of theirs), unless it is guarded — inside ``if TYPE_CHECKING`` or a ``try``
that turns the ImportError into a message naming the extra to install."""

from __future__ import annotations

import ast
import importlib.metadata as md
import sys
import tomllib
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import podium

ROOT = Path(podium.__file__).parent
PYPROJECT = ROOT.parent / "pyproject.toml"


def _base_requirements() -> list[Requirement]:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return [Requirement(text) for text in data["project"]["dependencies"]]


def _installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions a base install brings: the requirements and, recursively, theirs (extras left out)."""
    seen: set[str] = set()
    todo = [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]
    while todo:
        name = canonicalize_name(todo.pop().name)
        if name in seen:
            continue
        seen.add(name)
        for text in md.requires(name) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req)
    return seen


@cache
def _module_owners() -> dict[str, str]:
    """Dotted module or package name -> the distribution whose files hold it (namespace packages resolve deeper)."""
    owners: dict[str, str] = {}
    for dist in md.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in dist.files or []:
            parts = Path(str(file)).with_suffix("").parts
            if str(file).endswith(".py") and parts and ".." not in parts:
                parts = parts[:-1] if parts[-1] == "__init__" else parts
                for depth in range(1, len(parts)):
                    owners.setdefault(".".join(parts[:depth]), name)
                owners[".".join(parts)] = name
    return owners


def _owner(module: str) -> str | None:
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        owner = _module_owners().get(".".join(parts[:depth]))
        if owner is not None:
            return owner
    return None


def _catches_import_error(node: ast.Try) -> bool:
    names = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
    return bool(names & {"ImportError", "ModuleNotFoundError", "(ImportError, ModuleNotFoundError)"})


def _imports(tree: ast.AST, guarded: bool = False) -> list[tuple[str, int, bool]]:
    """(module, line, guarded) for every absolute import in ``tree``."""
    found: list[tuple[str, int, bool]] = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import):
            found += [(alias.name, child.lineno, guarded) for alias in child.names]
        elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            found.append((child.module, child.lineno, guarded))
        elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            found += _imports(ast.Module(body=child.body, type_ignores=[]), True)
        elif isinstance(child, ast.Try) and _catches_import_error(child):
            found += _imports(ast.Module(body=child.body, type_ignores=[]), True)
            for part in (child.handlers, child.orelse, child.finalbody):
                found += _imports(ast.Module(body=list(part), type_ignores=[]), guarded)
        else:
            found += _imports(child, guarded)
    return found


def test_every_unguarded_third_party_import_comes_with_the_base_install() -> None:
    base = _installed_closure(_base_requirements())
    failures = []
    for path in sorted(ROOT.rglob("*.py")):
        found = _imports(ast.parse(path.read_text(encoding="utf-8")))
        # A module the file guards once (a friendly error naming the extra) may be imported plainly after that.
        guarded_here = {module.split(".")[0] for module, _, guarded in found if guarded}
        for module, line, guarded in found:
            top = module.split(".")[0]
            if guarded or top in guarded_here or top == "podium" or top in sys.stdlib_module_names:
                continue
            owner = _owner(module)
            if owner not in base:
                where = f"podium/{path.relative_to(ROOT)}:{line}"
                failures.append(f"{where}: `{module}` comes from {owner or 'no installed distribution'}, "
                                "which `pip install -e .` does not install")  # fmt: skip
    assert not failures, "\n".join(failures)


def test_the_base_install_includes_what_every_workflow_checks_model_output_with() -> None:
    """Every workflow's structured answers are checked against a JSON Schema: jsonschema is not an extra."""
    assert "jsonschema" in {canonicalize_name(r.name) for r in _base_requirements()}
