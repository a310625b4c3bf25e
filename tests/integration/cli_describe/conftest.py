"""One manager subprocess for the module (the e2e harness), as tests/integration/gateway does."""

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
