"""The core's boundaries, checked on the source: the core (``connector/``) imports no
adapter, and the command line reads the store only through ``connector.queries``."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "connector"
ADAPTERS = "connector_adapters"
SQL_MODULES = ("sqlalchemy", "connector.store.schema", "connector.store.db")


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """Every module a file imports, however it is spelled: ``import a.b as c``,
    ``from a import b``, ``from . import x``, ``importlib.import_module("a")`` and
    ``__import__("a")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                yield node.lineno, str(first.value)


def offending(folder: Path, banned: tuple[str, ...], allowed: tuple[str, ...] = (),
              root: Path = ROOT) -> list[str]:
    def within(name: str, roots: tuple[str, ...]) -> bool:
        return any(name == r or name.startswith(f"{r}.") for r in roots)

    return [f"{path.relative_to(root)}:{line} imports {name}"
            for path in modules(folder) for line, name in imported(path, root)
            if within(name, banned) and not within(name, allowed)]


def test_the_core_imports_no_adapter() -> None:
    assert offending(CORE, (ADAPTERS,)) == []


def test_the_command_line_holds_no_sql() -> None:
    """Listings read through ``connector.queries``; actions go through ``connector.actions``."""
    assert offending(CORE / "cli", SQL_MODULES, allowed=("sqlalchemy.exc",)) == []


def test_the_checks_see_through_aliases(tmp_path: Path) -> None:
    core = tmp_path / "connector" / "sub"
    core.mkdir(parents=True)
    (core / "probe.py").write_text(
        "import importlib\nimport connector_adapters.mock as m\n"
        "from connector_adapters import kravia\n"
        "x = importlib.import_module('connector_adapters.poweroffice')\n"
        "y = __import__('connector_adapters.mock.world')\n", encoding="utf-8")
    found = offending(tmp_path / "connector", (ADAPTERS,), root=tmp_path)
    assert [f.split(":", 1)[1] for f in found] == [
        "2 imports connector_adapters.mock", "3 imports connector_adapters",
        "3 imports connector_adapters.kravia", "4 imports connector_adapters.poweroffice",
        "5 imports connector_adapters.mock.world"]


def test_importing_every_core_module_loads_no_adapter() -> None:
    """The same, at run time. ``connector.cli`` is left out: it loads the installed plugins
    on purpose, to add their commands."""
    names = [".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
             for p in modules(CORE) if "cli" not in p.relative_to(CORE).parts]
    assert "connector.engine" in names and "connector.store.db" in names
    code = (f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(k for k in sys.modules if k.split('.')[0] == {ADAPTERS!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
