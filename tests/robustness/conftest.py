"""Shared pieces for the robustness tests: bounded, deterministic hypothesis settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Fixed seed (derandomize) and no example database: CI sees the same cases on every run.
BOUNDED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: a bounded but slower test (still run in CI)")
