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
