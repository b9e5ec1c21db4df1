"""What an incremental roll-up writes, and the least that writing can cost here.

    python -m bench.rollup_floor --visits 1000      # on the bench's loaded database

A burst of new visits (bench.rollups.Burst, as the incremental section makes them) is
rolled up inside a transaction that reads PostgreSQL's counts of the rows it wrote to
each table (pg_stat_xact_user_tables), then taken out again. The floor: the same numbers
of rows copied, one INSERT ... SELECT a table, into empty copies of those tables (same
columns and indexes), which costs less than writing them into the real ones (their
indexes are small and nothing is read or compared). Nothing is kept: the copies are
rolled back. Run it with the bench's database loaded (`python -m bench.run --sizes S`).
"""

import argparse
import os
import sys
import time

from .run import ROOT, bench_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--database", default="portal_bench")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.update(bench_env(args.database, 8))
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.db import connection, transaction

    from dashboard import rollup

    from .rollups import Burst, _settle

    rollup.rollup_pending()  # nothing left over
    written: list[tuple] = []
    for rep in range(args.reps):
        _settle()
        burst = Burst(args.visits, seed=rep + 1)
        burst.add()
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            rollup.rollup_pending()
            elapsed = time.perf_counter() - started
            cursor.execute(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables "
                "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 AND relname LIKE 'dashboard%%' "
                "ORDER BY relname"
            )
            written = cursor.fetchall()
        burst.remove()
        print(f"roll-up of {args.visits:,} new visits: {elapsed * 1000:,.1f} ms")
    print("rows written by the last run (inserted, updated, deleted):")
    for table, inserted, updated, deleted in written:
        print(f"  {table}: {inserted:,} / {updated:,} / {deleted:,}")

    floor = 0.0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, inserted, updated, _deleted in written:
            rows = inserted + updated  # an update writes a new version of the row
            if not rows or table == "dashboard_rollupstate":
                continue
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            started = time.perf_counter()
            cursor.execute(f"INSERT INTO floor_{table} SELECT * FROM {table} LIMIT %s", [rows])  # noqa: S608
            seconds = time.perf_counter() - started
            floor += seconds
            print(f"  floor {table}: {cursor.rowcount:,} rows copied in {seconds * 1000:,.1f} ms")
        transaction.set_rollback(True)
    print(f"floor: {floor * 1000:,.1f} ms to write those rows into empty copies, read nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
