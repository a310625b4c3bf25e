"""Accessors of the foreign Service and Ingress dicts: total (missing or ``null`` sections read as empty)."""

from __future__ import annotations

from rollouts.objects import ingress, service

SVC = {"spec": {"selector": {"app": "echo", "pod-template-hash": ""}, "ports": [{"port": 80}]}}
ING = {"spec": {"rules": [
    {"host": "a", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "echo"}}},
                                     {"path": "/r", "backend": {"resource": {"kind": "Bucket", "name": "b"}}}]}},
    {"host": "b"}]}}


def test_service_selector() -> None:
    assert service.selector(SVC) == {"app": "echo", "pod-template-hash": ""}
    assert service.selector_value(SVC, "app") == "echo"
    assert service.selector_value(SVC, "pod-template-hash") is None  # empty selects nothing we set
    assert service.selector_value(SVC, "absent") is None
    for empty in (None, {}, {"spec": None}, {"spec": {"selector": None}}):
        assert service.selector(empty) == {} and service.selector_value(empty, "app") is None


def test_ingress_paths_and_backends() -> None:
    first, second = ingress.rules(ING)
    assert [ingress.backend_service_name(p) for p in ingress.http_paths(first)] == ["echo", None]
    assert ingress.http_paths(second) == ()
    for empty in (None, {}, {"spec": None}, {"spec": {"rules": None}}):
        assert ingress.rules(empty) == ()
    assert ingress.backend_service_name({}) is None
