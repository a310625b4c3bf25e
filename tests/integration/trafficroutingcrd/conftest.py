"""TrafficRouting objects on the real control plane: one manager subprocess per module (e2e harness)."""

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
