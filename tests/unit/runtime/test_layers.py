"""Layering rules of the runtime, checked on the source (import-linter may not be installed/configured)."""

import ast
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[3] / "runtime"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_runtime_knows_nothing_of_rollouts_or_webhooks():
    for path in RUNTIME.rglob("*.py"):
        bad = {m for m in imports_of(path) if m.split(".")[0] in ("rollouts", "webhooks", "localcluster")}
        assert not bad, f"{path.relative_to(RUNTIME.parent)} imports {bad}"


def test_only_runtime_kube_imports_kubernetes_asyncio():
    for path in RUNTIME.rglob("*.py"):
        if "kube" in path.relative_to(RUNTIME).parts[:1]:
            continue
        bad = {m for m in imports_of(path) if m.startswith("kubernetes_asyncio")}
        assert not bad, f"{path.relative_to(RUNTIME.parent)} imports {bad}"


def test_reconcile_contract_imports_no_engine():
    mods = imports_of(RUNTIME / "reconcile.py")
    assert mods <= {"__future__", "typing", "attrs"}, mods


def test_modules_stay_small():
    for path in RUNTIME.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 500, f"{path.relative_to(RUNTIME.parent)} has {lines} lines"
