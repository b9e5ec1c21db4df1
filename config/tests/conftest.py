"""Fixtures of the fault tests (config/tests/faults.py)."""

from collections.abc import Iterator

import pytest

from .faults import Portal, private_redis, running_portal, shared_database_url, world_create


@pytest.fixture
def portal(reference_data, divisions, tmp_path) -> Iterator[Portal]:
    """gunicorn with the production settings on the test database and a private Redis."""
    world = world_create()
    with (
        private_redis() as broker,
        running_portal(world, broker, shared_database_url(), tmp_path) as portal,
    ):
        yield portal
