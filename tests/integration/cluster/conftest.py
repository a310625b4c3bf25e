"""The failing-pods release test uses the e2e harness: one manager subprocess per module, started
only by the tests that ask for it (the other cluster tests need none)."""

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
