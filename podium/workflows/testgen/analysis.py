"""What `ast` can tell about a Python module without any model: its functions, classes, signatures and complexity."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject

# Use-case levels (the orchestration config's use_cases vocabulary), from the most complex function and the number
# of things to test.
LEVELS: tuple[str, ...] = ("simple", "moderate", "complex", "expert")
_MAX_BRANCHES_BY_LEVEL = (3, 7, 15)  # cyclomatic complexity of the hardest function
_MAX_TARGETS_BY_LEVEL = (5, 15, 40)  # public functions and methods
_BRANCH_NODES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.IfExp, ast.Assert, ast.match_case)


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """One function or method: where it is, how it is called, and how many paths it has."""

    name: str
    qualname: str  # "Parser.parse" for methods
    signature: str  # "(text: str, *, strict: bool = False) -> Node"
    docstring: str  # first line, or ""
    lineno: int
    is_async: bool
    complexity: int  # 1 + decision points (McCabe)
    decorators: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return not self.name.startswith("_")

    def outline(self, *, qualified: bool = True) -> str:
        prefix = "async def" if self.is_async else "def"
        doc = f"  # {self.docstring}" if self.docstring else ""
        name = self.qualname if qualified else self.name
        return f"{prefix} {name}{self.signature}  [complexity {self.complexity}]{doc}"


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name: str
    bases: tuple[str, ...]
    docstring: str
    lineno: int
    methods: tuple[FunctionInfo, ...]

    @property
    def public(self) -> bool:
        return not self.name.startswith("_")


@dataclass(frozen=True, slots=True)
class ModuleAnalysis:
    """A module's testable surface. ``module`` is the dotted import name; ``import_root`` the directory to put on
    ``sys.path`` so that ``import <module>`` works (the folder above the top package)."""

    path: Path
    module: str
    import_root: Path
    source: str
    functions: tuple[FunctionInfo, ...]
    classes: tuple[ClassInfo, ...]
    docstring: str = ""
    lines: int = 0

    @property
    def targets(self) -> tuple[FunctionInfo, ...]:
        """Public functions, and public methods (``__init__`` included) of public classes: what tests should call."""
        out = [f for f in self.functions if f.public]
        for cls in self.classes:
            if cls.public:
                out += [m for m in cls.methods if m.public or m.name == "__init__"]
        return tuple(out)

    @property
    def public_names(self) -> tuple[str, ...]:
        """Names a test file must mention: public top-level functions, public classes and their public methods."""
        names = [f.name for f in self.functions if f.public]
        for cls in self.classes:
            if cls.public:
                names.append(cls.name)
                names += [m.name for m in cls.methods if m.public]
        return tuple(dict.fromkeys(names))

    @property
    def max_complexity(self) -> int:
        return max((f.complexity for f in self._all_functions()), default=1)

    @property
    def total_complexity(self) -> int:
        return sum(f.complexity for f in self._all_functions())

    @property
    def level(self) -> str:
        """simple / moderate / complex / expert: the harder of the worst function and the amount to cover."""
        by_branches = _bucket(self.max_complexity, _MAX_BRANCHES_BY_LEVEL)
        by_size = _bucket(len(self.targets), _MAX_TARGETS_BY_LEVEL)
        return LEVELS[max(by_branches, by_size)]

    def outline(self) -> str:
        """A compact listing for prompts: signatures, first docstring lines and complexity, no bodies."""
        lines = [f"module {self.module} ({self.lines} lines)"]
        if self.docstring:
            lines.append(f'"""{self.docstring}"""')
        lines += [f.outline() for f in self.functions if f.public]
        for cls in self.classes:
            if not cls.public:
                continue
            bases = f"({', '.join(cls.bases)})" if cls.bases else ""
            doc = f"  # {cls.docstring}" if cls.docstring else ""
            lines.append(f"class {cls.name}{bases}:{doc}")
            lines += [f"    {m.outline(qualified=False)}" for m in cls.methods if m.public or m.name == "__init__"]
        return "\n".join(lines)

    def to_dict(self) -> JSONObject:
        return {
            "path": str(self.path),
            "module": self.module,
            "functions": [f.qualname for f in self.targets],
            "classes": [c.name for c in self.classes if c.public],
            "lines": self.lines,
            "max_complexity": self.max_complexity,
            "complexity": self.level,
        }

    def _all_functions(self) -> list[FunctionInfo]:
        return [*self.functions, *(m for c in self.classes for m in c.methods)]


def _bucket(value: int, limits: tuple[int, ...]) -> int:
    return next((i for i, limit in enumerate(limits) if value <= limit), len(limits))


def read_source(path: Path) -> str:
    """The file's text, or a one-line error: missing, not a file, not Python, not UTF-8."""
    if not path.exists():
        raise ValidationError(f"{path}: no such file", field="file", value=str(path))
    if not path.is_file():
        raise ValidationError(f"{path} is not a file; give a Python source file (.py)", field="file", value=str(path))
    if path.suffix not in (".py", ".pyi"):
        raise ValidationError(
            f"{path} is not a Python file (expected a .py file, got {path.suffix or 'no suffix'!r})",
            field="file",
            value=str(path),
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path} is not UTF-8 text (byte {exc.start}); Python sources must be UTF-8",
            field="file",
            value=str(path),
        ) from exc


def analyze_source(
    source: str, path: Path, *, module: str | None = None, import_root: Path | None = None
) -> ModuleAnalysis:
    """Analyse Python source; a syntax error is reported with its file, line and message."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ValidationError(
            f"{path}:{exc.lineno}: {exc.msg} — the source file is not valid Python",
            field="file",
            value=str(path),
        ) from exc
    functions = tuple(_function(n, None) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    classes = tuple(_class(n) for n in tree.body if isinstance(n, ast.ClassDef))
    guessed_module, guessed_root = module_location(path)
    return ModuleAnalysis(
        path=path,
        module=module or guessed_module,
        import_root=import_root or guessed_root,
        source=source,
        functions=functions,
        classes=classes,
        docstring=_first_line(ast.get_docstring(tree)),
        lines=len(source.splitlines()),
    )


def analyze_file(path: Path) -> ModuleAnalysis:
    """Read and analyse ``path``; fails with one line when there is nothing public to test."""
    analysis = analyze_source(read_source(path), path.resolve())
    if not analysis.targets:
        raise ValidationError(
            f"{path} defines no public functions or classes to test (names starting with _ are private)",
            field="file",
            value=str(path),
        )
    return analysis


def module_location(path: Path) -> tuple[str, Path]:
    """The dotted module name of ``path`` and the directory it is importable from (walking up __init__.py files)."""
    path = path.resolve()
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.parent.name, folder


def _class(node: ast.ClassDef) -> ClassInfo:
    methods = tuple(
        _function(n, node.name) for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    return ClassInfo(
        name=node.name,
        bases=tuple(ast.unparse(b) for b in node.bases),
        docstring=_first_line(ast.get_docstring(node)),
        lineno=node.lineno,
        methods=methods,
    )


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, owner: str | None) -> FunctionInfo:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return FunctionInfo(
        name=node.name,
        qualname=f"{owner}.{node.name}" if owner else node.name,
        signature=f"({ast.unparse(node.args)}){returns}",
        docstring=_first_line(ast.get_docstring(node)),
        lineno=node.lineno,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        complexity=cyclomatic_complexity(node),
        decorators=tuple(ast.unparse(d) for d in node.decorator_list),
    )


def cyclomatic_complexity(node: ast.AST) -> int:
    """1 + branches, loops, handlers, conditional expressions, comprehension filters and extra boolean operands.

    Nested function and class bodies count toward their own complexity, not this one's.
    """
    total = 1
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, _BRANCH_NODES):
            total += 1
        elif isinstance(child, ast.BoolOp):
            total += len(child.values) - 1
        elif isinstance(child, ast.comprehension):
            total += 1 + len(child.ifs)
        stack.extend(ast.iter_child_nodes(child))
    return total


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""
