"""A module's doors (services, queries, events) say what passes through them (``__all__``);
another module imports only those names. import-linter checks the modules; this checks the
names, so a model re-exported by accident from a door does not become a way in."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "regiohub"
DOORS = ("services", "queries", "events")
MODULES = sorted(p.name for p in PACKAGE.iterdir() if (p / "apps.py").exists() and p.name != "core")


@pytest.mark.parametrize("module", MODULES)
def test_every_door_declares_what_passes(module):
    for door in DOORS:
        if (PACKAGE / module / f"{door}.py").exists() or (PACKAGE / module / door).is_dir():
            imported = importlib.import_module(f"regiohub.{module}.{door}")
            assert hasattr(imported, "__all__"), f"regiohub.{module}.{door} has no __all__"
            missing = [n for n in imported.__all__ if not hasattr(imported, n)]
            assert missing == [], f"regiohub.{module}.{door}.__all__ names {missing}"


def _imports_from_other_modules(module: str) -> list[tuple[str, str, str, int]]:
    """(other module, door, name, line) for each ``from regiohub.X.door import name``."""
    found = []
    for path in (PACKAGE / module).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            parts = node.module.split(".")
            crosses = len(parts) >= 3 and parts[0] == "regiohub" and parts[1] in MODULES
            if crosses and parts[1] != module and parts[2] in DOORS:
                found.extend((parts[1], parts[2], a.name, node.lineno) for a in node.names)
    return found


@pytest.mark.parametrize("module", MODULES)
def test_other_modules_import_only_what_a_door_lets_through(module):
    offenders = []
    for other, door, name, line in _imports_from_other_modules(module):
        allowed = importlib.import_module(f"regiohub.{other}.{door}").__all__
        if name not in allowed:
            offenders.append(f"{module} line {line}: {other}.{door}.{name}")
    assert offenders == []
