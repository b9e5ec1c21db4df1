from django.core.management.base import BaseCommand

from communes.services import divisions_load


class Command(BaseCommand):
    help = "Load Nam Định's 10 districts and 226 communes (official 2023 codes). Idempotent."

    def handle(self, *args, **options):
        result = divisions_load()
        self.stdout.write(
            self.style.SUCCESS(
                f"Administrative units: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged."
            )
        )
