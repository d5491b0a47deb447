"""The layering of docs/architecture.md, enforced: what each layer may import, read from the source."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE_MAY_IMPORT = {"numpy", "ortools", "allocator"}
# The vocabulary every layer shares, the engine included: so it may import the standard library only.
DOMAIN = "allocator.domain"
PAGES_MAY_NOT_IMPORT = ("sqlalchemy", "allocator.models", "allocator.db")
SESSION_CALLS = {"read", "session"}  # db.read(), db.session()


def imports(tree: ast.AST) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) for every absolute import in a module; a relative one stays in its package."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module, tuple(alias.name for alias in node.names)))
    return out


def violations(path: str, source: str) -> list[str]:
    """Each import or call in `source` (a file at repo-relative `path`) that breaks the layering."""
    tree = ast.parse(source)
    found = []
    for line, module, names in imports(tree):
        top = module.split(".")[0]
        where = f"{path}:{line}"
        if path.startswith("allocator/engine/") and top not in ENGINE_MAY_IMPORT and top not in sys.stdlib_module_names:
            found.append(f"{where}: the engine imports {module}")
        if path.startswith("allocator/engine/") and module.startswith("allocator.") and not module.startswith(
                ("allocator.engine", DOMAIN)):
            found.append(f"{where}: the engine imports {module}")
        if path.startswith("allocator/engine/") and module == "allocator":
            found += [f"{where}: the engine imports allocator.{n}" for n in names if n not in ("engine", "domain")]
        if path == "allocator/domain.py" and top not in sys.stdlib_module_names:
            found.append(f"{where}: the domain vocabulary imports {module}")
        if path.startswith("allocator/services/") and top == "streamlit":
            found.append(f"{where}: a service imports Streamlit")
        if (path.startswith("pages/") or path == "app.py") and module.startswith(PAGES_MAY_NOT_IMPORT):
            found.append(f"{where}: a page imports {module}")
        if module.startswith("allocator."):
            own = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and module != own:
                found.append(f"{where}: imports {', '.join(private)}, private to {module}")
    if path.startswith("pages/") or path == "app.py":
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "db"
                    and node.func.attr in SESSION_CALLS):
                found.append(f"{path}:{node.lineno}: a page opens a database session")
    return found


def project_files() -> list[Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py")), *sorted((ROOT / "allocator").rglob("*.py"))]
    return [f for f in files if f.exists()]


def test_every_module_keeps_to_its_layer():
    found = []
    for f in project_files():
        rel = f.relative_to(ROOT).as_posix()
        found += violations(rel, f.read_text(encoding="utf-8"))
    assert found == []


@pytest.mark.parametrize("path, source, complaint", [
    ("allocator/engine/solver.py", "import sqlalchemy\n", "the engine imports sqlalchemy"),
    ("allocator/engine/solver.py", "import pandas as pd\n", "the engine imports pandas"),
    ("allocator/engine/solver.py", "from allocator.services import x\n", "the engine imports allocator.services"),
    ("allocator/engine/solver.py", "from allocator import domain, db\n", "the engine imports allocator.db"),
    ("allocator/services/people.py", "import streamlit as st\n", "a service imports Streamlit"),
    ("allocator/domain.py", "import numpy as np\n", "the domain vocabulary imports numpy"),
    ("allocator/domain.py", "from allocator.models import Project\n", "the domain vocabulary imports allocator.models"),
    ("pages/home.py", "from sqlalchemy import select\n", "a page imports sqlalchemy"),
    ("pages/home.py", "from allocator.models import User\n", "a page imports allocator.models"),
    ("pages/home.py", "from allocator import db\nwith db.read() as s:\n    pass\n", "opens a database session"),
    ("allocator/services/people.py", "from allocator.services.access import _lock\n", "private to"),
])
def test_a_deliberate_violation_is_caught(path, source, complaint):
    found = violations(path, source)
    assert len(found) == 1 and complaint in found[0], found


def test_allowed_imports_pass():
    assert violations("allocator/engine/flow.py", "import numpy as np\nfrom ortools.graph.python import min_cost_flow\n"
                      "from allocator.engine.model import Problem\nimport itertools\n"
                      "from allocator.domain import Objective\n") == []
    assert violations("allocator/domain.py", "from enum import StrEnum\n") == []
    assert violations("pages/home.py", "import streamlit as st\nfrom allocator import services, ui\n") == []


# Size: a module a reader can hold in their head, functions that read as named steps.
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
LONG_REASON = "long because"  # a function's docstring may say why it stays long


def size_violations(path: str, source: str) -> list[str]:
    """The module if it is over MAX_MODULE_LINES, and each function over MAX_FUNCTION_LINES whose docstring
    does not say why ("Long because …")."""
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{path}: {lines} lines, more than {MAX_MODULE_LINES}")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and LONG_REASON not in (ast.get_docstring(node) or "").lower():
                found.append(f"{path}:{node.lineno}: {node.name} is {length} lines, more than {MAX_FUNCTION_LINES}")
    return found


def code_files() -> list[Path]:
    """Every Python file outside tests/: the app, pages, package, benchmarks and migrations."""
    files = [*ROOT.glob("*.py"), *(ROOT / "pages").rglob("*.py"), *(ROOT / "allocator").rglob("*.py"),
             *(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "migrations").rglob("*.py")]
    return sorted(f for f in files if f.exists())


def test_no_module_or_function_is_too_long():
    found = []
    for f in code_files():
        found += size_violations(f.relative_to(ROOT).as_posix(), f.read_text(encoding="utf-8"))
    assert found == []


def test_a_long_module_or_function_is_caught():
    long_module = "x = 1\n" * (MAX_MODULE_LINES + 1)
    assert size_violations("allocator/big.py", long_module) == [f"allocator/big.py: {MAX_MODULE_LINES + 1} lines, "
                                                                f"more than {MAX_MODULE_LINES}"]
    body = "    x = 1\n" * MAX_FUNCTION_LINES
    found = size_violations("allocator/f.py", "def f():\n" + body)
    assert len(found) == 1 and "f is 61 lines" in found[0], found
    assert size_violations("allocator/f.py", "def f():\n" + body[:-len("    x = 1\n")]) == []
    reasoned = 'def f():\n    """Long because it is one table."""\n' + body
    assert size_violations("allocator/f.py", reasoned) == []
