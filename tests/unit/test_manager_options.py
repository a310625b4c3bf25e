"""``kruise-rollout`` flags: the client rate limits (OpenKruise's ``--rest-config-*`` names)."""

import pytest

from rollouts.cmd.manager import Options, parse_args


def test_rate_limit_defaults_leave_room_for_a_step_burst():
    opts = parse_args([])
    assert (opts.rest_config_qps, opts.rest_config_burst) == (Options().rest_config_qps, Options().rest_config_burst)
    assert opts.rest_config_qps >= 50 and opts.rest_config_burst >= 100


def test_rate_limit_flags_are_parsed():
    opts = parse_args(["--rest-config-qps", "300", "--rest-config-burst", "500"])
    assert (opts.rest_config_qps, opts.rest_config_burst) == (300.0, 500)


def test_a_non_positive_rate_is_refused_with_the_flag_named(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--rest-config-qps", "0"])
    assert "--rest-config-qps must be > 0" in capsys.readouterr().err


def test_trafficrouting_workers_flag(capsys):
    assert parse_args([]).trafficrouting_workers == 3
    assert parse_args(["--trafficrouting-workers", "5"]).trafficrouting_workers == 5
    with pytest.raises(SystemExit):
        parse_args(["--trafficrouting-workers", "0"])
    assert "--trafficrouting-workers must be >= 1" in capsys.readouterr().err


def test_feature_gates_and_rollouthistory_workers_reach_the_options(capsys):
    from rollouts.cmd import featuregates

    opts = parse_args(["--feature-gates=RolloutHistory=true,KeepWorkloadPausedOnRolloutDeletion=true",
                       "--rollouthistory-workers", "2"])
    assert dict(opts.feature_gates) == {"RolloutHistory": True, "KeepWorkloadPausedOnRolloutDeletion": True}
    assert opts.rollouthistory_workers == 2
    defaults = parse_args([])
    assert not featuregates.enabled(dict(defaults.feature_gates), "RolloutHistory")
    assert featuregates.enabled(dict(defaults.feature_gates), "AdvancedDeployment")
    with pytest.raises(SystemExit):
        parse_args(["--rollouthistory-workers", "0"])
    assert "--rollouthistory-workers must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["rollout", "batchrelease", "deployment", "nativedaemonset", "trafficrouting",
                                  "rollouthistory"])
def test_every_upstream_worker_flag_sets_its_controllers_workers(flag: str, capsys) -> None:
    """rollout-lifecycle.md "Workers": each ``--<name>-workers`` reaches that controller's worker count."""
    from rollouts.cmd.manager import controller_options
    from rollouts.controllers.setup import add_controllers
    from runtime.manager import Manager

    opts = parse_args([f"--{flag}-workers", "7", "--feature-gates=RolloutHistory=true"])
    mgr = Manager(object())  # type: ignore[arg-type]  # nothing is called before start
    add_controllers(mgr, controller_options(opts, frozenset()))
    name = {"deployment": "advanced-deployment", "nativedaemonset": "native-daemonset"}.get(flag, flag)
    workers = {c.name: c.settings.workers for c in mgr._controllers}
    assert workers[name] == 7
    assert all(n == name or w != 7 for n, w in workers.items())  # the others keep their defaults
    with pytest.raises(SystemExit):
        parse_args([f"--{flag}-workers", "0"])
    assert f"--{flag}-workers must be >= 1 (got 0)" in capsys.readouterr().err


def test_gc_flags_reach_the_managers_gc_policy(capsys) -> None:
    """``--gc-freeze`` is on by default (runtime/gcpolicy.py); ``--no-gc-freeze`` and the interval reach the manager."""
    from rollouts.cmd.manager import build_manager

    mgr, _ = build_manager(object(), parse_args(["--health-addr=127.0.0.1:0"]))
    assert mgr.settings.gc.freeze is True and mgr.settings.gc.rescan_interval == 1800.0
    mgr, _ = build_manager(object(), parse_args(["--health-addr=127.0.0.1:0", "--no-gc-freeze",
                                                  "--gc-rescan-interval=60"]))
    assert mgr.settings.gc.freeze is False and mgr.settings.gc.rescan_interval == 60.0
    assert mgr.gc.settings is mgr.settings.gc
    with pytest.raises(SystemExit):
        parse_args(["--gc-rescan-interval=0"])
    assert "--gc-rescan-interval must be > 0 seconds (got 0.0)" in capsys.readouterr().err


def test_the_pod_informer_is_indexed_by_label() -> None:
    """BatchReleases list a workload's pods by label on every round: from the index, not a namespace scan."""
    from rollouts.cmd.manager import controller_options
    from rollouts.controllers.setup import add_controllers
    from runtime.cache.store import LABELS_INDEX
    from runtime.kube.resources import PODS
    from runtime.manager import Manager

    mgr = Manager(object())  # type: ignore[arg-type]
    add_controllers(mgr, controller_options(parse_args([]), frozenset()))
    assert LABELS_INDEX in mgr.informers.informer(PODS).store._indices
    from rollouts.release.canary_deployment import CANARY_OF_INDEX
    from runtime.kube.resources import DEPLOYMENTS
    assert CANARY_OF_INDEX in mgr.informers.informer(DEPLOYMENTS).store._indices  # canary lookups by index
