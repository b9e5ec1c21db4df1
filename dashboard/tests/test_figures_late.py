"""The dashboards' "figures as of" line becomes a warning once a change has waited for the
roll-up longer than FIGURES_STALE_AFTER_SECONDS (the worker down, Redis away), in the
reader's language; the threshold is /healthz/figures's."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import province_staff
from communes.models import Commune, Province
from core.marks import ChangeSource
from dashboard.models import PendingRollup, RollupState
from dashboard.rollup import STATE_CACHE_KEY

WARNING = '<p class="figures-as-of late" role="status">'


@pytest.fixture
def provincial(client, divisions):
    """Province staff logged in, the last roll-up a quarter of an hour ago."""
    RollupState.objects.update_or_create(
        pk=1, defaults={"last_run_at": timezone.now() - dt.timedelta(minutes=15)}
    )
    client.force_login(province_staff(Province.objects.get()))


def mark(*, waited: dt.timedelta) -> dt.datetime:
    """A change marked `waited` ago, seen by the next page (the state's minute in the
    cache is over). Returns when, in Nam Định's time."""
    row = PendingRollup.objects.create(
        commune=Commune.objects.get(code=14269),
        day=timezone.localdate(),
        source=ChangeSource.OUTREACH,
    )
    marked_at = timezone.now() - waited
    PendingRollup.objects.filter(pk=row.pk).update(marked_at=marked_at)
    cache.delete(STATE_CACHE_KEY)
    return timezone.localtime(marked_at)


def overview(client, language: str) -> str:
    return client.get(reverse("dashboard:overview"), HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.django_db
def test_a_change_waiting_past_ten_minutes_turns_the_line_into_a_warning(client, provincial):
    since = mark(waited=dt.timedelta(minutes=11))
    html = overview(client, "en")
    assert WARNING in html
    assert (
        f"The figures are late: changes made since {since:%H:%M} on {since:%d/%m/%Y} "
        "are not counted yet." in html
    )


@pytest.mark.django_db
def test_the_warning_in_vietnamese(client, provincial):
    since = mark(waited=dt.timedelta(minutes=11))
    html = overview(client, "vi")
    assert WARNING in html
    assert (
        f"Số liệu đang bị chậm: các thay đổi từ {since:%H:%M} ngày {since:%d/%m/%Y} "
        "chưa được tính vào." in html
    )


@pytest.mark.django_db
def test_the_threshold_is_the_monitoring_one(client, provincial, settings):
    settings.FIGURES_STALE_AFTER_SECONDS = 60
    mark(waited=dt.timedelta(seconds=50))
    assert WARNING not in overview(client, "en")
    PendingRollup.objects.update(marked_at=timezone.now() - dt.timedelta(seconds=70))
    cache.delete(STATE_CACHE_KEY)
    assert WARNING in overview(client, "en")


@pytest.mark.django_db
def test_a_page_seen_before_the_figures_were_late_warns_once_they_are(client, provincial):
    """No run renews the page's cached tables while the worker is down: the warning must
    not wait for one."""
    mark(waited=dt.timedelta(minutes=5))
    assert WARNING not in overview(client, "en")
    PendingRollup.objects.update(marked_at=timezone.now() - dt.timedelta(minutes=12))
    cache.delete(STATE_CACHE_KEY)
    assert WARNING in overview(client, "en")
