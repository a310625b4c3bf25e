"""``settle``: rounds chained in memory must reach the states the round-by-round machine reaches."""

from rollouts.rollout import actions as act
from rollouts.rollout.machine import MAX_CHAINED_ROUNDS, settle

from .sim import Sim, seed_rollout


def _play(chained: bool, steps=None) -> Sim:
    s = Sim(seed_rollout(steps), chained=chained)
    s.settle()
    s.release("6dd59d49b5")
    s.settle()
    for _ in range(len(s.rollout["spec"]["strategy"]["canary"]["steps"]) - 1):
        if s.rollout["status"]["currentStepState"] == "StepPaused":
            s.approve()
        s.settle()
    s.finish_cleanup()
    s.settle()
    return s


def _timeless(value):
    """Drop timestamps: fewer rounds mean fewer simulated requeue waits, so the clock differs."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if not k.endswith("Time")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _is_subsequence(short, long) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def test_chained_release_visits_a_subsequence_and_ends_identically():
    one_by_one, chained = _play(False), _play(True)
    assert _timeless(chained.rollout["status"]) == _timeless(one_by_one.rollout["status"])
    assert chained.rollout["status"]["phase"] == "Healthy"
    assert chained.events == one_by_one.events
    assert _is_subsequence(chained.distinct_trace(), one_by_one.distinct_trace())
    # The point of chaining: far fewer persisted states for the same release.
    assert len(chained.distinct_trace()) < len(one_by_one.distinct_trace()) - 8


def test_approval_reaches_the_batch_release_update_in_one_reconcile():
    s = Sim(seed_rollout())
    s.settle()
    s.release("6dd59d49b5")
    s.settle()
    s.approve()
    settled = settle(s.rollout, s.observe(), s.now)
    sub = settled.outcome.status["canaryStatus"]
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (2, "StepUpgrade")
    updates = [a for a in settled.outcome.actions if isinstance(a, act.UpdateBatchRelease)]
    assert [u.body["spec"]["releasePlan"]["batchPartition"] for u in updates] == [1]
    assert settled.view["status"]["canaryStatus"]["currentStepIndex"] == 2


def test_zero_pause_steps_chain_through_pause_to_the_next_batch():
    steps = [{"replicas": 1, "pause": {"duration": 0}}, {"replicas": "50%", "pause": {"duration": 0}},
             {"replicas": "100%"}]
    s = Sim(seed_rollout(steps), chained=True)
    s.settle()
    s.release("6dd59d49b5")
    s.settle()  # the fake BatchRelease is Ready at once, so the release runs to finalising
    s.finish_cleanup()
    s.settle()
    assert s.rollout["status"]["phase"] == "Healthy"
    t = Sim(seed_rollout(steps))
    t.settle()
    t.release("6dd59d49b5")
    t.br_auto_ready = False
    for _ in range(10):
        t.step(advance=5)
    t.br_auto_ready = True
    t._br_controller()  # batch 1 becomes Ready
    settled = settle(t.rollout, t.observe(), t.now)
    sub = settled.outcome.status["canaryStatus"]
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (2, "StepUpgrade")


def test_a_waiting_round_stops_the_chain():
    s = Sim(seed_rollout())
    s.settle()
    s.release("6dd59d49b5")
    s.settle()
    settled = settle(s.rollout, s.observe(), s.now)  # StepPaused, waiting for approval
    assert settled.events == ()
    assert settled.outcome.status == s.rollout["status"]
    assert MAX_CHAINED_ROUNDS >= 8
