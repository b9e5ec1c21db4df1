"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The schedule lives in code so that it is reviewed with the tasks it runs.
app.conf.beat_schedule = {
    # Writers queue the pending roll-up on commit; this catches what a broker outage
    # or a lost message left behind (the buckets wait in Postgres).
    "rollup-pending": {
        "task": "dashboard.rollup_pending",
        "schedule": crontab(minute="*/5"),
    },
    # A nightly rebuild from the raw rows: figures stay exact even if a writer ever
    # forgot to mark a bucket.
    "rollup-full": {
        "task": "dashboard.rollup_full",
        "schedule": crontab(hour=3, minute=0),
    },
    # Uploaded member lists and unread leader passwords are personal data: forget them
    # once they are no longer needed.
    "expire-member-imports": {
        "task": "outreach.member_imports_expire",
        "schedule": crontab(hour=2, minute=30),
    },
    # Households nobody has visited for HOUSEHOLD_RETENTION_YEARS lose their personal
    # data (Law 91/2025: kept no longer than needed); their visits still count.
    "households-retention": {
        "task": "outreach.households_retention",
        "schedule": crontab(hour=2, minute=50),
    },
    # The same for uploaded online-course lists.
    "expire-course-imports": {
        "task": "trainings.course_imports_expire",
        "schedule": crontab(hour=2, minute=40),
    },
}
