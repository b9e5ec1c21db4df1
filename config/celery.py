"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

import os
import time

from celery import Celery
from celery.beat import BeatLazyFunc
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's watch over the pending roll-up (dashboard/worker.py), started each time the
# worker connects to the broker: named here, loaded only by a worker.
app.steps["consumer"].add("dashboard.worker:RollupWatch")

# The schedule lives in code so that it is reviewed with the tasks it runs.
app.conf.beat_schedule = {
    # Writers queue the pending roll-up on commit, and the worker's watch asks again for
    # what a broker outage or a lost message left behind (the buckets wait in Postgres);
    # this is the last resort, should the watch itself be stuck.
    "rollup-pending": {
        "task": "dashboard.rollup_pending",
        "schedule": crontab(minute="*/5"),
    },
    # Beat's heartbeat for /healthz/figures. Its argument is the time beat sends it,
    # evaluated at each sending, so a worker that runs it late still records when beat
    # was alive; one that waited longer than the expiry is dropped, a later one says more.
    "beat-heartbeat": {
        "task": "dashboard.beat_heartbeat",
        "schedule": 60.0,
        "args": (BeatLazyFunc(time.time),),
        "options": {"expires": 300},
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
