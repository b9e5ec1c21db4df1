"""The command that fills a PostgreSQL database at province scale for the benchmark
(bench/generator.py), run as `python -m bench.generate_load` (bench/generate_load.py);
tests call the object: call_command(Command(), ...)."""

import datetime as dt
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.selectors import demo_data_changed
from bench import generator
from dashboard import rollup


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class Command(BaseCommand):
    help = (
        "Generate a province-scale load on PostgreSQL: the 226 communes with hamlets, teams, "
        "members, households, N visits over the two years ending on --end-date, a year of "
        "training sessions with min(1,000,000, N/5) named attendances and min(20,000, N/25) "
        "online-course records, all marked as demo data and the same for the same seed. "
        "Refuses when teams, households, visits or trainings exist; --force first TRUNCATEs "
        "the outreach, trainings and dashboard data tables (teams, members, households, "
        "visits and their audit trail, sessions, attendances, headcounts, course records, "
        "the summary tables) and the pending roll-up marks. It never touches users, "
        "communes, hamlets, the service and topic catalogues, targets or indicators. "
        "Needs ALLOW_DEMO_DATA=true; as a database superuser it skips the per-row "
        "foreign-key triggers and checks the references once at the end."
    )

    def add_arguments(self, parser):
        parser.add_argument("--visits", type=int, help="Number of visits.")
        parser.add_argument(
            "--size",
            choices=sorted(generator.SIZES),
            help="S = 500,000, M = 5,000,000, L = 20,000,000 visits (overrides --visits).",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--households", type=int, default=generator.HOUSEHOLDS)
        parser.add_argument("--teams", type=int, default=generator.TEAMS)
        parser.add_argument("--members", type=int, default=generator.MEMBERS)
        parser.add_argument(
            "--end-date",
            type=_day,
            help="Last day of the visits, YYYY-MM-DD (default: yesterday).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Empty the data tables first (see above)."
        )
        parser.add_argument(
            "--rollup", action="store_true", help="Run the full roll-up afterwards."
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="Keep the big tables' indexes during the load (slower) instead of "
            "building them again at its end.",
        )

    def handle(self, *args, **options):
        if not settings.ALLOW_DEMO_DATA:
            raise CommandError(
                "generate_load fills the site with generated data. Set ALLOW_DEMO_DATA=true "
                "to allow it on this site."
            )
        visits = generator.SIZES[options["size"]] if options["size"] else options["visits"]
        if visits is None:
            raise CommandError("Give --visits N or --size S|M|L.")
        spec = generator.LoadSpec(
            visits=visits,
            seed=options["seed"],
            end=options["end_date"] or timezone.localdate() - dt.timedelta(days=1),
            households=options["households"],
            teams=options["teams"],
            members=options["members"],
        )

        def progress(line: str) -> None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

        try:
            report = generator.load_generate(
                spec=spec,
                force=options["force"],
                keep_indexes=options["keep_indexes"],
                progress=progress,
            )
        except generator.LoadRefused as exc:
            raise CommandError(str(exc)) from exc
        demo_data_changed()
        self._summary(spec, report)
        if options["rollup"]:
            started = time.monotonic()
            result = rollup.rollup_full()
            self.stdout.write(
                f"Full roll-up: {time.monotonic() - started:.1f} s, {result.cells:,} cells."
            )
        else:
            self.stdout.write("The summary tables are empty: run `manage.py rollup --full`.")

    def _summary(self, spec: generator.LoadSpec, report: generator.LoadReport) -> None:
        out = self.stdout.write
        out(f"Load of {spec.visits:,} visits, seed {spec.seed}, {spec.start} to {spec.end}:")
        out(f"  {'table':<36} {'rows':>12}")
        for table, rows in report.rows.items():
            out(f"  {table:<36} {rows:>12,}")
        out(f"  {'phase':<36} {'seconds':>12} {'rows/s':>12}")
        for name, seconds, rows in report.phases:
            rate = f"{rows / seconds:,.0f}" if rows and seconds else ""
            out(f"  {name:<36} {seconds:>12.1f} {rate:>12}")
        out(
            f"  total: {report.total_rows:,} rows in {report.seconds:.1f} s "
            f"({report.total_rows / max(report.seconds, 1e-9):,.0f} rows/s), "
            f"peak RSS {report.peak_rss_mb:,.0f} MB"
        )
        if report.triggers_skipped:
            out(
                "  Foreign-key triggers were skipped during the load (superuser); "
                "every generated reference was checked afterwards."
            )
