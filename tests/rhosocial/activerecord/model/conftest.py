"""Fixtures for model-layer tests (``bind`` is in the top-level conftest)."""
from __future__ import annotations

import pytest


@pytest.fixture
def count_rows(backend):
    """Return ``count_rows(table)``: the row count by plain SQL, bypassing the model layer."""

    def count_rows(table: str) -> int:
        q = backend.dialect.quote_identifier
        return int(backend.fetch_value(f"SELECT COUNT(*) FROM {q(table)}"))

    return count_rows
