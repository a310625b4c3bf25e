"""The soak's in-process sampler still finds the caches once the manager froze them (``--gc-freeze``)."""

from __future__ import annotations

import gc

from bench import soak_manager
from runtime.kube.resources import DEPLOYMENTS
from runtime.manager import Manager, ManagerSettings


def test_frozen_informers_are_found_through_the_manager_and_frozen_objects_are_counted() -> None:
    mgr = Manager(object(), settings=ManagerSettings(http_port=None, leader_election=False))
    inf = mgr.informers.informer(DEPLOYMENTS)
    gc.collect()
    gc.freeze()
    try:
        assert not any(o is inf for o in gc.get_objects()), "frozen: invisible to gc.get_objects"
        found = soak_manager.caches()["informers"]
        assert found["deployments@*"] == {"objects": 0, "index_entries": 0}
        assert soak_manager.sample(0.0)["gc_objects"] >= gc.get_freeze_count()
    finally:
        gc.unfreeze()
