"""Settings come from the environment, with a safe embedded default and a strict production."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django import forms
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import formats, timezone, translation

ROOT = Path(__file__).resolve().parents[2]


# Left out of a subprocess's environment; the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE
# in the process they share with these under pytest-xdist, and production never has it.
NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def _run_settings(env_overrides: dict[str, str], code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env_overrides})
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _run_settings({"DEBUG": "false"}, "print('started')")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_with_no_urls_set_the_portal_uses_sqlite_and_runs_tasks_eagerly(tmp_path):
    result = _run_settings(
        {"DEBUG": "true", "SQLITE_PATH": str(tmp_path / "x.sqlite3")},
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.CACHES['default']['BACKEND'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
    ]


def test_with_urls_set_the_portal_uses_postgres_redis_and_a_worker():
    result = _run_settings(
        {
            "SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        },
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.CACHES['default']['BACKEND'], s.CACHES['default']['OPTIONS']['socket_timeout'], "
        "s.SESSION_COOKIE_SECURE)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "False",
        "core.cache.TolerantRedisCache",
        "3.0",
        "True",
    ]


def test_figures_and_dates_read_the_vietnamese_way():
    with translation.override("vi"):
        assert intcomma(1_900_000) == "1.900.000"
        assert formats.date_format(date(2026, 11, 29), "SHORT_DATE_FORMAT") == "29/11/2026"
        assert formats.date_format(date(2026, 11, 29)) == "29/11/2026"
    with translation.override("en"):
        assert intcomma(1_900_000) == "1,900,000"


def test_dates_are_typed_day_first():
    class Form(forms.Form):
        day = forms.DateField()

    with translation.override("vi"):
        form = Form({"day": "03/04/2026"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["day"] == date(2026, 4, 3)
        form = Form({"day": "30/02/2026"})
        assert not form.is_valid()
        assert "Nhập một ngày hợp lệ" in str(form.errors)


def test_times_are_shown_in_ho_chi_minh_time():
    moment = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)
    with translation.override("vi"):
        assert formats.date_format(timezone.localtime(moment), "TIME_FORMAT") == "00:30"


@pytest.mark.django_db
def test_the_celery_app_runs_tasks_eagerly_in_tests():
    from config import celery_app

    assert celery_app.conf.task_always_eager is True
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_every_variable_the_settings_read_is_documented_in_env_example():
    import re

    source = "".join(p.read_text() for p in (ROOT / "config").glob("settings*.py"))
    read = set(re.findall(r"env\.\w+\(\s*\"([A-Z_]+)\"", source))
    read |= set(re.findall(r"os\.environ(?:\.get|\.setdefault)?\(\s*\"([A-Z_]+)\"", source))
    # A variable whose default is best left alone is shown commented out, with an example.
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^(?:# )?([A-Z_]+)=", example, re.M))
    assert read - documented == set()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= read
