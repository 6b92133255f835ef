"""A day of Tongxin traffic for Locust (docs/operations.md, "The workload model").

Run by `make soak` (bench/soak.py), which prepares the data and writes SOAK_FIXTURE; by hand:

    SOAK_FIXTURE=fixture.json .venv/bin/locust -f bench/locustfile.py --headless \
        --host http://127.0.0.1:8000 -u 60 -r 5 -t 10m

Each simulated user stands for a few volunteers (a slice of the fixture's tokens) and, after a
think time, takes one step chosen by weight (SOAK_MIX, "name=weight,…"; the defaults are in
MIX). Flash crowds are not in the mix: activity k of the fixture's `flash` list opens
SOAK_FLASH_FIRST + k × SOAK_FLASH_EVERY seconds after SOAK_T0, and then each user signs up
SOAK_FLASH_PER_USER of its volunteers at once with probability SOAK_FLASH_JOIN, without
thinking first. One organiser user approves the hours volunteers claim.

Outcomes: a GraphQL error whose code is an answer the operation can give in normal use
(a full activity's CONFLICT, a forum RATE_LIMITED…) counts as a success of the request and is
tallied under its code; any other code (INTERNAL above all), an HTTP error or a dropped
connection is a failure. At the end SOAK_OUT (JSON) receives the latency of every request in
SOAK_BUCKET-second buckets per operation, and the codes per operation and bucket.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

from locust import FastHttpUser, between, events, task

FIXTURE: dict[str, Any] = {}
if os.environ.get("SOAK_FIXTURE"):
    with open(os.environ["SOAK_FIXTURE"]) as handle:
        FIXTURE = json.load(handle)

MIX: dict[str, float] = {
    "browse": 30, "detail": 20, "me": 12, "leaderboard": 4, "forum_read": 12, "forum_post": 3,
    "cancel": 2, "offers": 3, "help_create": 1, "help_claim": 2, "hours": 3, "redeem": 2,
}
for pair in filter(None, os.environ.get("SOAK_MIX", "").split(",")):
    name, weight = pair.split("=")
    MIX[name.strip()] = float(weight)
THINK_MIN = float(os.environ.get("SOAK_THINK_MIN", "1"))
THINK_MAX = float(os.environ.get("SOAK_THINK_MAX", "5"))
T0 = float(os.environ.get("SOAK_T0", time.time()))
FLASH_FIRST = float(os.environ.get("SOAK_FLASH_FIRST", "60"))
FLASH_EVERY = float(os.environ.get("SOAK_FLASH_EVERY", "180"))
FLASH_JOIN = float(os.environ.get("SOAK_FLASH_JOIN", "0.7"))
FLASH_PER_USER = int(os.environ.get("SOAK_FLASH_PER_USER", "3"))
BUCKET = float(os.environ.get("SOAK_BUCKET", "60"))

# Codes an operation answers in normal use: counted, not failures.
EXPECTED = {
    "signUp": {"CONFLICT"}, "cancel": {"CONFLICT", "NOT_FOUND"}, "offers": {"CONFLICT"},
    "forum_post": {"RATE_LIMITED"}, "redeem": {"CONFLICT"}, "hours": {"CONFLICT"},
    # FORBIDDEN: a volunteer found their own request among the open ones (tokens are random)
    "help_claim": {"CONFLICT", "FORBIDDEN"}, "approve": {"CONFLICT"},
}

Q = {
    "browse": "query L { activities(first: 20, status: PUBLISHED) { edges { node { id title remaining startsAt } } } }",
    "detail": "query D($id: ID!) { node(id: $id) { ... on Activity { id title description confirmedCount waitlistCount remaining mySignUp { status } } } }",
    "me": "query M { me { id displayName points approvedHours starLevel } }",
    "leaderboard": "query B { leaderboard(period: MONTH) { rank hours } }",
    "forum_read": "query F($slug: String!) { board(slug: $slug) { threadCount threads(first: 10) { edges { node { id title replyCount posts(first: 5) { edges { node { id body } } } } } } } }",
    "thread": "mutation T($b: ID!, $t: String!, $x: String!) { createThread(boardId: $b, title: $t, body: $x) { id } }",
    "reply": "mutation R($t: ID!, $x: String!) { reply(threadId: $t, body: $x) { id } }",
    "signUp": "mutation S($id: ID!) { signUp(activityId: $id) { status } }",
    "cancel": "mutation C($id: ID!) { cancelSignUp(activityId: $id) { status } }",
    "mine": "query O($id: ID!) { node(id: $id) { ... on Activity { mySignUp { status } } } }",
    "accept": "mutation A($id: ID!) { acceptOffer(activityId: $id) { status } }",
    "decline": "mutation N($id: ID!) { declineOffer(activityId: $id) { status } }",
    "help_create": "mutation H($i: HelpRequestInput!) { createHelpRequest(input: $i) { id } }",
    "help_open": "query HO { helpRequests(first: 5, status: OPEN) { edges { node { id } } } }",
    "claim": "mutation HC($id: ID!) { claimHelpRequest(id: $id) { status } }",
    "resolve": "mutation HR($id: ID!) { resolveHelpRequest(id: $id) { status } }",
    "checkIn": "mutation I($id: ID!) { checkIn(activityId: $id) { status } }",
    "checkOut": "mutation U($id: ID!) { checkOut(activityId: $id) { status } }",
    "pending": "query P($t: ID!) { serviceRecords(teamId: $t, status: PENDING, first: 10) { edges { node { id } } } }",
    "approve": "mutation AP($id: ID!) { approveHours(recordId: $id) { status } }",
    "redeem": "mutation RD($id: ID!, $k: String) { redeem(itemId: $id, idempotencyKey: $k) { points } }",
}

latencies: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
codes: dict[int, Counter[str]] = defaultdict(Counter)
users = itertools.count()


@events.request.add_listener
def _record(name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    latencies[int((time.time() - T0) // BUCKET)][name].append(response_time)


@events.quitting.add_listener
def _write(**_: Any) -> None:
    if out := os.environ.get("SOAK_OUT"):
        with open(out, "w") as handle:
            json.dump({"bucket": BUCKET, "latencies": latencies,
                       "codes": {b: dict(c) for b, c in codes.items()}}, handle)


def _opened_flash() -> int:
    """How many of the fixture's flash activities have opened by now."""
    elapsed = time.time() - T0 - FLASH_FIRST
    return 0 if elapsed < 0 else min(len(FIXTURE.get("flash", [])), int(elapsed // FLASH_EVERY) + 1)


class GraphQLUser(FastHttpUser):
    abstract = True

    def gql(self, name: str, document: str, token: str, variables: dict[str, Any] | None = None,
            ) -> dict[str, Any] | None:
        """The operation's data, or None (its code tallied; a failure unless expected)."""
        bucket = int((time.time() - T0) // BUCKET)
        with self.client.post("/graphql", json={"query": document, "variables": variables or {}},
                              headers={"Authorization": f"Bearer {token}"}, name=name,
                              catch_response=True) as response:
            if response.status_code != 200:
                codes[bucket][f"{name}:HTTP_{response.status_code}"] += 1
                response.failure(f"HTTP {response.status_code}")
                return None
            try:
                body = response.json()
            except ValueError:
                codes[bucket][f"{name}:BAD_BODY"] += 1
                response.failure("not JSON")
                return None
            if body.get("errors"):
                code = str(body["errors"][0].get("extensions", {}).get("code", "NO_CODE"))
                codes[bucket][f"{name}:{code}"] += 1
                if code in EXPECTED.get(name, ()):
                    response.success()
                else:
                    response.failure(code)
                return None
            codes[bucket][f"{name}:OK"] += 1
            response.success()
            return body.get("data")


class Volunteer(GraphQLUser):
    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        index, count = next(users), max(1, int(os.environ.get("SOAK_USERS", "60")))
        tokens = FIXTURE["tokens"]
        self.tokens = tokens[index % count::count] or [random.choice(tokens)]
        self.flash_seen = 0
        self.signed: dict[str, list[str]] = defaultdict(list)  # token -> activity gids
        self.threads: list[str] = []
        self.checked_in: dict[tuple[str, str], bool] = {}

    @task
    def step(self) -> None:
        opened = _opened_flash()
        if opened > self.flash_seen:
            self.flash_seen = opened
            if random.random() < FLASH_JOIN:
                self.flash(FIXTURE["flash"][opened - 1])
                return
        names = list(MIX)
        getattr(self, random.choices(names, weights=[MIX[n] for n in names])[0])()

    def flash(self, activity: str) -> None:
        for token in random.sample(self.tokens, min(FLASH_PER_USER, len(self.tokens))):
            data = self.gql("signUp", Q["signUp"], token, {"id": activity})
            if data:
                self.signed[token].append(activity)

    def token(self) -> str:
        return random.choice(self.tokens)

    def browse(self) -> None:
        self.gql("browse", Q["browse"], self.token())

    def detail(self) -> None:
        pool = FIXTURE["browse"] + FIXTURE["flash"][:_opened_flash()]
        self.gql("detail", Q["detail"], self.token(), {"id": random.choice(pool)})

    def me(self) -> None:
        self.gql("me", Q["me"], self.token())

    def leaderboard(self) -> None:
        self.gql("leaderboard", Q["leaderboard"], self.token())

    def forum_read(self) -> None:
        data = self.gql("forum_read", Q["forum_read"], self.token(), {"slug": FIXTURE["board_slug"]})
        if data and data.get("board"):
            self.threads = [e["node"]["id"] for e in data["board"]["threads"]["edges"]]

    def forum_post(self) -> None:
        token, text = self.token(), f"浸泡测试 {uuid.uuid4().hex[:8]}：今天的服务很顺利，谢谢大家。"
        if self.threads and random.random() < 0.8:
            self.gql("forum_post", Q["reply"], token, {"t": random.choice(self.threads), "x": text})
        else:
            self.gql("forum_post", Q["thread"], token, {"b": FIXTURE["board"], "t": "浸泡话题 " + text[5:13],
                                                        "x": text})

    def cancel(self) -> None:
        candidates = [(t, a) for t, acts in self.signed.items() for a in acts]
        if not candidates:
            return self.me()
        token, activity = random.choice(candidates)
        self.signed[token].remove(activity)
        self.gql("cancel", Q["cancel"], token, {"id": activity})

    def offers(self) -> None:
        candidates = [(t, a) for t, acts in self.signed.items() for a in acts]
        if not candidates:
            return self.detail()
        token, activity = random.choice(candidates)
        data = self.gql("mine", Q["mine"], token, {"id": activity})
        status = (((data or {}).get("node") or {}).get("mySignUp") or {}).get("status")
        if status == "OFFERED":
            if random.random() < 0.8:
                self.gql("offers", Q["accept"], token, {"id": activity})
            else:
                self.gql("offers", Q["decline"], token, {"id": activity})
                self.signed[token].remove(activity)

    def help_create(self) -> None:
        self.gql("help_create", Q["help_create"], self.token(), {"i": {
            "title": "需要帮忙买菜", "description": "浸泡测试：老人行动不便，请帮忙买菜送到家。",
            "district": "朝阳区", "urgency": random.choice(["LOW", "NORMAL", "URGENT"])}})

    def help_claim(self) -> None:
        token = self.token()
        data = self.gql("help_open", Q["help_open"], token)
        edges = ((data or {}).get("helpRequests") or {}).get("edges") or []
        if edges:
            request = random.choice(edges)["node"]["id"]
            if self.gql("help_claim", Q["claim"], token, {"id": request}):
                self.gql("help_claim", Q["resolve"], token, {"id": request})

    def hours(self) -> None:
        token, shift = self.token(), random.choice(FIXTURE["today"])
        state = self.checked_in.get((token, shift))
        if state is None:
            if self.gql("hours", Q["checkIn"], token, {"id": shift}):
                self.checked_in[(token, shift)] = True
        elif state:
            self.gql("hours", Q["checkOut"], token, {"id": shift})
            self.checked_in[(token, shift)] = False
        else:
            self.me()

    def redeem(self) -> None:
        self.gql("redeem", Q["redeem"], self.token(), {"id": FIXTURE["item"], "k": uuid.uuid4().hex})


class Organiser(GraphQLUser):
    fixed_count = 1
    wait_time = between(3, 6)

    @task
    def approve(self) -> None:
        token = FIXTURE["organiser"]
        data = self.gql("pending", Q["pending"], token, {"t": FIXTURE["team"]})
        for edge in (((data or {}).get("serviceRecords") or {}).get("edges") or [])[:5]:
            self.gql("approve", Q["approve"], token, {"id": edge["node"]["id"]})
