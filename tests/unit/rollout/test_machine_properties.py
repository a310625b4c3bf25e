"""Property: any valid step plan, approved whenever it waits, completes with one event per step."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .sim import Sim, seed_rollout

replicas_value = st.one_of(st.integers(1, 30), st.integers(1, 100).map(lambda p: f"{p}%"))
pause = st.one_of(st.just({}), st.integers(0, 120).map(lambda d: {"duration": d}))
step = st.fixed_dictionaries({"replicas": replicas_value, "pause": pause})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=5), replicas=st.integers(1, 30))
def test_any_plan_completes(steps, replicas):
    s = Sim(seed_rollout(steps), replicas=replicas)
    s.settle()
    s.release("v2")
    last_index = 0
    for _ in range(60):
        s.settle(rounds=60)
        st_ = s.rollout["status"]
        index = st_.get("currentStepIndex", 0)
        assert 0 <= index <= len(steps)
        if st_["phase"] == "Progressing":
            assert index >= last_index or st_.get("currentStepState") == "BeforeStepUpgrade"
            last_index = index
        if st_.get("currentStepState") == "StepPaused":
            s.approve()
        elif st_.get("currentStepState") == "Completed" and st_["phase"] == "Progressing":
            s.finish_cleanup()
        elif st_["phase"] == "Healthy" and s.finalising_done:
            break
    st_ = s.rollout["status"]
    assert (st_["phase"], st_["currentStepIndex"], st_["currentStepState"]) == ("Healthy", len(steps), "Completed")
    assert st_["message"] == "Rollout progressing has been completed"
    assert s.events == [f"upgrade step({i}) canary pods with new versions done" for i in range(1, len(steps) + 1)]
