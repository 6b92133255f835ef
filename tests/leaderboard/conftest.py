from collections.abc import AsyncIterator

import pytest

from resolvers import stats
from resolvers.services import services
from subscriptions.channels import NAMESPACE
from tests.conftest import Backend


@pytest.fixture
async def boards(db: Backend) -> AsyncIterator[Backend]:
    """`db` plus no leftover leaderboard or stats keys from earlier tests."""
    redis = services().redis
    if redis is not None:
        keys = [k async for k in redis.scan_iter(match=f"{NAMESPACE}:lb:*")]
        keys += [k async for k in redis.scan_iter(match=f"{NAMESPACE}:stats:*")]
        if keys:
            await redis.delete(*keys)
    stats._memory_cache.clear()
    yield db
