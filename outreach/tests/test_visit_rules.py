"""What a visit says agrees with its outcome, in the form and in the service alike; a
declining household's address is never dropped without telling the leader; a leader sees
until when a visit can be changed, and when that time is over."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from outreach.models import READINESS_FIELDS, Household, Service, Visit
from outreach.services import visit_record, visit_update
from outreach.services.visits import EDIT_WINDOW, OUTCOME_RULES, VisitData

NEW = reverse("outreach:visit_new")
HELPED, INFORMED = Visit.Outcome.HELPED, Visit.Outcome.INFORMED
NOT_HOME, DECLINED = Visit.Outcome.NOT_HOME, Visit.Outcome.DECLINED
PORTAL = "portal_account"

# Each contradiction: the outcome, what the visit says against it, and the field it is
# refused beside. Everything not said is what the outcome allows (_content).
CONTRADICTIONS = [
    pytest.param(HELPED, {"residents_helped": 0}, "residents_helped", id="helped-nobody"),
    pytest.param(HELPED, {"services": []}, "services", id="helped-with-nothing"),
    pytest.param(NOT_HOME, {"residents_helped": 3}, "residents_helped", id="not-home-residents"),
    pytest.param(NOT_HOME, {"services": [PORTAL]}, "services", id="not-home-service"),
    pytest.param(
        NOT_HOME, {"readiness": {"has_smartphone": True}}, "has_smartphone", id="not-home-answer"
    ),
    pytest.param(
        NOT_HOME, {"readiness": {"knows_scams": False}}, "knows_scams", id="not-home-no-answer"
    ),
    pytest.param(DECLINED, {"residents_helped": 1}, "residents_helped", id="declined-residents"),
    pytest.param(DECLINED, {"services": [PORTAL]}, "services", id="declined-service"),
]
# What each outcome allows, with the readiness answers a household can give.
ACCEPTED = [
    pytest.param(
        HELPED,
        {"residents_helped": 2, "services": [PORTAL], "readiness": {"has_smartphone": True}},
        id="helped",
    ),
    pytest.param(INFORMED, {"residents_helped": 0, "services": []}, id="informed-only"),
    pytest.param(
        INFORMED,
        {"residents_helped": 1, "services": [PORTAL], "readiness": {"vneid_level2": False}},
        id="informed-about-a-service",
    ),
    pytest.param(NOT_HOME, {"residents_helped": 0, "services": []}, id="not-home"),
    pytest.param(
        DECLINED,
        {"residents_helped": 0, "services": [], "readiness": {"mobile_banking": True}},
        id="declined-but-answered",
    ),
]


def _content(outcome: str, said: dict) -> dict:
    """What a visit with this outcome says: what it allows, then `said` over it."""
    helped = OUTCOME_RULES[outcome].helped
    content = {
        "residents_helped": 2 if helped else 0,
        "services": [PORTAL] if helped else [],
        "readiness": {},
    }
    return {**content, **said, "outcome": outcome}


def _data(team, content: dict) -> VisitData:
    return VisitData(
        visited_on=timezone.localdate() - dt.timedelta(days=1),
        members=list(team.members.filter(is_active=True)),
        services=list(Service.objects.filter(code__in=content["services"])),
        residents_helped=content["residents_helped"],
        outcome=content["outcome"],
        readiness=content["readiness"],
    )


def _answer(value: bool | None) -> str:
    return {True: "yes", False: "no", None: ""}[value]


def _post(team, hamlet, content: dict, **overrides) -> dict:
    """What the phone form sends for a new household that agreed to be recorded."""
    values = {
        "submission_id": str(uuid.uuid4()),
        "consent": Household.Consent.GIVEN,
        "visited_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "hamlet": str(hamlet.pk),
        "address_label": "Số 12, ngõ Chùa",
        "head_name": "Lê Văn Tâm",
        "members": [str(m.pk) for m in team.members.filter(is_active=True)],
        "residents_helped": str(content["residents_helped"]),
        "services": [str(s.pk) for s in Service.objects.filter(code__in=content["services"])],
        "outcome": content["outcome"],
        "notes": "Hẹn quay lại thứ Bảy",
        **{item: _answer(content["readiness"].get(item)) for item in READINESS_FIELDS},
    }
    values.update(overrides)
    return values


def _record(leader, team, hamlet, content: dict) -> Visit:
    visit, _created = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label="Số 12, ngõ Chùa",
        data=_data(team, content),
        consent=Household.Consent.GIVEN,
    )
    return visit


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


# The rule itself -------------------------------------------------------------------------


def test_every_outcome_has_a_rule():
    assert set(OUTCOME_RULES) == set(Visit.Outcome)


# The service: what every writer goes through ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("outcome", "said", "field"), CONTRADICTIONS)
def test_the_service_refuses_a_contradiction_beside_its_field_and_stores_nothing(
    english, leader, team, hamlet, outcome, said, field
):
    with pytest.raises(ValidationError) as refused:
        _record(leader, team, hamlet, _content(outcome, said))

    assert list(refused.value.message_dict) == [field]
    assert str(Visit.Outcome(outcome).label) in refused.value.message_dict[field][0]
    assert not Visit.objects.exists() and not Household.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("outcome", "said"), ACCEPTED)
def test_the_service_stores_what_each_outcome_allows(english, leader, team, hamlet, outcome, said):
    content = _content(outcome, said)

    visit = _record(leader, team, hamlet, content)

    assert (visit.outcome, visit.residents_helped) == (outcome, content["residents_helped"])
    assert sorted(visit.services.values_list("code", flat=True)) == content["services"]


@pytest.mark.django_db
def test_an_edit_must_keep_the_rule_and_changes_nothing_when_it_does_not(
    english, leader, team, hamlet
):
    visit = _record(leader, team, hamlet, _content(HELPED, {}))
    nobody_home_yet_helped = _content(NOT_HOME, {"residents_helped": 2, "services": [PORTAL]})

    with pytest.raises(ValidationError) as refused:
        visit_update(
            by=leader,
            visit=visit,
            hamlet=hamlet,
            address_label="Số 12, ngõ Chùa",
            data=_data(team, nobody_home_yet_helped),
        )

    assert set(refused.value.message_dict) == {"residents_helped", "services"}
    visit.refresh_from_db()
    assert (visit.outcome, visit.residents_helped) == (HELPED, 2)
    assert list(visit.services.values_list("code", flat=True)) == [PORTAL]


# The form: the same rule, beside the field, with what was typed kept ----------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("outcome", "said", "field"), CONTRADICTIONS)
def test_the_form_refuses_a_contradiction_beside_its_field_and_keeps_what_was_typed(
    english, client, leader, team, hamlet, outcome, said, field
):
    client.force_login(leader)
    posted = _post(team, hamlet, _content(outcome, said))

    response = client.post(NEW, posted)

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert str(Visit.Outcome(outcome).label) in form.errors[field][0]
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert 'value="Số 12, ngõ Chùa"' in page and "Hẹn quay lại thứ Bảy" in page
    for name in ("residents_helped", "services", "outcome", *READINESS_FIELDS):
        assert form[name].value() == posted[name], name
    assert not Visit.objects.exists() and not Household.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("outcome", "said"), ACCEPTED)
def test_the_form_saves_what_each_outcome_allows(
    english, client, leader, team, hamlet, outcome, said
):
    client.force_login(leader)

    response = client.post(NEW, _post(team, hamlet, _content(outcome, said)))

    assert response.status_code == 302
    assert Visit.objects.get().outcome == outcome


@pytest.mark.django_db
def test_nobody_at_home_with_residents_and_a_service_is_refused_in_vietnamese(
    client, leader, team, hamlet
):
    """Waits on the catalogue: the messages' Vietnamese (reported with issue 18)."""
    client.force_login(leader)
    contradiction = _content(NOT_HOME, {"residents_helped": 3, "services": [PORTAL]})

    response = client.post(NEW, _post(team, hamlet, contradiction), HTTP_ACCEPT_LANGUAGE="vi")

    errors = response.context["form"].errors
    assert set(errors) == {"residents_helped", "services"}
    for message in (errors["residents_helped"][0], errors["services"][0]):
        assert "Không có ai ở nhà" in message
        assert "means" not in message and "outcome" not in message


@pytest.mark.django_db
def test_a_stored_visit_that_breaks_the_rule_opens_and_is_saved_once_it_keeps_it(
    english, client, leader, team, hamlet
):
    # Recorded before the rule: nobody at home, yet two residents helped with a service.
    visit = _record(leader, team, hamlet, _content(HELPED, {}))
    Visit.objects.filter(pk=visit.pk).update(outcome=NOT_HOME)
    client.force_login(leader)
    edit = reverse("outreach:visit_edit", args=[visit.pk])

    opened = client.get(edit)
    assert opened.status_code == 200
    assert opened.context["form"].initial["outcome"] == NOT_HOME

    as_stored = _post(
        team, hamlet, _content(NOT_HOME, {"residents_helped": 2, "services": [PORTAL]})
    )
    refused = client.post(edit, as_stored)
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"residents_helped", "services"}
    visit.refresh_from_db()
    assert visit.outcome == NOT_HOME

    corrected = client.post(edit, {**as_stored, "outcome": HELPED})
    assert corrected.status_code == 302
    visit.refresh_from_db()
    assert visit.outcome == HELPED


# A household that declines to be recorded --------------------------------------------------


def _declined(team, hamlet, **overrides) -> dict:
    return _post(
        team, hamlet, _content(HELPED, {}), consent=Household.Consent.DECLINED, **overrides
    )


@pytest.mark.django_db
def test_the_confirmation_is_hidden_until_a_declining_household_has_an_address_typed(
    english, client, leader
):
    client.force_login(leader)

    page = client.get(NEW).content.decode()

    assert 'id="address-dropped"' in page
    assert 'id="address-dropped" data-declined="declined" hidden' in page


@pytest.mark.django_db
def test_a_declining_household_with_an_address_is_warned_first_and_nothing_is_stored(
    english, client, leader, team, hamlet
):
    client.force_login(leader)

    response = client.post(NEW, _declined(team, hamlet))

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["address_label"]
    assert "will not be kept" in form.errors["address_label"][0]
    page = response.content.decode()
    # The warning beside the address, the box to confirm shown, what was typed kept.
    assert 'id="id_address_label_error"' in page
    assert 'id="address-dropped" data-declined="declined">' in page
    assert 'name="drop_address"' in page
    assert 'value="Số 12, ngõ Chùa"' in page and 'value="Lê Văn Tâm"' in page
    assert not Visit.objects.exists() and not Household.objects.exists()


@pytest.mark.django_db
def test_a_declining_household_with_only_a_name_is_warned_beside_the_name(
    english, client, leader, team, hamlet
):
    client.force_login(leader)

    response = client.post(NEW, _declined(team, hamlet, address_label=""))

    assert list(response.context["form"].errors) == ["head_name"]
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_once_confirmed_the_visit_is_stored_without_the_address_or_name(
    english, client, leader, team, hamlet
):
    client.force_login(leader)

    response = client.post(NEW, _declined(team, hamlet, drop_address="on"))

    assert response.status_code == 302
    household = Visit.objects.get().household
    assert household.address_label == f"#{household.pk}" and household.head_name == ""
    assert household.consent == Household.Consent.DECLINED
    assert not Household.objects.filter(address_label__icontains="Chùa").exists()


# How long a leader may change a visit ------------------------------------------------------


def _entered_at_evening_utc(days_ago: int) -> dt.datetime:
    """20:30 UTC, already the next morning in Nam Định: the day shown must be the local one."""
    day = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(20, 30), tzinfo=dt.UTC)


def _local_day(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y")


@pytest.mark.django_db
def test_a_leader_sees_until_when_a_visit_can_be_changed(english, client, leader, team, hamlet):
    visit = _record(leader, team, hamlet, _content(HELPED, {}))
    entered = _entered_at_evening_utc(days_ago=2)
    Visit.objects.filter(pk=visit.pk).update(created_at=entered)
    client.force_login(leader)

    page = client.get(reverse("outreach:visit_detail", args=[visit.pk])).content.decode()

    closes = entered + EDIT_WINDOW
    assert f"Editable until {_local_day(closes)}" in page
    assert _local_day(closes) != closes.strftime("%d/%m/%Y")  # the local day, not UTC's
    assert reverse("outreach:visit_edit", args=[visit.pk]) in page
    assert "editing window closed" not in page


@pytest.mark.django_db
def test_once_the_window_has_closed_the_page_says_so_where_the_buttons_were(
    english, client, leader, team, hamlet
):
    visit = _record(leader, team, hamlet, _content(HELPED, {}))
    entered = _entered_at_evening_utc(days_ago=30)
    Visit.objects.filter(pk=visit.pk).update(created_at=entered)
    client.force_login(leader)

    page = client.get(reverse("outreach:visit_detail", args=[visit.pk])).content.decode()

    days = EDIT_WINDOW.days
    closed = _local_day(entered + EDIT_WINDOW)
    assert f"The {days}-day editing window closed on {closed}." in page
    assert reverse("outreach:visit_edit", args=[visit.pk]) not in page
    assert reverse("outreach:visit_delete", args=[visit.pk]) not in page
    assert "Editable until" not in page


@pytest.mark.django_db
def test_no_window_is_shown_to_whom_none_applies(english, client, leader, official, team, hamlet):
    visit = _record(leader, team, hamlet, _content(HELPED, {}))
    Visit.objects.filter(pk=visit.pk).update(created_at=_entered_at_evening_utc(days_ago=30))
    client.force_login(official)

    page = client.get(reverse("outreach:visit_detail", args=[visit.pk])).content.decode()

    assert "Editable until" not in page and "editing window" not in page
