"""Every form a user can send, fuzzed: whatever is typed or posted, the portal never
answers with a server error, and a form it refuses stores nothing.

Each form gets two kinds of input. Well-typed values drawn by Hypothesis from the form's
own fields (real hamlets, members and topics, dates, counts within their bounds) reach
the services and the database's constraints. Hostile text then replaces some of those
fields: NUL bytes, invisible and decomposed characters, text far longer than any column,
markup, spreadsheet formulas and numbers and dates written the wrong way.

Each example runs in a savepoint that is rolled back, so one example's team or visit
does not change what the next is checked against, and a page that was found broken once
is found broken again when Hypothesis shrinks the input.
"""

import csv
import datetime as dt
import io
import unicodedata
import uuid
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import urlencode

import openpyxl
import pytest
from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.forms.models import ModelChoiceIteratorValue
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import from_field, from_form
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from accounts.forms import LoginForm
from accounts.models import User
from accounts.tests.factories import UserFactory, commune_official, province_staff
from communes.models import Commune, District, Hamlet, Province
from core.fields import WholeNumberField
from core.models import FileImport
from dashboard import rollup
from dashboard import services as dashboard_services
from dashboard.forms import DashboardFilterForm
from dashboard.models import Figure, PendingRollup, ProvincialIndicator, Target
from dashboard.records_forms import IndicatorForm, SplitForm, TargetForm
from outreach.filters import HamletFilter, HouseholdFilter, MemberFilter, TeamFilter, VisitFilter
from outreach.forms.households import HouseholdMergeForm
from outreach.forms.imports import MemberImportForm
from outreach.forms.teams import (
    HamletForm,
    MemberDeactivateForm,
    MemberForm,
    TeamDissolveForm,
    TeamForm,
)
from outreach.forms.visits import EditVisitForm, NewVisitForm
from outreach.models import Household, Member, MemberImport, Team, Visit
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import (
    HamletFactory,
    HouseholdFactory,
    MemberFactory,
    TeamFactory,
    visit_entries,
)
from outreach.tests.test_imports import HEADER as MEMBER_HEADER
from outreach.tests.test_imports import _row as member_row
from trainings.filters import CourseFilter, SessionFilter
from trainings.forms.courses import CourseImportForm
from trainings.forms.sessions import AttendanceForm, HeadcountForm, SessionForm
from trainings.models import (
    Attendance,
    Audience,
    CourseEnrolment,
    CourseImport,
    Headcount,
    Level,
    Topic,
    TrainingSession,
)
from trainings.services import session_create
from trainings.tests.test_course_import import HEADER as COURSE_HEADER
from trainings.tests.test_course_import import _row as course_row

# Slow: Hypothesis tries every form many times; `-m "not slow"` skips it.
pytestmark = pytest.mark.slow

# A handful of examples per form keeps the whole file within a minute on a small machine;
# a failure is replayed and shrunk all the same. No example database: each run is fresh.
FUZZ = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TODAY = timezone.localdate()

# --- What hostile input looks like ------------------------------------------------------

HOSTILE = [
    "\x00",
    "Lan\x00",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u200bNguyễn\ufeff",
    unicodedata.normalize("NFD", "Nguyễn"),
    "x" * 10_000,
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "+84 912 345 678",
    "",
    "   ",
    "\u202eexe.txt",
    "%(name)s {0} %s",
]
# Numbers and days as they should not be written.
NUMBERS = [
    "1.000",
    "-1",
    "0",
    "1,5",
    # Digits int() reads though no one types them, and a digit to str.isdigit() that
    # int() refuses; numbers past any integer column, past any float, past what int()
    # reads from text, and a float that overflows.
    "١٢٣",
    "²",
    "9" * 40,
    "9" * 400,
    "9" * 5000,
    "1e309",
    "NaN",
    "30/02/2026",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
]
# Text at and just past the columns' lengths (100, 150, 200, 260, 2000), in letters that
# fold to one (Đ), that decompose into several (Hangul syllables), or that collapse
# (spaces).
BOUNDARY = st.builds(
    lambda letter, length: letter * length,
    st.sampled_from(["Đ", "가", "a "]),
    st.sampled_from([99, 100, 101, 149, 150, 151, 199, 200, 201, 260, 2000, 2001]),
)
# Any character but lone surrogates (which no browser can send), with those that broke
# text handling before drawn more often than chance would.
RAW_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from("\x00\u200b\u200d\ufeff\u0301\u202e가İ"),
    ),
    max_size=300,
)
# Text as people type it: a few words of names and addresses.
WORDS = st.lists(
    st.sampled_from(["Nguyễn", "Văn", "Thị", "An", "Số", "12", "ngõ", "3", "Thôn", "Đông", "Tổ"]),
    min_size=1,
    max_size=6,
).map(" ".join)
# Ordinary words with something hostile before or after them.
SPIKED = st.builds(
    lambda words, hostile, first: hostile + words if first else words + hostile,
    WORDS,
    st.sampled_from(HOSTILE),
    st.booleans(),
)
HOSTILE_TEXT = st.one_of(
    st.sampled_from(HOSTILE), st.sampled_from(NUMBERS), BOUNDARY, RAW_TEXT, SPIKED
)
# A field left out of the post altogether, as a hand-made request may.
MISSING = object()
HOSTILE_VALUE = st.one_of(
    HOSTILE_TEXT, st.lists(HOSTILE_TEXT, min_size=1, max_size=3), st.just(MISSING)
)
# Letters for text that fills a field to its length: Vietnamese composed and decomposed,
# and others whose folding or case changes their length.
LETTERS = "aĐđƯữễỄ\u0301가각İß😀 ,.-"
# Days since the teams below were formed, days around them, and any day at all.
DAYS = st.one_of(
    st.dates(min_value=dt.date(2023, 3, 1), max_value=TODAY),
    st.dates(min_value=dt.date(2019, 1, 1), max_value=TODAY + dt.timedelta(days=30)),
    st.dates(),
)


# Values worth trying beside what Hypothesis draws: the names and numbers the fixtures
# below already use, typed as they are stored and as people type them.
TAKEN_TEAM_NAMES = st.sampled_from(["Tổ CNS thôn Tây", "to cns thon tay", "Tổ CNS thôn Đông"])
TAKEN_HAMLET_NAMES = st.sampled_from(["Xóm Chợ", "xom cho", "Thôn Đông"])
# A phone field's well-typed values: empty (it is optional), numbers already used, new ones.
PHONES = st.one_of(
    st.just(""),
    st.sampled_from(["0913000111", "+84 913 000 111", "0912345678", "0168 123 4567"]),
    st.from_regex(r"\A0(3[2-9]|9[0-9])[0-9]{7}\Z"),
)
MEMBER_HINTS = {"full_name": st.just("Trần Văn Bình")}
VISIT_HINTS = {
    "address_label": st.sampled_from(["Số 12, ngõ 3", "so 12 ngo 3", "Số 12 ngõ 3 (cũ)"])
}


# --- From a drawn form to what a browser posts -----------------------------------------


def _choices(field: forms.ModelChoiceField) -> st.SearchStrategy:
    """The primary keys the field offers, read when drawn (the objects exist by then)."""

    def offered():
        listed = getattr(field, "listed", None)
        if listed is not None:
            # Objects from the cache (core.fields.ListedChoicesMixin): the queryset then
            # only names the model.
            pks = sorted(obj.pk for obj in listed)
        else:
            pks = sorted(field.queryset.values_list("pk", flat=True))
        return st.sampled_from(pks) if pks else st.nothing()

    pks = st.deferred(offered)
    if isinstance(field, forms.ModelMultipleChoiceField):
        return st.lists(pks, min_size=1 if field.required else 0, max_size=4, unique=True)
    return pks if field.required else st.one_of(st.just(""), pks)


def _typed_strategies(form: forms.Form) -> dict[str, st.SearchStrategy]:
    """Strategies for the fields from_form cannot infer (the portal's own field classes,
    choices set by the view) and for dates, drawn mostly where the services accept them."""
    strategies = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField):
            strategies[name] = _choices(field)
        elif isinstance(field, WholeNumberField):
            numbers = st.integers(min_value=field.min_value, max_value=field.max_value)
            strategies[name] = numbers if field.required else st.one_of(st.none(), numbers)
        elif isinstance(field, forms.DateField):
            strategies[name] = DAYS if field.required else st.one_of(st.none(), DAYS)
        elif name == "phone":
            strategies[name] = PHONES
        elif type(field) is forms.CharField and field.max_length:
            # As long as the field allows: where a column or a key built from it overflows.
            length = field.max_length
            filled = st.text(st.sampled_from(LETTERS), min_size=length - 3, max_size=length)
            words = WORDS.map(lambda text, length=length: text[:length])
            strategies[name] = st.one_of(words, from_field(field), filled)
    return strategies


def _posted_value(value):
    if isinstance(value, bool):
        return "on" if value else MISSING
    if value is None:
        return ""
    if isinstance(value, ModelChoiceIteratorValue):
        return value.value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_posted_value(v) for v in value]
    if isinstance(value, Decimal | int | uuid.UUID):
        return str(value)
    return value


def _post_data(form: forms.Form) -> dict:
    """The drawn form's values as a browser posts them, under the form's prefix."""
    data = {}
    for name, value in {**form.data, **form.files}.items():
        posted = _posted_value(value)
        if posted is not MISSING:
            data[form.add_prefix(name)] = posted
    return data


def typed_posts(form_class, hints=None, **form_kwargs) -> st.SearchStrategy[dict]:
    """Posts of well-typed values for every field of the form; `hints` adds values worth
    trying for some fields (a name already taken)."""
    form = form_class(**form_kwargs)
    strategies = _typed_strategies(form)
    for name, hint in (hints or {}).items():
        typed = strategies[name] if name in strategies else from_field(form.fields[name])
        strategies[name] = st.one_of(typed, hint)
    return from_form(form_class, form_kwargs=form_kwargs, **strategies).map(_post_data)


def hostile_posts(form_class, hints=None, **form_kwargs) -> st.SearchStrategy[dict]:
    """Well-typed posts with hostile raw text in one or more of the form's fields."""
    form = form_class(**form_kwargs)
    names = [form.add_prefix(name) for name in form.fields]

    def spoil(pair):
        data, hostile = pair
        data = {**data, **hostile}
        return {k: v for k, v in data.items() if v is not MISSING}

    hostile = st.dictionaries(st.sampled_from(names), HOSTILE_VALUE, min_size=1)
    return st.tuples(typed_posts(form_class, hints, **form_kwargs), hostile).map(spoil)


def posts(form_class, hints=None, **form_kwargs) -> st.SearchStrategy[dict]:
    return st.one_of(
        typed_posts(form_class, hints, **form_kwargs),
        hostile_posts(form_class, hints, **form_kwargs),
    )


def queries(form_class, *, ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    """Hostile query strings for a list page's filter bar, with ids that exist among them.

    `form_class` is the bar's form, or its FilterSet (whose filters name the fields).
    """
    fields = getattr(form_class, "base_filters", None) or form_class.base_fields
    names = sorted([*fields, "page"])
    text = st.one_of(HOSTILE_TEXT, ids)
    return st.dictionaries(
        st.sampled_from(names), st.one_of(text, st.lists(text, min_size=1, max_size=3))
    )


# --- What is checked for every example ---------------------------------------------------


def _stored(counted, watched) -> tuple:
    return (
        [model.objects.count() for model in counted],
        [list(queryset.values()) for queryset in watched],
    )


@contextmanager
def example():
    """One example's requests, undone afterwards (also when they fail)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _answered(client: Client, response) -> None:
    """No server error; after a redirect, the page it leads to shows too."""
    assert response.status_code < 500, response.content[:2000]
    if response.status_code == 302:
        page = client.get(response["Location"])
        assert page.status_code < 500, page.content[:2000]


def _rolled_up() -> None:
    """The dashboards' roll-up takes in what was stored: it stops on none of its days."""
    rollup.rollup_pending()
    assert not PendingRollup.objects.exists()


def post_checked(client, url, data, *, counted=(), watched=(), roll_up=False):
    """Post the form; a refusal (the form again, or 4xx) leaves everything as it was.

    `roll_up` for a form whose days are typed without bounds (a session's): what it
    stores is also rolled up for the dashboards.
    """
    with example():
        before = _stored(counted, watched)
        response = client.post(url, data)
        _answered(client, response)
        if response.status_code != 302:
            assert _stored(counted, watched) == before, data
        elif roll_up:
            _rolled_up()


def get_checked(client, url, query):
    with example():
        response = client.get(url, query)
        assert response.status_code < 500, response.content[:2000]
        if response.streaming:
            # A download is written as it is sent: its rows are read here.
            b"".join(response.streaming_content)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The people and things the forms are about ----------------------------------------------


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def provincial(divisions):
    return province_staff(Province.objects.get())


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Thôn Đông")


@pytest.fixture
def team(hai_dong, hamlet):
    # Another team's name is there to be typed again.
    TeamFactory(commune=hai_dong, name="Tổ CNS thôn Tây")
    return TeamFactory(commune=hai_dong, hamlet=hamlet, name="Tổ CNS thôn Đông")


@pytest.fixture
def member(team):
    return MemberFactory(team=team, full_name="Trần Văn Bình", phone="0913000111")


@pytest.fixture
def leader(team, official, member):
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=official, member=leader)
    return user


@pytest.fixture
def visit(team, hamlet, leader, member):
    visit, _created = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label="Số 12, ngõ 3",
        data=VisitData(visited_on=TODAY - dt.timedelta(days=1), members=[member]),
    )
    return visit


@pytest.fixture
def session(official, hai_dong):
    return session_create(
        by=official,
        title="Tập huấn kỹ năng số cho người dân",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        level=Level.COMMUNE,
        commune=hai_dong,
        starts_on=dt.date(2026, 6, 10),
        ends_on=dt.date(2026, 6, 10),
        topics=[Topic.objects.order_by("pk").first()],
        status=TrainingSession.Status.HELD,
    )


# --- Logging in --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_login_form(leader):
    url = reverse("login")
    leader.set_password("đúng-mật-khẩu")
    leader.save()
    # The leader's login name as people type it, with the right password or another,
    # and where to go once logged in.
    known = st.fixed_dictionaries(
        {
            "username": st.sampled_from(["0912345678", "+84 912 345 678", " 0912.345.678 "]),
            "password": st.one_of(st.just("đúng-mật-khẩu"), RAW_TEXT),
        },
        optional={"next": st.one_of(st.just("//example.com/"), HOSTILE_TEXT)},
    )

    # Sent again and again, as someone guessing would, until the login is locked.
    @FUZZ
    @given(data=st.one_of(posts(LoginForm), known), attempts=st.integers(1, 7))
    def check(data, attempts):
        with example():
            before = User.objects.count()
            for _attempt in range(attempts):
                client = Client()
                response = client.post(url, data)
                _answered(client, response)
                if response.status_code != 302:
                    assert "_auth_user_id" not in client.session
            assert User.objects.count() == before

    check()


@pytest.mark.django_db
def test_the_language_switch(official):
    client = _client(official)
    form = st.fixed_dictionaries(
        {},
        optional={
            "language": st.one_of(st.sampled_from(["vi", "en"]), HOSTILE_TEXT),
            "next": st.one_of(st.just(reverse("outreach:team_list")), HOSTILE_TEXT),
        },
    )

    @FUZZ
    @given(data=form)
    def check(data):
        post_checked(client, reverse("set_language"), data)

    check()


# --- Teams, members, hamlets --------------------------------------------------------------


@pytest.mark.django_db
def test_the_team_forms(official, hai_dong, team):
    client = _client(official)
    hamlets = Hamlet.objects.filter(commune=hai_dong).order_by("pk")
    counted = (Team, PendingRollup)

    @FUZZ
    @given(data=posts(TeamForm, {"name": TAKEN_TEAM_NAMES}, hamlets=hamlets), edit=st.booleans())
    def check(data, edit):
        url = (
            reverse("outreach:team_edit", args=[team.pk])
            if edit
            else reverse("outreach:team_create")
        )
        watched = [Team.objects.filter(pk=team.pk)]
        post_checked(client, url, data, counted=counted, watched=watched)

    check()


@pytest.mark.django_db
def test_the_team_dissolve_form(official, team):
    client = _client(official)
    url = reverse("outreach:team_dissolve", args=[team.pk])

    @FUZZ
    @given(data=posts(TeamDissolveForm))
    def check(data):
        post_checked(
            client, url, data, counted=(PendingRollup,), watched=[Team.objects.filter(pk=team.pk)]
        )

    check()


@pytest.mark.django_db
def test_the_member_forms(official, team, member, leader):
    client = _client(official)
    teams = Team.objects.filter(commune=team.commune).order_by("pk")
    counted = (Member, User, PendingRollup)

    @FUZZ
    @given(
        create=posts(MemberForm, MEMBER_HINTS),
        edit=posts(MemberForm, MEMBER_HINTS, teams=teams),
        editing=st.sampled_from(["create", "member", "leader"]),
    )
    def check(create, edit, editing):
        if editing == "create":
            url, data = reverse("outreach:member_create", args=[team.pk]), create
        else:
            edited = member if editing == "member" else Member.objects.get(user=leader)
            url, data = reverse("outreach:member_edit", args=[edited.pk]), edit
        watched = [Member.objects.all(), User.objects.filter(pk=leader.pk).values("is_active")]
        post_checked(client, url, data, counted=counted, watched=watched)

    check()


@pytest.mark.django_db
def test_a_leader_keeps_their_own_roster(leader, team, member):
    client = _client(leader)

    @FUZZ
    @given(data=posts(MemberForm, MEMBER_HINTS))
    def check(data):
        post_checked(
            client,
            reverse("outreach:member_edit", args=[member.pk]),
            data,
            counted=(Member, PendingRollup),
            watched=[Member.objects.all()],
        )

    check()


@pytest.mark.django_db
def test_the_member_deactivate_form(official, member):
    client = _client(official)
    url = reverse("outreach:member_deactivate", args=[member.pk])

    @FUZZ
    @given(data=posts(MemberDeactivateForm))
    def check(data):
        post_checked(
            client,
            url,
            data,
            counted=(PendingRollup,),
            watched=[Member.objects.filter(pk=member.pk)],
        )

    check()


@pytest.mark.django_db
def test_the_hamlet_forms(official, hamlet):
    client = _client(official)
    HamletFactory(commune=hamlet.commune, name="Xóm Chợ")

    @FUZZ
    @given(
        create=posts(HamletForm, {"name": TAKEN_HAMLET_NAMES}, creating=True),
        edit=posts(HamletForm, {"name": TAKEN_HAMLET_NAMES}, creating=False),
        editing=st.booleans(),
    )
    def check(create, edit, editing):
        if editing:
            url, data = reverse("outreach:hamlet_edit", args=[hamlet.pk]), edit
        else:
            url, data = reverse("outreach:hamlet_create"), create
        post_checked(client, url, data, counted=(Hamlet,), watched=[Hamlet.objects.all()])

    check()


# --- Visits and households ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_new_visit_form(leader, team, hamlet, visit):
    client = _client(leader)
    url = reverse("outreach:visit_new")
    HamletFactory(commune=team.commune, name="Xóm Chợ")
    # The submission id of a visit already stored, for a resend with other content.
    used = st.fixed_dictionaries({"submission_id": st.just(str(visit.submission_id))})

    @FUZZ
    @given(
        data=posts(NewVisitForm, VISIT_HINTS, team=team, user=leader),
        resend=st.one_of(st.just({}), used),
    )
    def check(data, resend):
        post_checked(
            client,
            url,
            {**data, **resend},
            counted=(Visit, Household, PendingRollup),
            watched=[Household.objects.all(), visit_entries()],
        )

    check()


@pytest.mark.django_db
def test_the_visit_edit_form(leader, team, visit):
    client = _client(leader)
    url = reverse("outreach:visit_edit", args=[visit.pk])

    @FUZZ
    @given(data=posts(EditVisitForm, VISIT_HINTS, team=team, user=leader, visit=visit))
    def check(data):
        post_checked(
            client,
            url,
            data,
            counted=(Visit, Household, PendingRollup),
            watched=[Visit.objects.filter(pk=visit.pk), Household.objects.all(), visit_entries()],
        )

    check()


@pytest.mark.django_db
def test_the_household_merge_form(official, hamlet, visit):
    client = _client(official)
    HouseholdFactory(hamlet=hamlet, address_label="Số 12 ngõ 3 (cũ)", head_name="Ông Ba")
    HouseholdFactory(hamlet=HamletFactory(commune=hamlet.commune, name="Xóm Chợ"))
    households = Household.objects.order_by("pk")
    search = st.fixed_dictionaries({}, optional={"q": HOSTILE_TEXT, "hamlet": HOSTILE_TEXT})

    @FUZZ
    @given(data=posts(HouseholdMergeForm, households=households), search=search)
    def check(data, search):
        url = reverse("outreach:household_merge")
        if search:
            url = f"{url}?{urlencode(search, doseq=True)}"
        post_checked(
            client,
            url,
            data,
            counted=(Household, Visit, PendingRollup),
            watched=[Household.objects.all(), visit_entries()],
        )

    check()


# --- Uploads -----------------------------------------------------------------------------


def _sheet_cell(value):
    """A cell openpyxl can write: text without the control characters XML refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


CELLS = st.one_of(
    HOSTILE_TEXT,
    st.none(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.booleans(),
)


def _table_files(header: list[str], row) -> st.SearchStrategy[tuple[str, bytes]]:
    """CSV and XLSX files of the import's columns: clean rows (`row(n)` is the n-th), some
    of whose cells are hostile."""
    changes = st.one_of(
        st.just([]), st.lists(st.tuples(st.integers(0, len(header) - 1), CELLS), max_size=4)
    )
    rows = st.lists(changes, min_size=1, max_size=4).map(
        lambda all_changes: [_with_changes(row(n), c) for n, c in enumerate(all_changes)]
    )
    headers = st.one_of(
        st.just(header), st.permutations(header), st.lists(HOSTILE_TEXT, max_size=len(header))
    )

    def as_csv(table, encoding):
        heading, body = table
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(heading)
        writer.writerows([["" if v is None else v for v in row] for row in body])
        return "ds.csv", buffer.getvalue().encode(encoding, errors="replace")

    def as_xlsx(table):
        heading, body = table
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        for row in [heading, *body]:
            sheet.append([_sheet_cell(v) for v in row])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return "ds.xlsx", buffer.getvalue()

    tables = st.tuples(headers, rows)
    return st.one_of(
        st.builds(as_csv, tables, st.sampled_from(["utf-8-sig", "utf-8", "utf-16"])),
        st.builds(as_xlsx, tables),
    )


def _with_changes(base: list, changes) -> list:
    row = list(base)
    for position, value in changes:
        row[position] = value
    return row


def _files(header: list[str], row) -> st.SearchStrategy[tuple[str, bytes]]:
    names = st.one_of(
        st.sampled_from(["ds.csv", "DS.XLSX", "ds.xls", "ds.txt", "ds", ".csv", "ds.csv.exe"]),
        HOSTILE_TEXT.map(lambda name: f"{name}.csv"),
    )
    return st.one_of(_table_files(header, row), st.tuples(names, st.binary(max_size=2_000)))


def _with_file(data: dict, file: tuple[str, bytes] | None) -> dict:
    """The drawn post with one of the crafted files, or as drawn (None)."""
    if file is None:
        return data
    name, content = file
    return {**data, "file": SimpleUploadedFile(name, content)}


def _upload_checked(client, callbacks, url, data, *, model, apply, counted):
    """Upload; the check runs on commit, and a file it passes is applied, all showing."""
    with example():
        before = _stored(counted, ())
        with callbacks(execute=True):
            response = client.post(url, data)
        _answered(client, response)
        if response.status_code != 302:
            assert _stored(counted, ()) == before
            return
        upload = model.objects.latest("pk")
        # A failed import is one whose check or apply met an error it did not expect:
        # the page then only says to try again later.
        assert upload.status != FileImport.Status.FAILED, upload.result
        if upload.can_apply:
            with callbacks(execute=True):
                applied = client.post(reverse(apply, args=[upload.pk]))
            _answered(client, applied)
            upload.refresh_from_db()
            assert upload.status != FileImport.Status.FAILED, upload.result
            _rolled_up()


@pytest.mark.django_db
def test_the_member_import_upload(official, member, django_capture_on_commit_callbacks):
    client = _client(official)
    url = reverse("outreach:member_import_new")

    def row(n):
        return member_row(name=f"Nguyễn Văn An {n}", phone=f"0987 654 32{n}")

    @FUZZ
    @given(data=posts(MemberImportForm), file=st.one_of(st.none(), _files(MEMBER_HEADER, row)))
    def check(data, file):
        _upload_checked(
            client,
            django_capture_on_commit_callbacks,
            url,
            _with_file(data, file),
            model=MemberImport,
            apply="outreach:member_import_apply",
            counted=(MemberImport, Member, Team, User),
        )

    check()


@pytest.mark.django_db
def test_the_course_import_upload(provincial, django_capture_on_commit_callbacks):
    client = _client(provincial)
    url = reverse("trainings:course_import_new")

    def row(n):
        return course_row(name=f"Nguyễn Văn An {n}", phone=f"098765432{n}")

    @FUZZ
    @given(data=posts(CourseImportForm), file=st.one_of(st.none(), _files(COURSE_HEADER, row)))
    def check(data, file):
        _upload_checked(
            client,
            django_capture_on_commit_callbacks,
            url,
            _with_file(data, file),
            model=CourseImport,
            apply="trainings:course_import_apply",
            counted=(CourseImport, CourseEnrolment),
        )

    check()


# --- Training sessions -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_session_forms(official, session):
    client = _client(official)
    counted = (TrainingSession, PendingRollup)

    @FUZZ
    @given(data=posts(SessionForm, choose_place=False), edit=st.booleans())
    def check(data, edit):
        url = (
            reverse("trainings:session_edit", args=[session.pk])
            if edit
            else reverse("trainings:session_create")
        )
        watched = [TrainingSession.objects.filter(pk=session.pk)]
        post_checked(client, url, data, counted=counted, watched=watched, roll_up=True)

    check()


@pytest.mark.django_db
def test_the_attendance_form(official, session, member):
    client = _client(official)
    url = reverse("trainings:attendance_add", args=[session.pk])
    members = Member.objects.filter(team__commune=session.commune).order_by("pk")

    @FUZZ
    @given(data=posts(AttendanceForm, MEMBER_HINTS, members=members))
    def check(data):
        post_checked(client, url, data, counted=(Attendance, PendingRollup))

    check()


@pytest.mark.django_db
def test_the_headcount_form(official, session):
    client = _client(official)
    url = reverse("trainings:headcount_set", args=[session.pk])

    @FUZZ
    @given(data=posts(HeadcountForm))
    def check(data):
        post_checked(
            client, url, data, counted=(Headcount, PendingRollup), watched=[Headcount.objects.all()]
        )

    check()


# --- Targets and indicators --------------------------------------------------------------


@pytest.mark.django_db
def test_the_target_forms(provincial):
    client = _client(provincial)
    target = dashboard_services.target_save(by=None, year=2026, figure=Figure.TEAMS, value=2_000)

    @FUZZ
    @given(data=posts(TargetForm, {"year": st.just(2026)}), edit=st.booleans())
    def check(data, edit):
        url = (
            reverse("dashboard:target_edit", args=[target.pk])
            if edit
            else reverse("dashboard:target_create")
        )
        post_checked(client, url, data, counted=(Target,), watched=[Target.objects.all()])

    check()


@pytest.mark.django_db
def test_the_target_split_form(provincial):
    client = _client(provincial)
    dashboard_services.target_save(by=None, year=2026, figure=Figure.TEAMS, value=2_000)
    hai_hau = District.objects.get(code=366)
    districts = list(District.objects.order_by("code"))
    communes = list(Commune.objects.filter(district=hai_hau).order_by("code"))
    # Which target to split travels in the query string; most often a real one.
    chosen = {
        "year": st.sampled_from(["2026", "2027"]),
        "figure": st.sampled_from(Figure.values),
        "district": st.sampled_from(["", str(hai_hau.pk)]),
    }
    choice = st.one_of(
        st.fixed_dictionaries(chosen),
        st.fixed_dictionaries(
            {name: st.one_of(value, HOSTILE_TEXT) for name, value in chosen.items()}
        ),
    )

    @FUZZ
    @given(
        choice=choice,
        to_districts=posts(SplitForm, places=districts, initial_values={}),
        to_communes=posts(SplitForm, places=communes, initial_values={}),
    )
    def check(choice, to_districts, to_communes):
        data = to_communes if choice["district"] else to_districts
        url = f"{reverse('dashboard:target_split')}?{urlencode(choice)}"
        post_checked(client, url, data, counted=(Target,), watched=[Target.objects.all()])

    check()


@pytest.mark.django_db
def test_the_indicator_forms(provincial):
    client = _client(provincial)
    indicator = dashboard_services.indicator_save(by=None, year=2023, dti_rank=11)

    @FUZZ
    @given(
        create=posts(IndicatorForm, {"year": st.just(2023)}),
        edit=posts(IndicatorForm, indicator=indicator),
        editing=st.booleans(),
    )
    def check(create, edit, editing):
        if editing:
            url, data = reverse("dashboard:indicator_edit", args=[indicator.year]), edit
        else:
            url, data = reverse("dashboard:indicator_create"), create
        post_checked(
            client,
            url,
            data,
            counted=(ProvincialIndicator,),
            watched=[ProvincialIndicator.objects.all()],
        )

    check()


# --- The list pages' filter bars -----------------------------------------------------------


FILTER_BARS = {
    "outreach:team_list": TeamFilter,
    "outreach:member_list": MemberFilter,
    "outreach:hamlet_list": HamletFilter,
    "outreach:visit_list": VisitFilter,
    "outreach:household_list": HouseholdFilter,
    # The household picker's query: a hamlet and the text typed.
    "outreach:household_search": HouseholdFilter,
    "trainings:session_list": SessionFilter,
    "trainings:course_list": CourseFilter,
    "dashboard:overview": DashboardFilterForm,
    "dashboard:communes": DashboardFilterForm,
    # The lists' filters, applied to the files they download.
    "outreach:team_export": TeamFilter,
    "outreach:member_export": MemberFilter,
    "outreach:hamlet_export": HamletFilter,
    "outreach:visit_export": VisitFilter,
    "outreach:household_export": HouseholdFilter,
    "trainings:session_export": SessionFilter,
    "trainings:course_export": CourseFilter,
}


def _bar_url(page: str) -> str:
    # A list's CSV: its XLSX is written from the same rows.
    if page.endswith("_export"):
        return reverse(page, kwargs={"fmt": "csv"})
    return reverse(page)


@pytest.mark.django_db
@pytest.mark.parametrize("page", FILTER_BARS)
def test_the_filter_bar_of_a_list_page(page, provincial, official, leader, visit, session):
    # The province's filter bars offer a district and commune first; a commune's and a
    # team's do not.
    clients = {"provincial": provincial, "official": official, "leader": leader}
    clients = {role: _client(user) for role, user in clients.items()}
    # Ids that exist, so that one filter narrows another's choices by them.
    known = [visit.team.commune_id, visit.team_id, visit.household.hamlet_id, session.pk]
    known += [visit.team.commune.district_id, *visit.members.values_list("pk", flat=True)]
    ids = st.sampled_from([str(pk) for pk in known])

    @settings(FUZZ, max_examples=25)
    @given(role=st.sampled_from(sorted(clients)), query=queries(FILTER_BARS[page], ids=ids))
    def check(role, query):
        get_checked(clients[role], _bar_url(page), query)

    check()


@pytest.mark.django_db
def test_the_search_box_of_the_admin_lists(divisions, visit, session):
    client = _client(UserFactory(is_staff=True, is_superuser=True))

    def changelist(model) -> str:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    every_list = sorted(changelist(model) for model in admin.site._registry)
    # The lists whose search is the portal's own code, more often than the others.
    own_search = sorted(
        changelist(model)
        for model, model_admin in admin.site._registry.items()
        if type(model_admin).get_search_results is not admin.ModelAdmin.get_search_results
    )
    # The search, the page and the sort order of a list, as its links set them.
    query = st.dictionaries(st.sampled_from(["q", "p", "o"]), HOSTILE_TEXT, min_size=1)

    @FUZZ
    @given(url=st.one_of(st.sampled_from(own_search), st.sampled_from(every_list)), query=query)
    def check(url, query):
        get_checked(client, url, query)

    check()
