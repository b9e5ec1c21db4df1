"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The schedule lives in code so that it is reviewed with the tasks it runs. The
# dashboard issue adds its roll-up entries here.
app.conf.beat_schedule = {
    # Uploaded member lists and unread leader passwords are personal data: forget them
    # once they are no longer needed.
    "expire-member-imports": {
        "task": "outreach.member_imports_expire",
        "schedule": crontab(hour=2, minute=30),
    },
    # The same for uploaded online-course lists.
    "expire-course-imports": {
        "task": "trainings.course_imports_expire",
        "schedule": crontab(hour=2, minute=40),
    },
}
