"""Fixtures of the Helm chart tests: the real helm (built into the cache on first use; a failed build
errors every test, it never skips them) and, for the cluster tests, one chart release per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from localcluster import helm as helm_build

from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.integration.helm.helmcli import Helm


@pytest.fixture(scope="session")
def helm_binary() -> Path:
    return helm_build.ensure_built()


@pytest.fixture(scope="module")
def helm_offline(helm_binary: Path) -> Helm:
    """helm for lint/template: no cluster."""
    return Helm(helm_binary)
