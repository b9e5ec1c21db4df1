"""The server's side of the visit form without a signal (issue 19): the visit sent as JSON
by the phone's outbox, the choices the phone keeps, the outbox page, the CSRF refusal in
JSON, and the form travelling compressed.

The browser's side (IndexedDB, the service worker, the journeys) is e2e/test_offline.py.
"""

import datetime as dt
import gzip
import hashlib
import json
import re
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ScopeLevel
from accounts.tests.factories import UserFactory, district_staff, province_staff
from communes.models import Commune
from outreach.models import Household, Member, Service, Visit
from outreach.services import (
    member_create,
    member_deactivate,
    member_login_create,
    member_update,
    team_dissolve,
    visit_record,
)
from outreach.services.hamlets import hamlet_update
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from outreach.tests.factories import visit_form_data as _form

NEW = reverse("outreach:visit_new")
CHOICES = reverse("outreach:visit_choices_json")
OUTBOX = reverse("outreach:visit_outbox")
JSON = {"HTTP_ACCEPT": "application/json"}
LOGIN_TO_OUTBOX = "/accounts/login/?next=/visits/outbox/"
# The tables of the rows that the cache holds (outreach.selectors.visit_choices).
CACHED_TABLES = ("outreach_team", "outreach_member", "communes_hamlet", "outreach_service")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def day():
    return timezone.localdate() - dt.timedelta(days=2)


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong, name="Tổ công nghệ số Đông", formed_on=dt.date(2025, 3, 1))


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Đông")


@pytest.fixture
def leader_member(team):
    return MemberFactory(
        team=team, role=Member.Role.LEADER, phone="0912345678", full_name="Trần Văn Minh"
    )


@pytest.fixture
def helper_member(team):
    return MemberFactory(team=team, full_name="Phạm Thị Hoa")


@pytest.fixture
def leader(leader_member, helper_member, official):
    user, _password = member_login_create(by=official, member=leader_member)
    return user


@pytest.fixture
def other_team(hai_dong, official, hamlet):
    """Another team of the same commune, with its own leader and one visit."""
    other = TeamFactory(commune=hai_dong, name="Tổ công nghệ số Tây")
    member = MemberFactory(team=other, role=Member.Role.LEADER, phone="0987654321")
    user, _password = member_login_create(by=official, member=member)
    return other, user


def _messages_shown(client) -> str:
    """The messages a page shows next (the team's page, any page would do)."""
    page = client.get(reverse("outreach:visit_list")).content.decode()
    return " ".join(re.findall(r'<li class="message[^"]*">([^<]*)</li>', page))


# --- A visit sent as JSON -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_visit_sent_as_json_is_stored_and_answered_201_with_its_page(
    client, leader, team, hamlet, day
):
    client.force_login(leader)

    response = client.post(NEW, _form(team, hamlet, day), **JSON)

    visit = Visit.objects.get()
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    url = reverse("outreach:visit_detail", args=[visit.pk])
    assert response.json() == {"status": "stored", "id": visit.pk, "url": url}
    assert (visit.team, visit.created_by, visit.visited_on) == (team, leader, day)
    assert visit.household.address_label == "Số 12, ngõ 3"
    # Sent in the background: no "Visit saved." turns up later on an unrelated page.
    assert _messages_shown(client) == ""


@pytest.mark.django_db
def test_a_visit_saved_in_the_foreground_says_so_on_the_page_the_phone_opens(
    client, leader, team, hamlet, day
):
    client.force_login(leader)

    response = client.post(NEW, _form(team, hamlet, day), HTTP_X_VISIT_SUBMIT="foreground", **JSON)

    assert response.status_code == 201
    assert "Visit saved." in client.get(response.json()["url"]).content.decode()


@pytest.mark.django_db
def test_a_visit_sent_again_is_stored_once_and_answered_200_again(
    client, leader, team, hamlet, day
):
    client.force_login(leader)
    posted = _form(team, hamlet, day)
    first = client.post(NEW, posted, **JSON)

    again = client.post(NEW, posted, **JSON)

    assert again.status_code == 200
    assert again.json() == {**first.json(), "again": True}
    assert Visit.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_refused_visit_gets_the_html_forms_messages_in_the_readers_language(
    client, leader, team, hamlet, day, language
):
    client.force_login(leader)
    posted = _form(team, hamlet, day, members=[], residents_helped="99")

    answer = client.post(NEW, posted, HTTP_ACCEPT_LANGUAGE=language, **JSON)
    page = client.post(NEW, posted, HTTP_ACCEPT_LANGUAGE=language)

    assert answer.status_code == 400
    assert answer.json() == {
        "status": "invalid",
        "errors": {name: list(errors) for name, errors in page.context["form"].errors.items()},
    }
    assert set(answer.json()["errors"]) == {"members", "residents_helped"}
    assert not Visit.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("visited_on", "message"),
    [
        (dt.date(2025, 2, 1), "The team was formed on 01/03/2025, after this day."),
        # A phone whose clock is ahead: its today is the server's tomorrow (read when
        # the test runs: a run across midnight would otherwise post today).
        ("tomorrow", "A visit cannot be in the future."),
    ],
)
def test_the_services_refusal_is_told_beside_its_field_as_the_page_tells_it(
    client, leader, team, hamlet, visited_on, message
):
    if visited_on == "tomorrow":
        visited_on = timezone.localdate() + dt.timedelta(days=1)
    # The form accepts any day; the service refuses these.
    client.force_login(leader)
    posted = _form(team, hamlet, visited_on)

    answer = client.post(NEW, posted, **JSON)

    assert answer.status_code == 400
    assert answer.json() == {"status": "invalid", "errors": {"visited_on": [message]}}
    page = client.post(NEW, posted)
    assert page.context["form"].errors["visited_on"] == [message]
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_visit_that_lost_its_submission_id_is_told_so(client, leader, team, hamlet, day):
    client.force_login(leader)

    answer = client.post(NEW, _form(team, hamlet, day, submission_id="not-a-uuid"), **JSON)

    assert answer.status_code == 400
    assert answer.json()["errors"] == {
        "submission_id": ["The page was incomplete. Check what you typed and send it again."]
    }


@pytest.mark.django_db
def test_a_member_who_left_since_the_visit_was_queued_makes_it_need_attention(
    client, leader, official, team, hamlet, day, helper_member
):
    client.force_login(leader)
    queued = _form(team, hamlet, day)
    member_deactivate(by=official, member=helper_member, left_on=timezone.localdate())

    answer = client.post(NEW, queued, HTTP_ACCEPT_LANGUAGE="vi", **JSON)

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["members"]
    # Said in words the leader understands, not by the member's number.
    assert answer.json()["errors"]["members"] == [
        "Có người bạn chọn không còn là thành viên của tổ: hãy chọn lại người đi cùng."
    ]
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_the_same_id_with_other_content_is_a_conflict_that_names_the_visit_sent_before(
    client, leader, team, hamlet, day
):
    client.force_login(leader)
    posted = _form(team, hamlet, day)
    stored = client.post(NEW, posted, **JSON).json()

    answer = client.post(NEW, {**posted, "notes": "Sửa lại"}, **JSON)

    assert answer.status_code == 409
    assert answer.json() == {
        "status": "conflict",
        "reason": "This visit was already sent with different content. Nothing was saved or "
        "changed.",
        "visit_url": stored["url"],
    }
    assert Visit.objects.get().notes == "Hướng dẫn cài VNeID"


@pytest.mark.django_db
def test_another_teams_submission_id_is_a_conflict_that_names_no_visit(
    client, leader, team, hamlet, day, other_team
):
    other, other_leader = other_team
    submission_id = uuid.uuid4()
    visit_record(
        by=other_leader,
        team=other,
        submission_id=submission_id,
        hamlet=hamlet,
        address_label="Số 99, ngõ 9",
        data=VisitData(visited_on=day, members=list(other.members.all())),
    )
    client.force_login(leader)

    answer = client.post(NEW, _form(team, hamlet, day, submission_id=submission_id), **JSON)

    assert answer.status_code == 409
    assert answer.json()["visit_url"] is None
    assert not team.visits.exists()


@pytest.mark.django_db
def test_a_login_that_leads_no_team_is_refused_with_the_no_team_pages_words(
    client, team, hamlet, day
):
    # A leader's login (the team level) that no team names as its leader.
    client.force_login(UserFactory(scope_level=ScopeLevel.TEAM))

    answer = client.post(NEW, _form(team, hamlet, day), HTTP_ACCEPT_LANGUAGE="vi", **JSON)

    assert answer.status_code == 403
    assert answer.json() == {
        "status": "refused",
        "reason": "Tài khoản của bạn không phải tổ trưởng của một tổ đang hoạt động nên "
        "không thể ghi nhận lượt thăm hộ.",
    }
    # The page is as before.
    page = client.post(NEW, _form(team, hamlet, day))
    assert page.status_code == 403
    assert "not the leader of an active team" in page.content.decode()
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_role_that_logs_no_visits_is_refused_in_json(client, hai_dong, team, hamlet, day):
    client.force_login(district_staff(hai_dong.district))

    answer = client.post(NEW, _form(team, hamlet, day), **JSON)

    assert answer.status_code == 403
    assert answer.json() == {"status": "refused", "reason": "This page is not open to your role."}
    assert client.post(NEW, _form(team, hamlet, day)).status_code == 403
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_an_expired_session_is_told_where_to_log_in_and_the_visit_waits(client, team, hamlet, day):
    answer = client.post(NEW, _form(team, hamlet, day), **JSON)

    assert answer.status_code == 401
    assert answer.json() == {"status": "login", "login_url": LOGIN_TO_OUTBOX}
    assert not Visit.objects.exists()
    # The page still sends a browser without a script to the login, back to the form.
    page = client.post(NEW, _form(team, hamlet, day))
    assert page.status_code == 302
    assert page["Location"] == f"{reverse('login')}?next={NEW}"


@pytest.mark.django_db
def test_a_json_visit_costs_what_the_forms_does(client, leader, team, hamlet, day):
    """As test_visit_pages.py pins the form's: a new household's visit, then a return
    visit to it; the outbox's sends add no query."""
    client.force_login(leader)
    client.get(NEW)
    ContentType.objects.get_for_models(Household, Visit)
    new_household, return_visit = _form(team, hamlet, day), _form(team, hamlet, day)
    with CaptureQueriesContext(connection) as first:
        assert client.post(NEW, new_household, **JSON).status_code == 201
    with CaptureQueriesContext(connection) as again:
        response = client.post(NEW, return_visit, HTTP_X_VISIT_SUBMIT="foreground", **JSON)
        assert response.status_code == 201
    assert (len(first), len(again)) == (16, 12)


# --- CSRF: the token comes with the choices ------------------------------------------------


@pytest.fixture
def strict_client(leader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(leader)
    return client


@pytest.mark.django_db
def test_a_visit_sent_with_the_token_of_the_choices_is_stored(strict_client, team, hamlet, day):
    token = strict_client.get(CHOICES, **JSON)["X-CSRFToken"]

    answer = strict_client.post(NEW, _form(team, hamlet, day), HTTP_X_CSRFTOKEN=token, **JSON)

    assert answer.status_code == 201
    assert Visit.objects.count() == 1


@pytest.mark.django_db
def test_a_visit_sent_without_a_valid_token_is_refused_in_json_and_not_stored(
    strict_client, team, hamlet, day
):
    strict_client.get(CHOICES, **JSON)  # the cookie is set; the header is missing

    answer = strict_client.post(NEW, _form(team, hamlet, day), **JSON)
    page = strict_client.post(NEW, _form(team, hamlet, day))

    assert answer.status_code == 403
    assert answer.json() == {
        "status": "csrf",
        "reason": "The portal could not check that this was sent from its own page. Send it again.",
    }
    # A page's post is refused with Django's page, as before.
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
    assert "CSRF" in page.content.decode()
    assert not Visit.objects.exists()


# --- The choices the phone keeps ----------------------------------------------------------


@pytest.mark.django_db
def test_the_choices_are_the_leaders_team_its_hamlets_members_services_and_outcomes(
    client, leader, team, hamlet, leader_member, helper_member
):
    client.force_login(leader)

    response = client.get(CHOICES, **JSON)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["user"] == {"id": leader.pk, "name": "Trần Văn Minh"}
    assert body["team"] == {
        "id": team.pk,
        "name": "Tổ công nghệ số Đông",
        "formed_on": "2025-03-01",
        "commune": {"code": 14269, "name": "Xã Hải Đông"},
    }
    assert body["hamlets"] == [{"id": hamlet.pk, "name": "Đông"}]
    assert sorted(body["members"], key=lambda m: m["id"]) == [
        {"id": leader_member.pk, "name": "Trần Văn Minh"},
        {"id": helper_member.pk, "name": "Phạm Thị Hoa"},
    ]
    portal = Service.objects.get(code="portal_account")
    assert {
        "id": portal.pk,
        "code": "portal_account",
        "label": "Public-service portal account",
    } in (body["services"])
    assert len(body["services"]) == Service.objects.filter(is_active=True).count()
    assert body["outcomes"][0] == {"value": "helped", "label": "Helped hands-on"}
    assert [o["value"] for o in body["outcomes"]] == list(Visit.Outcome.values)


@pytest.mark.django_db
def test_the_choices_carry_their_etag_a_fresh_token_and_the_login(client, leader, hamlet):
    client.force_login(leader)

    response = client.get(CHOICES, **JSON)

    assert response["ETag"] == f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    assert response["Cache-Control"] == "private, no-cache"
    vary = {v.strip() for v in response["Vary"].split(",")}
    assert {"Cookie", "Accept-Language"} <= vary
    assert response["X-Portal-User"] == str(leader.pk)
    assert len(response["X-CSRFToken"]) == 64


@pytest.mark.django_db
def test_the_choices_in_vietnamese_have_their_own_labels_and_etag(client, leader, hamlet):
    client.force_login(leader)

    english = client.get(CHOICES, HTTP_ACCEPT_LANGUAGE="en", **JSON)
    vietnamese = client.get(CHOICES, HTTP_ACCEPT_LANGUAGE="vi", **JSON)

    assert vietnamese.json()["outcomes"][0]["label"] == "Đã hướng dẫn trực tiếp"
    services = {s["code"]: s["label"] for s in vietnamese.json()["services"]}
    assert services["portal_account"] == "Tài khoản Cổng dịch vụ công"
    assert english.json()["outcomes"][0]["label"] == "Helped hands-on"
    assert english["ETag"] != vietnamese["ETag"]


@pytest.mark.django_db
def test_unchanged_choices_cost_nothing_but_the_headers(client, leader, hamlet):
    client.force_login(leader)
    first = client.get(CHOICES, **JSON)

    again = client.get(CHOICES, HTTP_IF_NONE_MATCH=first["ETag"], **JSON)
    # GZipMiddleware makes the ETag of a compressed answer weak: it matches as well.
    weak = client.get(CHOICES, HTTP_IF_NONE_MATCH=f"W/{first['ETag']}", **JSON)

    for answer in (again, weak):
        assert answer.status_code == 304
        assert answer.content == b""
        assert answer["ETag"] == first["ETag"]
        assert answer["X-Portal-User"] == str(leader.pk)
        assert len(answer["X-CSRFToken"]) == 64


@pytest.mark.django_db
def test_changed_choices_are_sent_again_with_a_new_etag(client, leader, official, team, hamlet):
    client.force_login(leader)
    before = client.get(CHOICES, **JSON)

    newcomer = member_create(
        by=official,
        team=team,
        full_name="Trần Văn Mới",
        role=Member.Role.MEMBER,
        joined_on=timezone.localdate() - dt.timedelta(days=3),
    )
    after_join = client.get(CHOICES, HTTP_IF_NONE_MATCH=before["ETag"], **JSON)
    hamlet_update(by=official, hamlet=hamlet, name="Đông Nam", is_active=True)
    after_rename = client.get(CHOICES, HTTP_IF_NONE_MATCH=after_join["ETag"], **JSON)

    assert after_join.status_code == 200
    assert {"id": newcomer.pk, "name": "Trần Văn Mới"} in after_join.json()["members"]
    assert after_rename.status_code == 200
    assert after_rename.json()["hamlets"] == [{"id": hamlet.pk, "name": "Đông Nam"}]
    assert len({before["ETag"], after_join["ETag"], after_rename["ETag"]}) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_form_page_names_the_etag_of_the_choices_it_was_made_with(
    client, leader, hamlet, language
):
    client.force_login(leader)

    page = client.get(NEW, HTTP_ACCEPT_LANGUAGE=language)
    choices = client.get(CHOICES, HTTP_ACCEPT_LANGUAGE=language, **JSON)

    assert f'"{page.context["choices_etag"]}"' == choices["ETag"]


@pytest.mark.django_db
def test_a_leader_gets_only_their_own_teams_choices(
    client, leader, team, hamlet, other_team, divisions
):
    other, other_leader = other_team
    elsewhere = Commune.objects.get(code=13636)
    far_hamlet = HamletFactory(commune=elsewhere, name="Thôn Xa")
    client.force_login(other_leader)

    body = client.get(CHOICES, **JSON).json()

    assert body["team"]["id"] == other.pk
    assert {m["id"] for m in body["members"]} == set(other.members.values_list("pk", flat=True))
    # The commune's hamlets, shared by its teams; none of another commune.
    assert far_hamlet.pk not in {h["id"] for h in body["hamlets"]}
    assert body["hamlets"] == [{"id": hamlet.pk, "name": "Đông"}]


@pytest.mark.django_db
def test_other_roles_are_refused_the_choices_in_json(client, official, hai_dong, hamlet):
    others = [
        official,
        district_staff(hai_dong.district),
        province_staff(hai_dong.district.province),
        UserFactory(),  # a login with no scope
    ]
    for user in others:
        client.force_login(user)
        answer = client.get(CHOICES, **JSON)
        assert answer.status_code == 403, user
        assert answer.json()["status"] == "refused"
        assert "X-CSRFToken" not in answer


@pytest.mark.django_db
def test_anonymous_visitors_are_told_where_to_log_in(client):
    answer = client.get(CHOICES, **JSON)

    assert answer.status_code == 401
    assert answer.json() == {"status": "login", "login_url": LOGIN_TO_OUTBOX}
    # A browser that opens the address itself is sent to the login page.
    assert client.get(CHOICES)["Location"] == f"{reverse('login')}?next={CHOICES}"


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["made a member", "left", "team dissolved"])
def test_a_leader_who_left_the_team_is_told_no_team_so_that_the_phone_forgets(
    client, leader, official, leader_member, team, hamlet, how
):
    client.force_login(leader)
    assert client.get(CHOICES, **JSON).status_code == 200
    # Each switches the leader's login off (outreach.services.teams).
    if how == "made a member":
        member_update(by=official, member=leader_member, role=Member.Role.MEMBER)
    elif how == "left":
        member_deactivate(by=official, member=leader_member, left_on=timezone.localdate())
    else:
        team_dissolve(by=official, team=team, dissolved_on=timezone.localdate())

    answer = client.get(CHOICES, HTTP_ACCEPT_LANGUAGE="vi", **JSON)

    assert answer.status_code == 403
    assert answer.json() == {
        "status": "no_team",
        "reason": "Tài khoản của bạn không phải tổ trưởng của một tổ đang hoạt động nên "
        "không thể ghi nhận lượt thăm hộ.",
    }
    assert "X-CSRFToken" not in answer


@pytest.mark.django_db
def test_a_login_without_a_team_is_told_no_team(client, hamlet):
    client.force_login(UserFactory(scope_level=ScopeLevel.TEAM))

    answer = client.get(CHOICES, **JSON)

    assert answer.status_code == 403
    assert answer.json()["status"] == "no_team"


@pytest.mark.django_db
def test_a_session_that_expired_is_told_to_log_in_not_no_team(client, leader, hamlet):
    client.force_login(leader)
    client.cookies["sessionid"] = "expired"

    answer = client.get(CHOICES, **JSON)

    assert answer.status_code == 401
    assert answer.json() == {"status": "login", "login_url": LOGIN_TO_OUTBOX}


@pytest.mark.django_db
def test_the_choices_read_nothing_the_cache_holds(client, leader, hamlet):
    client.force_login(leader)
    first = client.get(CHOICES, **JSON)

    with CaptureQueriesContext(connection) as warm:
        assert client.get(CHOICES, **JSON).status_code == 200
    with CaptureQueriesContext(connection) as unchanged:
        assert client.get(CHOICES, HTTP_IF_NONE_MATCH=first["ETag"], **JSON).status_code == 304

    assert not any(
        f'FROM "{table}"' in query["sql"]
        for query in [*warm, *unchanged]
        for table in CACHED_TABLES
    )
    # The session and the user.
    assert (len(warm), len(unchanged)) == (2, 2)


# --- The outbox page ------------------------------------------------------------------------


# The texts the contract with the script names (static/js/offline/outbox-page.js).
OUTBOX_TEXTS = {
    "waiting",
    "sending",
    "sent",
    "attention",
    "open",
    "discard",
    "discard-confirm",
    "view",
    "login",
    "login-link",
    "offline",
    "sent-count",
    "new-household",
    "no-address",
    "left-team",
    "other-user",
    "saved-offline",
    "saved-offline-count",
    "login-url",
    "visit-new-url",
}


def _texts(html: str) -> dict[str, str]:
    """The texts the outbox page hands its script (the data-* of #outbox-texts)."""
    tag = html.split('id="outbox-texts"')[1].split(">", 1)[0]
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))


@pytest.mark.django_db
def test_the_outbox_page_is_a_shell_the_phone_fills_with_its_texts(
    client, leader, team, hamlet, day
):
    client.force_login(leader)
    client.post(NEW, _form(team, hamlet, day))

    page = client.get(OUTBOX)

    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Visits waiting to be sent</h1>" in html
    assert "kept on this phone, for your login only" in html
    assert 'id="outbox-send"' in html and 'id="outbox-list"' in html
    texts = _texts(html)
    assert set(texts) >= OUTBOX_TEXTS
    assert texts["waiting"] == "Waiting to be sent"
    assert texts["discard-confirm"] == "Discard this visit? It will not be sent."
    assert texts["login-url"] == LOGIN_TO_OUTBOX
    assert texts["visit-new-url"] == NEW
    assert "{count}" in texts["sent-count"] and "{count}" in texts["saved-offline-count"]
    assert all(texts.values())
    assert "js/offline/outbox-page.js" in html
    # Nothing of the visits: they are on the phone, not here.
    assert "Số 12, ngõ 3" not in html


@pytest.mark.django_db
def test_the_outbox_page_is_in_vietnamese_by_default(client, leader, settings):
    settings.LANGUAGE_CODE = "vi"
    client.force_login(leader)

    html = client.get(OUTBOX).content.decode()

    assert _texts(html)["login-link"] == "Đăng nhập"
    assert '<html lang="vi">' in html


@pytest.mark.django_db
def test_the_outbox_page_is_for_those_who_log_visits(client, official):
    assert client.get(OUTBOX)["Location"] == f"{reverse('login')}?next={OUTBOX}"
    client.force_login(official)
    assert client.get(OUTBOX).status_code == 403


# --- The form travels compressed --------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_travels_compressed_in_a_few_kilobytes(client, leader, hamlet):
    client.force_login(leader)

    plain = client.get(NEW)
    compressed = client.get(NEW, HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    assert b"<form" in gzip.decompress(compressed.content)
    assert len(compressed.content) < min(10_000, len(plain.content) / 3)


@pytest.mark.django_db
def test_the_choices_travel_compressed_with_a_weak_etag_that_still_matches(
    client, leader, hamlet, helper_member
):
    client.force_login(leader)
    plain = client.get(CHOICES, **JSON)

    compressed = client.get(CHOICES, HTTP_ACCEPT_ENCODING="gzip", **JSON)

    assert compressed["Content-Encoding"] == "gzip"
    assert compressed["ETag"] == f"W/{plain['ETag']}"
    assert json.loads(gzip.decompress(compressed.content)) == plain.json()
    unchanged = client.get(
        CHOICES, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=compressed["ETag"], **JSON
    )
    assert unchanged.status_code == 304
