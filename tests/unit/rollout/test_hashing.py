import re

from rollouts.rollout.hashing import go_json, rollout_plan_hash, strategy_for_hash

VECTOR_STRATEGY = {
    "steps": [
        {"traffic": "5%", "replicas": 1, "pause": {}},
        {"traffic": "20%", "replicas": 2, "pause": {"duration": 30}},
        {"traffic": "60%", "replicas": 6},
        {"traffic": "100%", "replicas": 10, "pause": {}},
    ],
    "trafficRoutings": [{"service": "echoserver", "ingress": {"name": "echoserver"}}],
    "enableExtraWorkloadForCanary": True,
    "failureThreshold": "20%",
}


def rollout(canary):
    return {"spec": {"strategy": {"canary": canary}}}


def test_spec_vector_json():
    assert go_json(strategy_for_hash(VECTOR_STRATEGY)) == (
        '{"steps":[{"traffic":"5%","replicas":1,"pause":{}},{"traffic":"20%","replicas":2,"pause":{}},'
        '{"traffic":"60%","replicas":6,"pause":{}},{"traffic":"100%","replicas":10,"pause":{}}],'
        '"trafficRoutings":[{"service":"echoserver","ingress":{"name":"echoserver"}}],'
        '"enableExtraWorkloadForCanary":true}'
    )


def test_spec_vector_hash():
    assert (
        rollout_plan_hash(rollout(VECTOR_STRATEGY))
        == "75746v7d5z9x59v5c7dff4wd9cv9cc28czf6c2z664w7zbb7vw2bzv76v99z6bd9"
    )


def test_seed_shape_and_pause_insensitivity():
    seed = {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}
    h = rollout_plan_hash(rollout(seed))
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{64}", h)
    paused = {"steps": [{"replicas": 1, "pause": {"duration": 0}}, {"replicas": "50%"}, {"replicas": "100%"}]}
    assert rollout_plan_hash(rollout(paused)) == h
    changed = {"steps": [{"replicas": 2}, {"replicas": "50%"}, {"replicas": "100%"}]}
    assert rollout_plan_hash(rollout(changed)) != h


def test_html_escaping():
    s = {"steps": [{"replicas": 1, "matches": [{"headers": [{"type": "Exact", "name": "a", "value": "<&>"}]}]}]}
    assert "\\u003c\\u0026\\u003e" in go_json(strategy_for_hash(s))
