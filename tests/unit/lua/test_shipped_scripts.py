"""Every shipped script against the YAML cases beside it (lua_scripts/**/testdata, lua-contract.md §4.4, §5.6)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollouts.lua import LuaRunner, LuaScript, LuaSuccess
from rollouts.lua.contract import custom_output, ingress_annotations
from rollouts.lua.gojson import dumps
from rollouts.lua.scripts import shipped_scripts

ROOT = Path(str(resources.files("lua_scripts")))


def _script_for(testdata: Path) -> str:
    """``trafficrouting_ingress/testdata/nginx.yaml`` → ``trafficrouting_ingress/nginx.lua``;
    ``<group>/<Kind>/testdata/*.yaml`` → ``<group>/<Kind>/trafficRouting.lua``."""
    folder = testdata.parent.parent.relative_to(ROOT)
    if folder.name == "trafficrouting_ingress":
        return f"{folder}/{testdata.stem}.lua"
    return f"{folder}/trafficRouting.lua"


CASES = [
    pytest.param(_script_for(path), case, id=f"{path.relative_to(ROOT)}::{case['name']}")
    for path in sorted(ROOT.rglob("testdata/*.yaml"))
    for case in yaml.safe_load(path.read_text())
]


def test_every_shipped_script_has_cases() -> None:
    assert {script for script, _ in (p.values for p in CASES)} == set(shipped_scripts())


@pytest.mark.parametrize(("script", "case"), CASES)
def test_shipped_script(script: str, case: dict[str, Any]) -> None:
    result = LuaRunner().run(LuaScript(script, shipped_scripts()[script]), case["obj"])
    assert isinstance(result, LuaSuccess), result
    if script.startswith("trafficrouting_ingress/"):
        assert ingress_annotations(result) == case["expected"]
        return
    state = custom_output(result)
    assert not isinstance(state, type(result)) and hasattr(state, "spec"), state
    if "expected_spec_json" in case:
        assert dumps(state.spec) == case["expected_spec_json"]
    else:
        expected = case["expected"]
        assert (state.spec, state.labels, state.annotations) == (
            expected.get("spec"), expected.get("labels", {}), expected.get("annotations", {}))
