"""Recompute the dashboard's figures: the pending buckets, or everything with --full."""

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from dashboard import rollup


class Command(BaseCommand):
    help = "Recompute the summary tables the dashboards read (pending buckets, or --full)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true", help="Rebuild every summary table from the raw rows."
        )

    def handle(self, *args, full: bool, **options):
        started = time.monotonic()
        result = rollup.rollup_full() if full else rollup.rollup_pending()
        seconds = time.monotonic() - started
        self.stdout.write(
            _(
                "Roll-up done in %(seconds).1f s: %(claimed)d pending marks, "
                "%(cells)d cells, %(years)d training years."
            )
            % {
                "seconds": seconds,
                "claimed": result.claimed,
                "cells": result.cells,
                "years": result.years,
            }
        )
