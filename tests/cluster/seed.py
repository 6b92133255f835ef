"""Seeds the cluster's own database from a separate process (the test process's Tortoise is
bound to the test backends): `python -m tests.cluster.seed COUNT CAPACITY WAITLIST` prints
JSON with the activity and bearer tokens. DATABASE_URL / JWT_SECRET come from the env."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys

from tortoise import Tortoise

from db.config import tortoise_config
from schema.relay import to_global_id
from tests import helpers
from tests.activity.clients import bulk_volunteers
from tests.activity.factory import make_activity
from tests.helpers import PASSWORD_HASH, make_team, make_volunteer, token_for


async def main(count: int, capacity: int, waitlist: int) -> None:
    await Tortoise.init(config=tortoise_config(os.environ["DATABASE_URL"]))
    try:
        # make_volunteer numbers phones per process: start this process's numbers elsewhere
        helpers._phone_counter = iter(range(20_000_000 + os.getpid() * 10, 99_999_999))
        helpers._rng = random.Random(os.getpid())  # and its ID numbers
        admin = await make_volunteer("队长")
        team = await make_team(admin, f"集群队伍{admin.id}")
        activity = await make_activity(team, admin, capacity=capacity, waitlist_limit=waitlist)
        people = await bulk_volunteers(count, PASSWORD_HASH)
        print(json.dumps({"activity": activity.id, "gid": to_global_id("Activity", activity.id),
                          "admin": token_for(admin), "tokens": [token_for(p) for p in people]}))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(*(int(a) for a in sys.argv[1:4])))
