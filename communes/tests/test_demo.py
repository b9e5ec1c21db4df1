import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import ScopeLevel, User
from communes.models import Commune, Hamlet

RIBBON = "Demo data"


def _demo_snapshot():
    return (
        sorted(Commune.objects.values_list("code", *Commune.FIGURE_FIELDS, "figures_are_demo")),
        sorted(Hamlet.objects.values_list("commune__code", "name", "is_demo")),
        sorted(User.objects.values_list("username", "scope_level", "is_demo")),
    )


@pytest.mark.django_db
def test_seed_demo_fills_province_sized_figures_marked_as_demo(divisions):
    call_command("seed_demo", scale=0.02)

    totals = Commune.objects.aggregate(
        population=Sum("population"),
        households=Sum("households"),
        working=Sum("working_age_population"),
    )
    assert totals["population"] == pytest.approx(1_900_000, rel=0.01)
    assert totals["households"] == pytest.approx(600_000, rel=0.02)
    assert totals["working"] == pytest.approx(1_100_000, rel=0.05)
    assert not Commune.objects.filter(figures_are_demo=False).exists()
    statuses = set(
        Commune.objects.filter(kind="rural_commune").values_list("new_rural_status", flat=True)
    )
    assert {"advanced", "model"} <= statuses
    # Wards and townships are outside the new-rural programme.
    assert set(
        Commune.objects.exclude(kind="rural_commune").values_list("new_rural_status", flat=True)
    ) == {""}
    per_commune = Hamlet.objects.values("commune").annotate(n=Sum(1)).values_list("n", flat=True)
    assert len(per_commune) == 226 and min(per_commune) >= 3 and max(per_commune) <= 6
    assert not Hamlet.objects.filter(is_demo=False).exists()


@pytest.mark.django_db
def test_seed_demo_creates_a_login_for_each_role_with_a_scope(divisions, capsys):
    call_command("seed_demo", scale=0.02)

    out = capsys.readouterr().out
    printed = [line.strip().split(" / ")[0] for line in out.splitlines() if DEMO_PASSWORD in line]
    users = {u.username: u for u in User.objects.filter(username__in=printed)}
    assert set(users) == set(printed)
    assert {u.scope_level for u in users.values()} == {
        ScopeLevel.PROVINCE,
        ScopeLevel.DISTRICT,
        ScopeLevel.COMMUNE,
        ScopeLevel.TEAM,
    }
    for user in users.values():
        assert user.is_demo
        assert user.groups.count() == 1
        assert user.check_password(DEMO_PASSWORD)
    # The other team leaders' logins are demo logins too, with no password anyone knows.
    others = User.objects.filter(scope_level=ScopeLevel.TEAM).exclude(username__in=printed)
    assert others.exists()
    assert not others.filter(is_demo=False).exists()
    assert not any(user.has_usable_password() for user in others)


@pytest.mark.django_db
def test_a_second_seed_demo_run_changes_nothing(divisions):
    call_command("seed_demo", scale=0.02)
    before = _demo_snapshot()
    call_command("seed_demo", scale=0.02)
    assert _demo_snapshot() == before


@pytest.mark.django_db
def test_seed_demo_is_deterministic_for_a_seed(divisions):
    call_command("seed_demo", seed=7, scale=0.02)
    first = _demo_snapshot()[0]
    Commune.objects.update(
        **dict.fromkeys(Commune.FIGURE_FIELDS[:4]),
        new_rural_status="",
        new_rural_year=None,
        figures_are_demo=False,
    )
    call_command("seed_demo", seed=7, scale=0.02)
    assert _demo_snapshot()[0] == first
    Commune.objects.update(
        **dict.fromkeys(Commune.FIGURE_FIELDS[:4]),
        new_rural_status="",
        new_rural_year=None,
        figures_are_demo=False,
    )
    call_command("seed_demo", seed=8, scale=0.02)
    assert _demo_snapshot()[0] != first


@pytest.mark.django_db
def test_figures_an_admin_entered_survive_load_divisions_and_seed_demo(divisions, client):
    client.force_login(User.objects.create_superuser("root", password="x"))
    commune = Commune.objects.get(code=14269)
    response = client.post(
        reverse("admin:communes_commune_change", args=[commune.pk]),
        {
            "code": commune.code,
            "name": commune.name,
            "kind": commune.kind,
            "district": commune.district_id,
            "households": 1234,
            "hamlets-TOTAL_FORMS": 0,
            "hamlets-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302

    call_command("load_divisions")
    call_command("seed_demo", scale=0.02)

    commune.refresh_from_db()
    assert (commune.households, commune.population, commune.figures_are_demo) == (1234, None, False)
    assert Commune.objects.filter(figures_are_demo=True).count() == 225


@pytest.mark.django_db
def test_seed_demo_refuses_a_site_that_does_not_allow_demo_data(divisions, settings):
    settings.ALLOW_DEMO_DATA = False
    with pytest.raises(CommandError, match="ALLOW_DEMO_DATA"):
        call_command("seed_demo", scale=0.02)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_every_page_shows_the_demo_ribbon_while_demo_data_is_present(divisions, client):
    for url in ("/", reverse("login")):
        assert RIBBON not in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    call_command("seed_demo", scale=0.02)

    for url in ("/", reverse("login")):
        assert RIBBON in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
