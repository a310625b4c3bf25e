"""Wire keys are spelled once, in ``rollouts.api.keys``; other modules refer to them."""

from __future__ import annotations

import re
from pathlib import Path

from rollouts.api import keys

ROOT = Path(__file__).resolve().parents[3]
ASSIGNMENT = re.compile(r'^([A-Z][A-Z0-9_]*)(?:\s*:\s*\w+)?\s*=\s*"([^"]+)"\s*$', re.M)


def test_no_module_respells_a_wire_key() -> None:
    values = {v for k, v in vars(keys).items() if k.isupper() and isinstance(v, str)}
    respelled = []
    for package in ("rollouts", "webhooks", "runtime"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "rollouts" / "api" / "keys.py":
                continue
            for name, value in ASSIGNMENT.findall(path.read_text()):
                if value in values:
                    respelled.append(f"{path.relative_to(ROOT)}: {name} = {value!r} (use rollouts.api.keys)")
    assert respelled == []
