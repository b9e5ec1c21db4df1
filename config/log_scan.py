"""What the test suite's logs must never carry: the personal data the tests create.

The root conftest.py records every log record the suite emits and every person the
suite stores (members, households, attendees, users with a full name), then scans the
records at the end of the run; a record that names one of them fails the run. Phone
numbers are also caught by their shape, whoever they belong to.
"""

import logging
import re
from collections.abc import Iterable

# Vietnamese mobile numbers as stored (0912345678) or typed (+84 912 345 678).
# Not inside a longer word: a Celery task id ("…-0538350576d9") holds such digits too.
PHONE = re.compile(r"(?<![\w.-])(?:\+?84[\s.]?|0)[35789](?:[\s.]?\d){8}(?![\w])")
# Shorter names would match ordinary words.
MIN_NAME_LENGTH = 8
# The test tools' own loggers (factory_boy names the objects it builds, Hypothesis the
# values it draws), and SQL with its parameters, which Django logs only under DEBUG,
# never in production: not the portal's logs.
NOT_THE_PORTALS = ("factory", "faker", "hypothesis", "playwright", "asyncio", "django.db.backends")


class Recorder(logging.Handler):
    """Keeps the formatted text of every record, whatever its level."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(NOT_THE_PORTALS):
            return
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format: keep the raw message
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        self.lines.append(f"{record.name}: {text}")


def personal_data_in(lines: Iterable[str], people: Iterable[str]) -> list[str]:
    """The lines that carry a phone number or one of these people's names or addresses.

    A name counts as a whole (not inside a longer run of letters and digits): the fuzz
    tests store people named with drawn text such as "00000064", which a task's duration
    ("0.7391809000000649 s") or id would otherwise hold.
    """
    names = sorted({p for p in people if p and len(p) >= MIN_NAME_LENGTH}, key=len, reverse=True)
    named = (
        re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)") if names else None
    )
    found = []
    for line in lines:
        if PHONE.search(line) or (named is not None and named.search(line)):
            found.append(line)
    return found
