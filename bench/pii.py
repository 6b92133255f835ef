"""Personal data at rest: what sealing costs registration and login, and how fast
`rotate-pii-key` re-seals while logins keep being answered (issue 28).

Registration and login run in-process through the rules (resolvers/volunteer.py do_register,
do_login) on a scratch PostgreSQL database, in interleaved rounds with sealing on (AES-GCM +
HMAC blind indexes, core/pii.py) and off (the same code with a keyring that stores values as
they are), so both see the same database state and drift. Two lines: with the real argon2
password hashing (what a user waits for), and with hashing stubbed out (the rest of the
request, where sealing is a larger share).

Rotation is measured over --rotate-rows volunteers (default 100,000; the issue's 1M takes ten
times as long at the same rate) sealed under key 1, re-sealed under key 2 in batches of 1,000,
while one client keeps signing in; its latency before and during the rotation is printed.

    .venv/bin/python -m bench.pii [--people 200] [--rounds 4] [--rotate-rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import JWT_SECRET, percentile, scratch_database
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


async def seed_sealed(database_url: str, rows: int, ring: pii.Keyring) -> list[tuple[str, str]]:
    import asyncpg

    from resolvers.auth import hash_password

    use(ring)
    password_hash = await hash_password("bench-password-1")
    sample: list[tuple[str, str]] = []
    now = datetime.now(UTC)

    def records() -> Iterator[tuple[Any, ...]]:
        for number, (phone, id_number) in enumerate(people(rows, 10_000_000)):
            sealed = pii.identity_columns(phone, id_number)
            if number % max(1, rows // 200) == 0:
                sample.append((phone, id_number))
            yield (sealed["phone_cipher"], sealed["phone_index"], sealed["id_number_cipher"],
                   sealed["id_number_index"], password_hash, "压测", "压测", "MALE", date(1990, 1, 1),
                   "朝阳区", "", "ACTIVE", False, f"TXR{number:012d}", 0.0, now, now)

    conn = await asyncpg.connect(database_url)
    try:
        # The comparison's people (some stored plain) leave first: only sealed rows rotate.
        await conn.execute("TRUNCATE volunteer RESTART IDENTITY CASCADE")
        await conn.copy_records_to_table(
            "volunteer", records=list(records()), columns=[
                "phone_cipher", "phone_index", "id_number_cipher", "id_number_index",
                "password_hash", "real_name", "display_name", "gender", "birth_date", "district",
                "skills", "status", "is_platform_admin", "volunteer_number", "approved_hours",
                "created_at", "updated_at"])
    finally:
        await conn.close()
    return sample


async def logins_while(sample: list[tuple[str, str]], running: Callable[[], bool]) -> list[float]:
    from resolvers.volunteer import do_login

    latencies: list[float] = []
    rng = random.Random(7)
    number = 0
    while running():
        phone, _ = rng.choice(sample)
        started = time.perf_counter()
        await do_login(phone, "bench-password-1", f"10.9.{number // 256 % 256}.{number % 256}")
        latencies.append((time.perf_counter() - started) * 1000)
        number += 1
    return latencies


async def rotation(database_url: str, rows: int) -> None:
    from resolvers.pii import rotate_pii_keys

    old, new = os.urandom(32), os.urandom(32)
    started = time.perf_counter()
    sample = await seed_sealed(database_url, rows, pii.Keyring([(1, old)]))
    print(f"seeded {rows:,} volunteers sealed under key 1 in {time.perf_counter() - started:.1f} s")
    use(pii.Keyring([(1, old), (2, new)]))
    deadline = time.perf_counter() + 3
    before = await logins_while(sample, lambda: time.perf_counter() < deadline)
    finished = False
    during_task = asyncio.ensure_future(logins_while(sample, lambda: not finished))
    report = await rotate_pii_keys(batch_size=1000)
    finished = True
    during = await during_task
    print(f"rotation: {report.rows:,} rows re-sealed under key {report.key_id} in {report.seconds:.1f} s "
          f"= {report.rows_per_second:,.0f} rows/s ({report.left} left); ≈ {1_000_000 / report.rows_per_second:.0f} s "
          "for 1M at this rate")
    print(f"login while idle:     p50 {percentile(before, 0.5):6.1f} ms  p95 {percentile(before, 0.95):6.1f} ms "
          f"({len(before)} logins)")
    print(f"login while rotating: p50 {percentile(during, 0.5):6.1f} ms  p95 {percentile(during, 0.95):6.1f} ms "
          f"({len(during)} logins, every one answered)")


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
        sealed = pii.Keyring([(1, os.urandom(32))])
        sealing_work(sealed)
        print(f"registration + login, {args.people} people × {args.rounds} rounds per mode, interleaved "
              "(PostgreSQL, in-process rules):")
        offset = await compare(args.people, args.rounds, sealed, "argon2 hashing (real)", 0)
        import resolvers.volunteer as volunteer_rules

        async def fake_hash(password: str) -> str:
            return "x"

        async def fake_verify(password: str, password_hash: str | None) -> bool:
            return password_hash is not None

        volunteer_rules.hash_password = fake_hash  # type: ignore[assignment]
        volunteer_rules.verify_password = fake_verify  # type: ignore[assignment]
        await compare(args.people, args.rounds, sealed, "hashing stubbed (the rest)", offset)
        import resolvers.auth as auth_rules

        volunteer_rules.hash_password = auth_rules.hash_password
        volunteer_rules.verify_password = auth_rules.verify_password
        await Tortoise.close_connections()
        await Tortoise.init(config=tortoise_config(database_url))
        await rotation(database_url, args.rotate_rows)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rotate-rows", type=int, default=100_000)
    args = parser.parse_args()
    with scratch_database("tongxin_bench_pii") as database_url:
        os.environ.update(DATABASE_URL=database_url, JWT_SECRET=JWT_SECRET)
        asyncio.run(main_async(args, database_url))


if __name__ == "__main__":
    main()
