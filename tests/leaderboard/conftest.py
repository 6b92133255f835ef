from collections.abc import AsyncIterator

import pytest

from tests.conftest import Backend


@pytest.fixture
async def boards(db: Backend) -> AsyncIterator[Backend]:
    """`db`, which leaves no leaderboard or stats keys from earlier tests, under the name the
    leaderboard tests know it by."""
    yield db
