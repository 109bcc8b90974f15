"""The store contract fixture: every test runs against SQLite and PostgreSQL.

PostgreSQL comes from LABTRACK_TEST_POSTGRES (default: the server on
127.0.0.1:5432, database labtrack_test, which .ci/run creates). Each test gets
its own schema, dropped afterwards. If the server is unreachable the tests
fail, unless LABTRACK_SKIP_POSTGRES=1 says to skip them (with that reason).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from labtrack_store_contract import StoreUnderTest


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and os.environ.get("LABTRACK_SKIP_POSTGRES") == "1":
        pytest.skip("LABTRACK_SKIP_POSTGRES=1: PostgreSQL tests skipped on purpose")
    return str(request.param)


@pytest.fixture
def sut(backend: str, store_dir: Path) -> Iterator[StoreUnderTest]:
    s = StoreUnderTest(backend, store_dir)
    yield s
    s.close()
