"""The manager accepts the flags the chart passes (``--v``, ``--feature-gates``) and refuses bad gates at start."""

from __future__ import annotations

import pytest

from rollouts.cmd.manager import parse_args


def test_chart_flags_are_parsed() -> None:
    opts = parse_args(["--leader-elect", "--v=5", "--feature-gates=AdvancedDeployment=true,RolloutHistory=false"])
    assert (opts.leader_elect, opts.verbosity) == (True, 5)
    assert parse_args([]).verbosity == 0


@pytest.mark.parametrize(("gates", "named"), [("Bogus=true", "unknown feature gate 'Bogus'"),
                                              ("AppendPodSelector=true", "AppendPodSelector=true is not supported"),
                                              ("AdvancedDeployment=yes", "not Name=true|false")])
def test_bad_feature_gates_stop_the_manager_naming_the_gate(gates: str, named: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args([f"--feature-gates={gates}"])
    assert exc.value.code == 2
    assert named in capsys.readouterr().err
