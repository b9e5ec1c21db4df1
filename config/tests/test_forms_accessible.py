"""The forms people fill in on a phone, as a screen reader presents them.

Every visible field has a name a screen reader can say (a <label for>, a wrapping
<label>, aria-label or aria-labelledby). A form sent back with errors says so in an
alert, and every field in error is marked invalid and described by its own message.
"""

import datetime as dt
from collections.abc import Iterator

import pytest
from django.test import Client
from django.test.html import Element, parse_html
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune
from outreach.models import Member, Service
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

HAI_DONG = 14269
FIELD_TAGS = {"input", "select", "textarea"}
NOT_FIELDS = {"hidden", "submit", "button", "reset", "image"}


def _walk(node, ancestors: tuple = ()) -> Iterator[tuple[Element, tuple]]:
    """Every element of the tree, with the elements around it (innermost last)."""
    for child in node.children:
        if isinstance(child, Element):
            yield child, ancestors
            yield from _walk(child, (*ancestors, child))


def _attrs(element: Element) -> dict[str, str]:
    return {name: value or "" for name, value in element.attributes}


def _text(element: Element) -> str:
    pieces = []
    for child in element.children:
        pieces.append(_text(child) if isinstance(child, Element) else str(child))
    return " ".join(" ".join(pieces).split())


def _main_forms(html: str) -> list[Element]:
    """The forms inside <main>: the header's logout and language forms are buttons only."""
    tree = parse_html(html)
    mains = [element for element, _around in _walk(tree) if element.name == "main"]
    if isinstance(tree, Element) and tree.name == "main":
        mains.append(tree)
    assert len(mains) == 1
    return [element for element, _around in _walk(mains[0]) if element.name == "form"]


def unnamed_fields(html: str) -> list[str]:
    """The visible fields of the page's forms that have no accessible name."""
    tree = parse_html(html)
    elements = list(_walk(tree))
    labelled = {_attrs(e).get("for") for e, _around in elements if e.name == "label"}
    ids = {_attrs(e).get("id"): e for e, _around in elements if _attrs(e).get("id")}
    unnamed = []
    for form in _main_forms(html):
        for element, around in _walk(form):
            attrs = _attrs(element)
            if element.name not in FIELD_TAGS or attrs.get("type") in NOT_FIELDS:
                continue
            named = (
                (attrs.get("id") and attrs["id"] in labelled)
                or any(a.name == "label" and "for" not in _attrs(a) for a in around)
                or attrs.get("aria-label", "").strip()
                or any(_text(ids[i]) for i in attrs.get("aria-labelledby", "").split() if i in ids)
            )
            if not named:
                unnamed.append(f"{element.name} {attrs.get('name')}")
    return unnamed


def unannounced_errors(html: str, fields: list[str]) -> list[str]:
    """What is missing for the errors of these fields (by name) to be announced."""
    tree = parse_html(html)
    elements = list(_walk(tree))
    ids = {_attrs(e).get("id"): e for e, _around in elements if _attrs(e).get("id")}
    missing = []
    alerts = [
        e
        for e, _around in elements
        if _attrs(e).get("role") == "alert" or _attrs(e).get("aria-live") in ("polite", "assertive")
    ]
    if not any(_text(alert) for alert in alerts):
        missing.append("no alert")
    for name in fields:
        widgets = [
            (e, around)
            for e, around in elements
            if e.name in FIELD_TAGS and _attrs(e).get("name") == name
        ]
        if not widgets:
            missing.append(f"{name}: no field")
            continue
        for widget, around in widgets:
            attrs = _attrs(widget)
            if attrs.get("aria-invalid") != "true":
                missing.append(f"{name}: not aria-invalid")
            # A group of choices is described as a whole, on its fieldset.
            group = next((a for a in reversed(around) if a.name == "fieldset"), None)
            described_by = _attrs(group if group is not None else widget).get("aria-describedby")
            messages = [ids[i] for i in (described_by or "").split() if i in ids]
            announced = [
                m
                for m in messages
                if _text(m)
                and (_attrs(m).get("role") == "alert" or any(m in alert for alert in alerts))
            ]
            if not announced:
                missing.append(f"{name}: not described by an announced message")
    return sorted(set(missing))


@pytest.fixture
def place(divisions):
    commune = Commune.objects.get(code=HAI_DONG)
    hamlet = HamletFactory(commune=commune, name="Thôn Đông")
    team = TeamFactory(commune=commune, hamlet=hamlet, name="Tổ Đông")
    leader_member = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912000111")
    leader, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader_member)
    return {
        "team": team,
        "member": leader_member,
        "leader": leader,
        "official": commune_official(commune),
    }


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


FORMS = {
    "login": (None, lambda p: reverse("login")),
    "visit form": ("leader", lambda p: reverse("outreach:visit_new")),
    "team form": ("official", lambda p: reverse("outreach:team_create")),
    "team edit": ("official", lambda p: reverse("outreach:team_edit", args=[p["team"].pk])),
    "member form": ("official", lambda p: reverse("outreach:member_create", args=[p["team"].pk])),
    "member edit": ("official", lambda p: reverse("outreach:member_edit", args=[p["member"].pk])),
    "training form": ("official", lambda p: reverse("trainings:session_create")),
    "member import": ("official", lambda p: reverse("outreach:member_import_new")),
}


def test_every_field_of_the_forms_has_a_name_a_screen_reader_can_say(place):
    found = {}
    for page, (who, url) in FORMS.items():
        response = _client(place.get(who)).get(url(place))
        assert response.status_code == 200, page
        assert _main_forms(response.content.decode()), page
        found[page] = unnamed_fields(response.content.decode())

    assert found == {page: [] for page in FORMS}


def test_the_check_finds_a_field_without_a_name():
    html = """<main><form><label for="a">A</label><input id="a" name="a">
    <label><input type="checkbox" name="b"> B</label><input name="c" aria-label="C">
    <span id="d-name">D</span><select name="d" aria-labelledby="d-name"></select>
    <input name="e" placeholder="only a placeholder"><textarea name="f"></textarea>
    <input type="hidden" name="g"></form></main>"""

    assert unnamed_fields(html) == ["input e", "textarea f"]


def _post(client: Client, url: str, data: dict) -> str:
    response = client.post(url, data)
    assert response.status_code == 200, response.status_code  # sent back, not saved
    return response.content.decode()


def test_a_form_sent_back_with_errors_announces_them_beside_each_field(place):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    leader, official = _client(place["leader"]), _client(place["official"])
    visit_page = leader.get(reverse("outreach:visit_new"))
    submission = visit_page.context["form"]["submission_id"].value()
    visit = {
        "consent": "given",
        "visited_on": timezone.localdate().isoformat(),
        "hamlet": place["team"].hamlet_id,
        "address_label": "Số 1, ngõ 2",
        "members": [place["member"].pk],
        "residents_helped": "1",
        "services": [Service.objects.get(code="portal_account").pk],
        "outcome": "helped",
    }
    sent = {
        "login, nothing typed": (
            _post(_client(), reverse("login"), {"username": "", "password": ""}),
            ["username", "password"],
        ),
        "login, wrong password": (
            _post(_client(), reverse("login"), {"username": "0912000111", "password": "x"}),
            [],
        ),
        "visit with nobody who went": (
            _post(
                leader,
                reverse("outreach:visit_new"),
                {**visit, "submission_id": submission, "hamlet": "", "members": []},
            ),
            ["hamlet", "members"],
        ),
        # Refused by the service once the form is valid, and shown beside the date.
        "visit in the future": (
            _post(
                leader,
                reverse("outreach:visit_new"),
                {**visit, "submission_id": submission, "visited_on": tomorrow.isoformat()},
            ),
            ["visited_on"],
        ),
        "team without a name": (
            _post(official, reverse("outreach:team_create"), {"name": "", "formed_on": ""}),
            ["name", "formed_on"],
        ),
        "member without a name": (
            _post(
                official,
                reverse("outreach:member_create", args=[place["team"].pk]),
                {"full_name": "", "phone": "12"},
            ),
            ["full_name", "phone"],
        ),
    }

    found = {case: unannounced_errors(html, fields) for case, (html, fields) in sent.items()}

    assert found == {case: [] for case in sent}


def test_the_check_finds_an_error_nobody_hears():
    silent = """<main><form><label for="n">Name</label><input id="n" name="n" aria-invalid="true"
    aria-describedby="n_error"><div class="field-error" id="n_error">Required.</div>
    <label for="m">M</label><input id="m" name="m"><div>Required.</div></form></main>"""

    assert unannounced_errors(silent, ["n", "m"]) == [
        "m: not aria-invalid",
        "m: not described by an announced message",
        "n: not described by an announced message",
        "no alert",
    ]
