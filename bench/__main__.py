"""`python -m bench [--relations N] [--iterations N] [--practice SLUG]`: see `bench/__init__.py`.

Needs DATABASE_URL on PostgreSQL (the figures mean nothing on SQLite) and DJANGO_SETTINGS_MODULE.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--relations", type=int, default=100_000, help="practice size to seed")
    parser.add_argument("--iterations", type=int, default=30, help="timed requests per page")
    parser.add_argument(
        "--bulk-iterations",
        type=int,
        default=None,
        help="timed bulk actions (default: --iterations)",
    )
    parser.add_argument("--practice", default="bench", help="slug of the bench practice")
    parser.add_argument("--no-admin", action="store_true", help="skip the admin side by side")
    parser.add_argument(
        "--ledger-debtors", type=int, default=10_000, help="import and push size (0: skip)"
    )
    parser.add_argument("--ledger-only", action="store_true", help="only the ledger figures")
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="skip the concurrent part (gunicorn, 4 and 16 clients)",
    )
    parser.add_argument(
        "--load-seconds", type=float, default=8.0, help="seconds per page and concurrency"
    )
    parser.add_argument(
        "--baseline-ref",
        default=None,
        help="also run the single-request and ledger stages of this git ref (e.g. main), in a "
        "temporary worktree against a database of its own, and print both side by side",
    )
    args = parser.parse_args(argv)

    # The bench runs the production settings (DEBUG off) in-process: only what the test Client needs.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 50)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
    os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management.base import OutputWrapper
    from django.db import connection
    from django.test.utils import override_settings

    from bench import ledger
    from bench import web as bench

    if connection.vendor != "postgresql":
        print("python -m bench needs DATABASE_URL on PostgreSQL.", file=sys.stderr)
        return 2
    out = OutputWrapper(sys.stdout)
    command = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    baseline = None
    if args.baseline_ref:
        from bench import baseline as baseline_bench

        # First, while this run's own stages have the machine to themselves only afterwards: the
        # two never run at the same time, so neither slows the other down.
        baseline = baseline_bench.run(args.baseline_ref, args, stdout=out)
    ledger_table = ""
    if args.ledger_debtors:
        print(f"Ledger: import and push of {args.ledger_debtors:,} debtors ...", flush=True)
        ledger_table = ledger.table(ledger.run(debtors=args.ledger_debtors, stdout=out)) + "\n"
    if args.ledger_only:
        print(f"\n{ledger_table}")
        if baseline is not None:
            print(baseline_bench.side_by_side(baseline, ledger_table, "", args.baseline_ref))
        return _reproduce(command)
    print(f"Preparing practice {args.practice!r} with {args.relations:,} relations ...", flush=True)
    started = time.perf_counter()
    data = bench.prepare(slug=args.practice, relations=args.relations, stdout=out)
    seeding = (
        f"Seeded {args.relations:,} relations (seed_demo --relations, its ANALYZE included) in "
        f"{time.perf_counter() - started:.0f} s."
        if data.seeded
        else "Practice reused from an earlier run (drop the bench database for a fresh seed)."
    )
    print(seeding, flush=True)
    load_table = ""
    if not args.no_load:
        from bench import load

        print(
            "Under load, before any analyse of the bench's own"
            + ("" if data.seeded else " (statistics from earlier runs: the practice was reused)")
            + ":",
            flush=True,
        )
        load_table = load.table(load.run(data, seconds=args.load_seconds, stdout=out)) + "\n"
    with connection.cursor() as cursor:
        # What autovacuum does after a load: statistics for the planner, the visibility map for
        # index-only scans, and the trigram index's pending list merged.
        cursor.execute("VACUUM ANALYZE")
    data.iterations = args.iterations
    data.bulk_iterations = args.bulk_iterations or args.iterations
    print(f"Measuring, {args.iterations} timed requests per page after {bench.WARMUP} warm-up:")
    # No collectstatic in a bench run: hashed static names are not what is being measured.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        bench.run(data, stdout=out, admin=not args.no_admin)
    print()
    print(seeding)
    print()
    print(bench.table(data))
    print()
    print(ledger_table)
    if load_table:
        print(load_table)
    if baseline is not None:
        print(
            baseline_bench.side_by_side(
                baseline, ledger_table, bench.table(data), args.baseline_ref
            )
        )
    return _reproduce(command)


def _reproduce(command: str) -> int:
    print(
        f"Reproduce: make bench BENCH_ARGS={shlex.quote(command)}"
        if command
        else "Reproduce: make bench"
    )
    print(f"       or: DATABASE_URL=... python -m bench {command}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
