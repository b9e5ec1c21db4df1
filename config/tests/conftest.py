"""Fixtures of the fault tests (config/tests/faults.py)."""

from collections.abc import Iterator

import pytest

from .faults import Portal, portal_on_shared_database


@pytest.fixture
def portal(reference_data, divisions, tmp_path) -> Iterator[Portal]:
    """gunicorn with the production settings on the test database and a private Redis."""
    with portal_on_shared_database(tmp_path) as portal:
        yield portal
