"""Static checks on every test run: the layering rules (import-linter), ruff and mypy.

runtime/ knows nothing of Rollouts; rollouts.api imports no controller; only runtime.kube
touches kubernetes_asyncio. The contracts themselves live in pyproject.toml.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_ruff_is_clean() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run([str(ruff), "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_mypy_is_clean() -> None:
    """``[tool.mypy]`` in pyproject applies; ~5 s cold, well under 1 s with a warm ``.mypy_cache``."""
    mypy = Path(sys.executable).parent / "mypy"
    proc = subprocess.run([str(mypy), "rollouts", "runtime", "webhooks"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
