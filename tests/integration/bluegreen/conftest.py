"""Blue-green Rollouts share the e2e harness: one manager subprocess per module."""

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
