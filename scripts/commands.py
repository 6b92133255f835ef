"""The command line of server.py: `python server.py serve|migrate|check-migrations|seed-demo|
create-admin|drain-sms|export-schema|import-volunteers|rebuild-leaderboards|expire-points|
rebuild-stats|rotate-pii-key|backup|restore|check-integrity` (default: serve).

Each command imports the rules it runs inside its function: `migrate` or `create-admin` need
neither the GraphQL schema nor the broker, and start in half a second instead of two."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import errno
import os
import shutil
import signal
import socket
import sys
import threading
import time
from typing import Any

from tortoise import Tortoise

from core.logconfig import configure_logging, log_level, logging_config
from core.settings import ConfigurationError, get_settings
from db.config import database_url, tortoise_config
from resolvers.errors import DomainError


async def _with_db(work: Any) -> Any:
    await Tortoise.init(config=tortoise_config(get_settings().database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def cmd_migrate(_: argparse.Namespace) -> int:
    from resolvers.maintenance import apply_migrations

    asyncio.run(apply_migrations(get_settings().database_url))
    print("migrations applied")
    return 0


def cmd_check_migrations(_: argparse.Namespace) -> int:
    from resolvers.maintenance import pending_model_changes

    pending = asyncio.run(pending_model_changes())
    if pending:
        print("models changed without a migration; run `tortoise makemigrations`:", *pending)
        return 1
    print("migrations match the models")
    return 0


def cmd_rotate_pii_key(args: argparse.Namespace) -> int:
    from resolvers.pii import rotate_pii_keys

    report = asyncio.run(_with_db(lambda: rotate_pii_keys(args.batch, args.pause, progress=True)))
    print(f"{report.rows:,} volunteers and {report.addresses:,} help-request addresses re-sealed under "
          f"key {report.key_id} in {report.seconds:.1f} s ({report.rows_per_second:,.0f} volunteers/s); "
          f"{report.left:,} volunteers left under older keys")
    return 0 if report.left == 0 else 1


def cmd_seed_demo(_: argparse.Namespace) -> int:
    from resolvers.demo import seed_demo

    created = asyncio.run(_with_db(seed_demo))
    print("demo data loaded" if created else "demo data already present")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from resolvers.maintenance import create_admin

    try:
        asyncio.run(_with_db(lambda: create_admin(args.phone, args.password, args.name, args.id_number,
                                                  args.district)))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print("platform admin ready")
    return 0


async def _with_services(work: Any) -> Any:
    from resolvers import services as service_registry

    current = await service_registry.build(get_settings().redis_url)
    service_registry.install(current)
    try:
        return await work()
    finally:
        await service_registry.shutdown(current)


def cmd_import_volunteers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from resolvers.importer import format_report, import_volunteers

    try:
        report = asyncio.run(_with_db(lambda: import_volunteers(
            Path(args.file), error_file=Path(args.errors) if args.errors else None,
            batch_size=args.batch_size)))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 1 if report.failed else 0


def cmd_rebuild_leaderboards(_: argparse.Namespace) -> int:
    from resolvers.leaderboard import rebuild_all

    if not get_settings().redis_url:
        print("no REDIS_URL: leaderboards are answered from SQL, nothing to rebuild")
        return 0
    count = asyncio.run(_with_db(lambda: _with_services(rebuild_all)))
    print(f"{count} leaderboards rebuilt")
    return 0


def cmd_rebuild_stats(_: argparse.Namespace) -> int:
    from resolvers.stats import rebuild_stats

    report = asyncio.run(_with_db(rebuild_stats))
    print(f"stats rebuilt from service records in {report.seconds:.1f} s: "
          f"{report.months} district-month rows, {report.volunteers_changed} volunteers' "
          "last approval corrected")
    from resolvers.project import rebuild_project_stats

    projects = asyncio.run(_with_db(rebuild_project_stats))
    print(f"project statistics rebuilt: {projects} projects with approved hours")
    return 0


def cmd_expire_points(args: argparse.Namespace) -> int:
    from resolvers.timebank import do_expire_points

    expired = asyncio.run(_with_db(lambda: do_expire_points(months=args.months)))
    print(f"{expired} points expired")
    return 0


def cmd_enforce_retention(_: argparse.Namespace) -> int:
    from resolvers.retention import enforce_retention

    report = asyncio.run(_with_db(enforce_retention))
    for rule, removed in report.removed.items():
        print(f"{rule}: {removed} removed")
    print(f"{report.total} in all")
    return 0


def cmd_export_records(args: argparse.Namespace) -> int:
    from resolvers.exchange import drain_to_directory

    exported = asyncio.run(_with_db(lambda: drain_to_directory(args.dir)))
    print(f"{exported} record changes exported to {args.dir}")
    return 0


def _print_integrity(report: Any, as_json: bool) -> int:
    if as_json:
        import json

        print(json.dumps({"ok": report.ok, "problems": report.problems, "rows": report.rows},
                         ensure_ascii=False))
    else:
        for problem in report.problems:
            print(f"problem: {problem}")
        print(f"{sum(report.rows.values()):,} rows in {len(report.rows)} tables; "
              + ("integrity ok" if report.ok else f"{len(report.problems)} problems"))
    return 0 if report.ok else 1


def cmd_check_integrity(args: argparse.Namespace) -> int:
    from resolvers.integrity import integrity_report

    return _print_integrity(asyncio.run(_with_db(integrity_report)), args.json)


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db.backup import BackupError, backup

    try:
        result = backup(database_url(), Path(args.dest))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"backup written to {result.path}: {result.bytes / 1e6:,.1f} MB in "
          f"{result.seconds:.2f} s ({result.tool})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db.backup import BackupError, restore
    from resolvers.integrity import integrity_report

    try:
        seconds = restore(Path(args.src), database_url())
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"restored {args.src} in {seconds:.2f} s; checking integrity")
    return _print_integrity(asyncio.run(_with_db(integrity_report)), args.json)


def cmd_drain_sms(args: argparse.Namespace) -> int:
    from resolvers.notification import drain_sms_outbox

    async def drain() -> int:
        total = 0
        while True:
            sent = await drain_sms_outbox(limit=args.batch)
            total += sent
            if not args.forever:
                return total
            await asyncio.sleep(args.interval if sent == 0 else 0)

    sent = asyncio.run(_with_db(drain))
    print(f"{sent} SMS sent")
    return 0


def cmd_export_schema(_: argparse.Namespace) -> int:
    from schema import build_schema

    print(build_schema(introspection=True).as_str())
    return 0


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


WS_PROTOCOLS = {"lean-sansio": "schema.live.direct:LeanSansIOProtocol"}


def exit_with_parent(parent: int, every: float = 0.5) -> None:
    """SIGTERM this process (a graceful stop: uvicorn stops its workers) once `parent` is no
    longer its parent: a test run or bench killed without cleaning up (SIGKILL, a crashed
    worker) must not leave its servers running in sessions of their own."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if parent := os.environ.get("TONGXIN_EXIT_WITH_PARENT"):
        exit_with_parent(int(parent))

    host = args.host or os.environ.get("HOST", "127.0.0.1")
    port = int(args.port or os.environ.get("PORT", "8000"))
    workers = int(args.workers or os.environ.get("WORKERS", "1"))
    if not _port_free(host, port):
        print(f"error: port {port} on {host} is already in use. Stop the other server or set PORT=...",
              file=sys.stderr)
        return 1
    get_settings()  # fail fast on configuration errors, before forking workers
    if workers > 1:
        # The workers share their metrics through files (core/metrics.py): the folder is set
        # before they start, so that they import prometheus_client with it.
        from core.metrics import prepare_multiprocess_dir

        given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        folder = os.environ["PROMETHEUS_MULTIPROC_DIR"] = prepare_multiprocess_dir(given)
        if not given:
            atexit.register(shutil.rmtree, folder, True)
    if os.environ.get("SKIP_MIGRATIONS") != "1":
        from resolvers.maintenance import apply_migrations

        asyncio.run(apply_migrations(get_settings().database_url))
    print(f"Tongxin on http://{host}:{port}/graphql ({workers} worker(s), "
          f"{'PostgreSQL' if not get_settings().embedded else 'SQLite'}, "
          f"{'Redis' if get_settings().redis_url else 'in-process'} pub/sub)", flush=True)
    uvicorn.run(
        "server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(log_level()),  # applied in each worker: core/logconfig.py
        log_level=log_level().lower(),
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Messages are small JSON frames: compressing each costs CPU per subscriber, saves little.
        ws_per_message_deflate=False,
        ws=WS_PROTOCOLS.get(get_settings().ws_protocol, get_settings().ws_protocol),
        timeout_graceful_shutdown=5,
        # Idle HTTP keep-alive connections stay open 75 s (uvicorn's default is 5 s). A client
        # or load balancer reusing a pooled connection at the moment the server closes it gets
        # a reset (httpx.ReadError in the flash-crowd test and bench after a pause of a few
        # seconds); the server's idle timeout must outlast theirs (nginx 75 s, ALB 60 s).
        timeout_keep_alive=75,
        # A spawned worker answers uvicorn's health check only once it has imported the schema
        # (~2.5 s of CPU): past uvicorn's default 5 s on a busy host the supervisor kills and
        # respawns every worker in a loop, and none ever serves.
        timeout_worker_healthcheck=30,
        access_log=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging(log_level())
    parser = argparse.ArgumentParser(prog="server.py", description="Tongxin GraphQL server")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve GraphQL (default)")
    serve.add_argument("--host")
    serve.add_argument("--port")
    serve.add_argument("--workers")
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    commands.add_parser("check-migrations", help="fail if models changed without a migration"
                        ).set_defaults(func=cmd_check_migrations)
    commands.add_parser("seed-demo", help="load demo data (idempotent)").set_defaults(func=cmd_seed_demo)
    admin = commands.add_parser("create-admin", help="create or promote a platform admin")
    admin.add_argument("--phone", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--id-number", help="resident ID number (a valid one is generated if omitted)")
    admin.add_argument("--district", default="市级")
    admin.set_defaults(func=cmd_create_admin)
    drain = commands.add_parser("drain-sms", help="send queued SMS through SMS_GATEWAY")
    drain.add_argument("--batch", type=int, default=100)
    drain.add_argument("--forever", action="store_true", help="keep polling the outbox")
    drain.add_argument("--interval", type=float, default=5.0)
    drain.set_defaults(func=cmd_drain_sms)
    commands.add_parser("export-schema", help="print the SDL").set_defaults(func=cmd_export_schema)
    importer = commands.add_parser("import-volunteers", help="import a roster (CSV or XLSX) as "
                                   "PENDING_CONSENT volunteers; writes a per-row error report")
    importer.add_argument("file")
    importer.add_argument("--errors", help="error report path (default: FILE.errors.csv)")
    importer.add_argument("--batch-size", type=int, default=1000)
    importer.set_defaults(func=cmd_import_volunteers)
    commands.add_parser("rebuild-leaderboards", help="rebuild the Redis leaderboards from the "
                        "database").set_defaults(func=cmd_rebuild_leaderboards)
    expire = commands.add_parser("expire-points", help="expire time-bank points older than "
                                 "POINTS_EXPIRE_MONTHS (off when 0, the default)")
    expire.add_argument("--months", type=int, default=None, help="override the setting")
    expire.set_defaults(func=cmd_expire_points)
    commands.add_parser("rebuild-stats", help="recompute the stats summaries from the service "
                        "records").set_defaults(func=cmd_rebuild_stats)
    rotate = commands.add_parser("rotate-pii-key", help="re-seal phones and ID numbers under the "
                                 "newest key of PII_KEYS, in batches, while the service runs")
    rotate.add_argument("--batch", type=int, default=1000)
    rotate.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    rotate.set_defaults(func=cmd_rotate_pii_key)
    commands.add_parser("enforce-retention", help="apply the retention rules (RETENTION_*) now "
                        "and print what each removed").set_defaults(func=cmd_enforce_retention)
    records = commands.add_parser("export-records", help="drain the outbox of record changes "
                                  "into JSON Lines and CSV files (national records exchange)")
    records.add_argument("--dir", default=os.environ.get("EXCHANGE_EXPORT_DIR", "exchange"))
    records.set_defaults(func=cmd_export_records)
    backup = commands.add_parser("backup", help="write a consistent backup of the database "
                                 "while the service runs (PostgreSQL: pg_dump custom format; "
                                 "SQLite: the online backup API)")
    backup.add_argument("dest")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="restore a backup into the new or empty "
                                  "database of DATABASE_URL, then check its integrity")
    restore.add_argument("src")
    restore.add_argument("--json", action="store_true", help="the integrity report as JSON")
    restore.set_defaults(func=cmd_restore)
    integrity = commands.add_parser("check-integrity", help="counters equal their rows, no "
                                    "capacity exceeded, points equal their ledger, no orphan "
                                    "rows; exit 1 on any problem")
    integrity.add_argument("--json", action="store_true", help="problems and rows per table as JSON")
    integrity.set_defaults(func=cmd_check_integrity)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
