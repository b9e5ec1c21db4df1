"""Fill a PostgreSQL database at province scale for the benchmark:
`python -m bench.generate_load --size=S --force` (see --help).

A development tool, not a command of the portal: it TRUNCATEs tables with --force, so
no app the portal ships offers it. The command itself is bench/load_command.py.
"""

import os
import sys


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.load_command import Command

    Command().run_from_argv(["python -m", "bench.generate_load", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
