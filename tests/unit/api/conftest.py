"""Fixtures for API-layer tests: the sample documents extracted from the spec and the seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

SAMPLES_DIR = Path(__file__).parent / "samples"


def load_sample(name: str) -> dict[str, Any]:
    return yaml.safe_load((SAMPLES_DIR / name).read_text())


def sample_names(prefix: str = "") -> list[str]:
    return sorted(p.name for p in SAMPLES_DIR.glob(f"{prefix}*.yaml"))


@pytest.fixture
def v1beta1_rollout() -> dict[str, Any]:
    return load_sample("rollout_v1beta1_spec.yaml")


@pytest.fixture
def v1alpha1_rollout() -> dict[str, Any]:
    return load_sample("rollout_v1alpha1_spec.yaml")
