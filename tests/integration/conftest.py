"""Fixtures of the integration tests: processes that map files named like dma-bufs
(the adb tests' churn on this machine, which holds no dma-buf)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_adb_delta import Mappers


@pytest.fixture
def mappers() -> Iterator[Mappers]:
    m = Mappers()
    try:
        yield m
    finally:
        m.close()
