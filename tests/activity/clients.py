"""Real clients for end-to-end activity tests and benches: bulk people, HTTP sign-ups and a
graphql-transport-ws slotCount subscriber that records what it sees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

from core import pii
from models.volunteer import Volunteer, VolunteerStatus

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status waitlistPosition } }"
CANCEL = "mutation C($id: ID!) { cancelSignUp(activityId: $id) { status } }"
SLOTS = ("subscription Slots($id: ID!) { slotCount(activityId: $id) "
         "{ capacity confirmed waitlisted remaining version at } }")


async def bulk_volunteers(count: int, password_hash: str, prefix: str = "群") -> list[Volunteer]:
    """Many distinct, consenting volunteers in a few statements."""
    stamp = int(time.time() * 1000) % 10_000_000
    people = [
        Volunteer(
            **pii.identity_columns(f"17{(stamp * 1000 + index) % 10**9:09d}", _id_number(index)),
            password_hash=password_hash, real_name=f"{prefix}{index}", display_name=f"{prefix}{index}",
            gender="MALE", birth_date=datetime(1990, 1, 1).date(), district="朝阳区",
            skills="", status=VolunteerStatus.ACTIVE, consented_at=datetime.now(UTC),
            volunteer_number=f"TXB{stamp:07d}{index:06d}",
        )
        for index in range(count)
    ]
    await Volunteer.bulk_create(people, batch_size=500)
    numbers = [p.volunteer_number for p in people]
    return list(await Volunteer.filter(volunteer_number__in=numbers).order_by("id"))


def _id_number(index: int) -> str:
    from resolvers.validation import id_check_char

    first17 = f"110105{1950 + index // 1000 % 60}0101{index % 1000:03d}"
    return first17 + id_check_char(first17)


@dataclass
class Outcome:
    status: str  # CONFIRMED | WAITLISTED | CANCELLED | an error code
    sent: float
    done: float


async def call(client: httpx.AsyncClient, url: str, token: str, query: str,
               variables: dict[str, Any], key: str) -> Outcome:
    sent = time.perf_counter()
    response = await client.post(url, json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    done = time.perf_counter()
    body = response.json()
    if body.get("errors"):
        return Outcome(body["errors"][0].get("extensions", {}).get("code", "?"), sent, done)
    return Outcome(body["data"][key]["status"], sent, done)


@dataclass
class SlotWatcher:
    """Records (receive time, message) for every slotCount message on one WebSocket."""

    url: str
    activity_id: str
    token: str | None = None
    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 30)
        if self.error:
            raise AssertionError(self.error)

    async def _run(self) -> None:
        try:
            async with websockets.connect(self.url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                          open_timeout=30, max_queue=None) as socket:
                payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
                await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
                await socket.recv()
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": SLOTS, "variables": {"id": self.activity_id}}}))
                async for raw in socket:
                    message = json.loads(raw)
                    if message["type"] == "next":
                        if message["payload"].get("errors"):
                            self.error = str(message["payload"]["errors"])
                            self.ready.set()
                            return
                        self.seen.append((time.perf_counter(),
                                          message["payload"]["data"]["slotCount"]))
                        self.ready.set()
                    elif message["type"] == "error":
                        self.error = str(message["payload"])
                        self.ready.set()
                        return
                    elif message["type"] == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = repr(exc)
            self.ready.set()

    @property
    def last(self) -> dict[str, Any] | None:
        return self.seen[-1][1] if self.seen else None

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last is not None and predicate(self.last):
                return True
            await asyncio.sleep(0.05)
        return False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
