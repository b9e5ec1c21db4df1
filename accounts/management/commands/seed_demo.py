"""Fill the portal with generated demo data, labelled as such, for trials and training.

Each app may have a `demo.py` with `seed_demo(*, seed, scale) -> list[str]`; they run in the
order of INSTALLED_APPS (so communes before the accounts and teams that refer to them),
all in one transaction. Every step only adds what is missing and never touches figures
an admin entered, so a second run changes nothing.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.selectors import demo_data_changed
from communes.models import Commune


class Command(BaseCommand):
    help = "Add deterministic demo data (figures, hamlets, demo logins) where none exists."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2023)
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Share of the province's teams, members and visits to create (default 1).",
        )

    def handle(self, *args, seed: int, scale: float, **options):
        if not settings.ALLOW_DEMO_DATA:
            raise CommandError(
                "Demo data creates logins with known passwords. Set ALLOW_DEMO_DATA=true "
                "to add it to this site."
            )
        if not Commune.objects.exists():
            raise CommandError("No communes yet: run `manage.py load_divisions` first.")
        lines = []
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                module_name = f"{app_config.name}.demo"
                if find_spec(module_name) is None:
                    continue
                lines += import_module(module_name).seed_demo(seed=seed, scale=scale)
        demo_data_changed()
        self.stdout.write(self.style.SUCCESS("Demo data (generated, not real):"))
        for line in lines:
            self.stdout.write(f"  {line}")
