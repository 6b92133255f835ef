"""Personal data at rest: what sealing costs registration and login, and how fast
`rotate-pii-key` re-seals while logins keep being answered (issue 28).

Registration and login run in-process through the rules (resolvers/volunteer.py do_register,
do_login) on a scratch PostgreSQL database, in interleaved rounds with sealing on (AES-GCM +
HMAC blind indexes, core/pii.py) and off (the same code with a keyring that stores values as
they are), so both see the same database state and drift. Two lines: with the real argon2
password hashing (what a user waits for), and with hashing stubbed out (the rest of the
request, where sealing is a larger share).

Rotation is measured over --rotate-rows volunteers (default 100,000; the issue's 1M with
--rotate-rows 1000000, about ten minutes of machine time here), each with a phone, an ID number
and a home address sealed under key 1, written with COPY. A server (one worker) is then started
with key 2 added, and `python server.py rotate-pii-key --batch N` re-seals everything while one
client keeps asking the server: `me` (its sealed phone and address opened and masked) and a
login every tenth request (argon2, the blind-index lookup under both keys). Its latencies idle
and during the rotation, and any request not answered correctly, are printed.

    .venv/bin/python -m bench.pii [--people 200] [--rounds 4] [--rotate-rows 100000] [--batch 1000]
    .venv/bin/python -m bench.pii --rotation-only --rotate-rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import JWT_SECRET, ROOT, bench_env, percentile, scratch_database
from core import pii
from resolvers.validation import id_check_char


class PlainKeyring(pii.Keyring):
    """Sealing off: values and indexes stored as given (for the comparison only)."""

    def seal(self, value: str, column: str) -> str:
        return value

    def open(self, stored: str, column: str) -> str:
        return stored

    def index(self, value: str, column: str, key_id: int | None = None) -> str:
        return value

    def indexes(self, value: str, column: str) -> list[str]:
        return [value]


def use(ring: pii.Keyring) -> None:
    pii.keyring = lambda: ring  # type: ignore[assignment]  # every caller looks it up per call


def people(count: int, start: int) -> Iterator[tuple[str, str]]:
    for index in range(start, start + count):
        birth = date(1960 + index % 40, 1 + index % 12, 1 + index % 28)
        first17 = f"11{index // 100_000 % 100:02d}{index // 1000 % 100:02d}{birth:%Y%m%d}{index % 1000:03d}"
        yield f"1{3 + index % 7}{index % 10**9:09d}", first17 + id_check_char(first17)


async def register_and_login(batch: list[tuple[str, str]]) -> tuple[float, float]:
    from resolvers.volunteer import RegisterData, do_login, do_register

    started = time.perf_counter()
    for phone, id_number in batch:
        await do_register(RegisterData(phone=phone, password="bench-password-1", real_name="压测",
                                       id_number=id_number, district="朝阳区", consent=True))
    registered = time.perf_counter()
    for number, (phone, _) in enumerate(batch):
        await do_login(phone, "bench-password-1", f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}")
    return registered - started, time.perf_counter() - registered


async def compare(count: int, rounds: int, sealed: pii.Keyring, label: str,
                  offset: int) -> int:
    totals = {"off": [0.0, 0.0], "on": [0.0, 0.0]}
    plain = PlainKeyring([(1, os.urandom(32))])
    for round_number in range(rounds):
        order = [("off", plain), ("on", sealed)] if round_number % 2 == 0 else [("on", sealed), ("off", plain)]
        for mode, ring in order:
            use(ring)
            batch = list(people(count, offset))
            offset += count
            register, login = await register_and_login(batch)
            totals[mode][0] += register
            totals[mode][1] += login
    done = rounds * count
    off_reg, off_login = (t / done * 1000 for t in totals["off"])
    on_reg, on_login = (t / done * 1000 for t in totals["on"])
    print(f"{label:<28} register {off_reg:7.2f} ms off {on_reg:7.2f} ms on  ×{on_reg / off_reg:.3f}   "
          f"login {off_login:7.2f} ms off {on_login:7.2f} ms on  ×{on_login / off_login:.3f}")
    return offset


SEED_CHUNK = 50_000
ME = "{ me { displayName phoneMasked homeAddressMasked } }"
LOGIN = "mutation L($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }"


def home_address(number: int) -> str:
    return f"北京市朝阳区幸福里{number % 500}号楼{number % 6 + 1}单元{number % 30 + 1}01"


async def seed_sealed(database_url: str, rows: int, ring: pii.Keyring) -> list[tuple[str, str]]:
    """`rows` volunteers, each with a phone, an ID number and a home address sealed under the
    ring's key, written with COPY in chunks (1M rows would not fit one list comfortably)."""
    import asyncpg

    from resolvers.auth import hash_password

    use(ring)
    password_hash = await hash_password("bench-password-1")
    sample: list[tuple[str, str]] = []
    now = datetime.now(UTC)

    def records(start: int, count: int) -> list[tuple[Any, ...]]:
        chunk = []
        for number, (phone, id_number) in enumerate(people(count, 10_000_000 + start), start):
            sealed = pii.identity_columns(phone, id_number)
            if number % max(1, rows // 200) == 0:
                sample.append((phone, id_number))
            chunk.append((sealed["phone_cipher"], sealed["phone_index"], sealed["id_number_cipher"],
                          sealed["id_number_index"], pii.seal(home_address(number), pii.HOME_ADDRESS),
                          password_hash, "压测", "压测", "MALE", date(1990, 1, 1), "朝阳区", "", "ACTIVE",
                          False, f"TXR{number:012d}", 0.0, now, now))
        return chunk

    conn = await asyncpg.connect(database_url)
    try:
        # The comparison's people (some stored plain) leave first: only sealed rows rotate.
        await conn.execute("TRUNCATE volunteer RESTART IDENTITY CASCADE")
        for start in range(0, rows, SEED_CHUNK):
            await conn.copy_records_to_table(
                "volunteer", records=records(start, min(SEED_CHUNK, rows - start)), columns=[
                    "phone_cipher", "phone_index", "id_number_cipher", "id_number_index",
                    "home_address_cipher", "password_hash", "real_name", "display_name", "gender",
                    "birth_date", "district", "skills", "status", "is_platform_admin",
                    "volunteer_number", "approved_hours", "created_at", "updated_at"])
        await conn.execute("ANALYZE volunteer")
    finally:
        await conn.close()
    return sample


@dataclass
class Answers:
    """Latencies (ms) of one client's logins and `me` reads, and the answers that were not."""
    login: list[float] = field(default_factory=list)
    me: list[float] = field(default_factory=list)
    failed: int = 0

    def line(self, label: str) -> str:
        def spread(values: list[float]) -> str:
            return (f"p50 {percentile(values, 0.5):6.1f}  p99 {percentile(values, 0.99):6.1f}  "
                    f"max {max(values, default=float('nan')):6.1f} ms ({len(values):,})")
        return (f"{label:<14} me: {spread(self.me)}   login: {spread(self.login)}   "
                f"failed: {self.failed}")


async def serve_loop(url: str, sample: list[tuple[str, str]], running: Callable[[], bool]) -> Answers:
    """One client against the server: a login every tenth request (a sampled person, argon2
    and the blind-index lookup under both keys), `me` (opens and masks their sealed phone and
    address) otherwise; every answer checked."""
    import httpx

    answers, rng, token, number = Answers(), random.Random(7), "", 0
    async with httpx.AsyncClient(timeout=30) as client:
        while running():
            started = time.perf_counter()
            if number % 10 == 0 or not token:
                phone, _ = rng.choice(sample)
                response = await client.post(url, json={"query": LOGIN, "variables": {
                    "phone": phone, "password": "bench-password-1"}})
                body = response.json()
                ok = response.status_code == 200 and not body.get("errors")
                if ok:
                    token = body["data"]["login"]["token"]
                answers.login.append((time.perf_counter() - started) * 1000)
            else:
                response = await client.post(url, json={"query": ME},
                                             headers={"Authorization": f"Bearer {token}"})
                body = response.json()
                me = (body.get("data") or {}).get("me") or {}
                ok = response.status_code == 200 and me.get("homeAddressMasked") == "北京市朝阳区****"
                answers.me.append((time.perf_counter() - started) * 1000)
            answers.failed += not ok
            number += 1
    return answers


async def rotation(database_url: str, rows: int, batch: int) -> None:
    from bench.common import start_tongxin

    old, new = os.urandom(32), os.urandom(32)
    started = time.perf_counter()
    sample = await seed_sealed(database_url, rows, pii.Keyring([(1, old)]))
    print(f"seeded {rows:,} volunteers (phone, ID number, home address) sealed under key 1 in "
          f"{time.perf_counter() - started:.1f} s")
    keys = (f"2:{base64.urlsafe_b64encode(new).decode()},"
            f"1:{base64.urlsafe_b64encode(old).decode()}")
    limits = {"PII_KEYS": keys, "JOBS": "0", "LOGIN_ATTEMPTS_PER_PHONE": "1000000",
              "LOGIN_ATTEMPTS_PER_ADDRESS": "1000000"}
    server = start_tongxin(database_url, 1, **limits)
    try:
        deadline = time.perf_counter() + 15
        idle = await serve_loop(server.url, sample, lambda: time.perf_counter() < deadline)
        rotating = True
        during_task = asyncio.ensure_future(serve_loop(server.url, sample, lambda: rotating))
        started = time.perf_counter()
        command = await asyncio.create_subprocess_exec(
            sys.executable, "server.py", "rotate-pii-key", "--batch", str(batch),
            cwd=ROOT, env=bench_env(database_url, **limits),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await command.communicate()
        wall = time.perf_counter() - started
        rotating = False
        during = await during_task
    finally:
        server.stop()
    report = out.decode().strip().splitlines()[-1] if out.strip() else err.decode()[-500:]
    print(f"rotate-pii-key --batch {batch} (exit {command.returncode}), {wall:.1f} s wall: {report}")
    print(f"≈ {rows / wall:,.0f} volunteers/s over the whole command (start-up included)")
    print("one client against the server (1 worker, PostgreSQL), a login every 10th request:")
    print(idle.line("idle"))
    print(during.line("while rotating"))


def sealing_work(ring: pii.Keyring, repeat: int = 20_000) -> None:
    """The cryptographic work alone, per operation: independent of the database and of load
    from other processes (the interleaved rounds above are not, on a shared machine)."""
    phone, id_number = "13812345678", "11010519491231002X"

    def registration() -> None:  # the lookups (one index per key) and the row
        ring.indexes(phone, pii.PHONE)
        ring.indexes(id_number, pii.ID_NUMBER)
        ring.seal(phone, pii.PHONE), ring.index(phone, pii.PHONE)
        ring.seal(id_number, pii.ID_NUMBER), ring.index(id_number, pii.ID_NUMBER)

    def login() -> None:
        ring.indexes(phone, pii.PHONE)

    stored = ring.seal(id_number, pii.ID_NUMBER)
    for label, work in (("registration", registration), ("login", login),
                        ("open one value", lambda: ring.open(stored, pii.ID_NUMBER))):
        started = time.perf_counter()
        for _ in range(repeat):
            work()
        print(f"sealing work per {label:<15} {(time.perf_counter() - started) / repeat * 1e6:6.1f} µs")


async def comparison(args: argparse.Namespace) -> None:
    sealed = pii.Keyring([(1, os.urandom(32))])
    sealing_work(sealed)
    print(f"registration + login, {args.people} people × {args.rounds} rounds per mode, interleaved "
          "(PostgreSQL, in-process rules):")
    offset = await compare(args.people, args.rounds, sealed, "argon2 hashing (real)", 0)
    import resolvers.auth as auth_rules
    import resolvers.volunteer as volunteer_rules

    async def fake_hash(password: str) -> str:
        return "x"

    async def fake_verify(password: str, password_hash: str | None) -> bool:
        return password_hash is not None

    volunteer_rules.hash_password = fake_hash  # type: ignore[assignment]
    volunteer_rules.verify_password = fake_verify  # type: ignore[assignment]
    await compare(args.people, args.rounds, sealed, "hashing stubbed (the rest)", offset)
    volunteer_rules.hash_password = auth_rules.hash_password
    volunteer_rules.verify_password = auth_rules.verify_password


async def main_async(args: argparse.Namespace, database_url: str) -> None:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from resolvers import services as service_registry
    from resolvers.ratelimit import MemoryLimiter
    from subscriptions.broker import MemoryBroker

    await Tortoise.init(config=tortoise_config(database_url))
    await Tortoise.generate_schemas(safe=True)
    service_registry.install(service_registry.Services(broker=MemoryBroker(), limiter=MemoryLimiter()))
    try:
        if not args.rotation_only:
            await comparison(args)
        await rotation(database_url, args.rotate_rows, args.batch)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rotate-rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="rotate-pii-key --batch")
    parser.add_argument("--rotation-only", action="store_true",
                        help="skip the registration/login comparison")
    args = parser.parse_args()
    with scratch_database("tongxin_bench_pii") as database_url:
        os.environ.update(DATABASE_URL=database_url, JWT_SECRET=JWT_SECRET)
        asyncio.run(main_async(args, database_url))


if __name__ == "__main__":
    main()
