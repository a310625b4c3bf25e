"""Traffic-routed Rollouts on the real control plane share the e2e harness: one manager subprocess per module."""

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
