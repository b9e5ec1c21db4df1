"""Django admin reads in Vietnamese: every screen of every model the portal registers.

An administrator's client (Vietnamese asked first) walks the admin: the index, each
app's page, each model's list (with its counts shown too), add form, an object's
change form, history and delete confirmation, the import and export screens with a
preview, a refused file and a confirmed import, the password forms and django-axes'
logs of logins. Each page's perceived text (config/tests/test_page_language.py) must
not show any of the English strings the libraries leave untranslated
(config/admin_messages.py) or Django admin's and auth's own.

Waits on the catalogue: the Vietnamese of config/admin_messages.py.
"""

import datetime as dt
import io
import uuid
from pathlib import Path

import django
import polib
import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune, Hamlet
from config import admin_messages
from config.tests.test_page_language import Phrase, phrases_on, visible_text
from outreach.models import Member
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.models import Audience, Level, Topic, TrainingSession
from trainings.services import session_create

HAI_DONG = 14269
DJANGO = Path(django.__file__).parent
# Django's English catalogues list every string of the admin's and auth's screens.
DJANGO_CATALOGUES = [
    DJANGO / "contrib" / "admin" / "locale" / "en" / "LC_MESSAGES" / "django.po",
    DJANGO / "contrib" / "auth" / "locale" / "en" / "LC_MESSAGES" / "django.po",
]
# The named strings of the issue, found however the page wraps them.
NAMED = [
    "This exporter will export the following fields",
    "Below is a preview",
    "Import finished",
    "Show counts",
    "Access attempts",
    "Line number",
]


def _english_phrases() -> list[Phrase]:
    texts = {
        text
        for group in (
            admin_messages.IMPORT_EXPORT,
            admin_messages.AXES,
            admin_messages.DJANGO_ADMIN,
            admin_messages.DJANGO_AUTH,
            admin_messages.DJANGO_FORMS,
        )
        for text in group
    }
    for catalogue in DJANGO_CATALOGUES:
        for entry in polib.pofile(str(catalogue)):
            texts.add(entry.msgid)
            if entry.msgid_plural:
                texts.add(entry.msgid_plural)
    phrases = [Phrase.of(text) for text in texts]
    return [p for p in phrases if p is not None] + [
        Phrase.of(text) for text in NAMED if Phrase.of(text) is not None
    ]


# Words too short for a phrase that the libraries show alone (a button, a heading).
ENGLISH_WORDS = {
    "Import",
    "Export",
    "Submit",
    "Resource",
    "Format",
    "Errors",
    "Preview",
    "Update",
    "Skipped",
    "Username",
    "Path",
    "Enabled",
    "Disabled",
    "Status",
    "Axes",
    "Search",
}


def _english_words(text: str) -> list[str]:
    return sorted({line for line in text.splitlines() if line.strip() in ENGLISH_WORDS})


@pytest.fixture
def admin_world(divisions, django_capture_on_commit_callbacks):
    """One record of each kind the admin lists: a commune at work, a training session,
    logins that failed."""
    commune = Commune.objects.get(code=HAI_DONG)
    administrator = UserFactory(is_staff=True, is_superuser=True, full_name="Quản Trị Viên")
    hamlet = HamletFactory(commune=commune, name="Thôn Đông")
    team = TeamFactory(commune=commune, hamlet=hamlet, name="Tổ Đông")
    member = MemberFactory(team=team, role=Member.Role.LEADER, full_name="Trần Văn Minh")
    leader, _password = member_login_create(by=administrator, member=member)
    with django_capture_on_commit_callbacks(execute=True):
        visit_record(
            by=leader,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=hamlet,
            address_label="Số 1, ngõ 3",
            head_name="Nguyễn Văn Chủ",
            data=VisitData(visited_on=dt.date(2025, 11, 29), members=[member]),
        )
    session_create(
        by=commune_official(commune, full_name="Vũ Thị Xã"),
        title="Lớp kỹ năng số thôn Đông",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        level=Level.COMMUNE,
        commune=commune,
        starts_on=dt.date(2025, 11, 29),
        ends_on=dt.date(2025, 11, 29),
        topics=list(Topic.objects.all()[:1]),
        status=TrainingSession.Status.HELD,
    )
    seen = {"user_agent": "Mozilla/5.0", "ip_address": "203.0.113.9", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        username="0912000111",
        path_info="/accounts/login/",
        get_data="",
        post_data="username=0912000111",
        failures_since_start=2,
        **seen,
    )
    AccessFailureLog.objects.create(username="0912000111", path_info="/admin/login/", **seen)
    AccessLog.objects.create(username=administrator.username, path_info="/admin/login/", **seen)
    return {"administrator": administrator, "commune": commune}


def _data_names() -> list[str]:
    from outreach.models import Household, Service, Team

    names = ["Quản Trị Viên", "Vũ Thị Xã", "Lớp kỹ năng số thôn Đông", "Mozilla/5.0"]
    names.append("username=0912000111")  # the failed login's form, as axes keeps it
    for model, field in [
        (Commune, "name"),
        (Hamlet, "name"),
        (Team, "name"),
        (Member, "full_name"),
        (Household, "address_label"),
        (Household, "head_name"),
        (Service, "name"),
        (Topic, "name"),
    ]:
        names += model.objects.values_list(field, flat=True)
    return [name for name in names if name]


COMMUNES_CSV = (
    "code,name,kind,district,population,working_age_population,households\n"
    "14269,Xã Hải Đông,xã,366,9000,5200,2900\n"
)


def _csv(content: str) -> io.BytesIO:
    upload = io.BytesIO(content.encode("utf-8"))
    upload.name = "communes.csv"
    return upload


def _admin_pages(client: Client, administrator) -> dict[str, str]:
    """Page name -> its HTML, for every admin screen the portal uses."""
    request = RequestFactory().get("/")
    request.user = administrator
    pages = {}

    def get(name: str, url: str, **data) -> None:
        response = client.get(url, data)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.content.decode()

    def post(name: str, url: str, data: dict, status: int = 200, follow=False) -> None:
        response = client.post(url, data, follow=follow)
        assert response.status_code == status, (name, response.status_code)
        pages[name] = response.content.decode()

    get("index", reverse("admin:index"))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        info = f"admin:{opts.app_label}_{opts.model_name}"
        get(f"{opts.app_label} app", reverse("admin:app_list", args=[opts.app_label]))
        get(f"{opts.label} list", reverse(f"{info}_changelist"))
        get(f"{opts.label} list with counts", reverse(f"{info}_changelist"), _facets="True")
        if model_admin.has_add_permission(request):
            get(f"{opts.label} add", reverse(f"{info}_add"))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None:
            get(f"{opts.label} change", reverse(f"{info}_change", args=[first.pk]))
            get(f"{opts.label} history", reverse(f"{info}_history", args=[first.pk]))
            if model_admin.has_delete_permission(request, first):
                get(f"{opts.label} delete", reverse(f"{info}_delete", args=[first.pk]))
                post(
                    f"{opts.label} delete selected",
                    reverse(f"{info}_changelist"),
                    {"action": "delete_selected", "_selected_action": [first.pk]},
                )
        if hasattr(model_admin, "import_action"):
            get(f"{opts.label} import", reverse(f"{info}_import"))
            get(f"{opts.label} export", reverse(f"{info}_export"))
    communes = "admin:communes_commune"
    post(
        "commune import preview",
        reverse(f"{communes}_import"),
        {"resource": 0, "format": 0, "import_file": _csv(COMMUNES_CSV)},
    )
    form = _preview_form(pages["commune import preview"], client)
    post("commune import done", reverse(f"{communes}_process_import"), form, follow=True)
    post(
        "commune import refused",
        reverse(f"{communes}_import"),
        {"resource": 0, "format": 0, "import_file": _csv(COMMUNES_CSV.replace("2900", '"12,5a"'))},
    )
    post(
        "commune import unreadable",
        reverse(f"{communes}_import"),
        {"resource": 0, "format": 1, "import_file": _csv(COMMUNES_CSV)},
    )
    user = reverse("admin:auth_user_password_change", args=[administrator.pk])
    get("user password", user)
    post("user password refused", user, {"password1": "a", "password2": "b"})
    get("own password", reverse("admin:password_change"))
    return pages


def _preview_form(html: str, client: Client) -> dict:
    """The confirm form's hidden fields of a preview page."""
    import re

    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert "import_file_name" in fields, "no preview"
    return {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"}


def _render(admin_world, language: str) -> dict[str, str]:
    client = Client(headers={"accept-language": language})
    client.force_login(admin_world["administrator"])
    data = _data_names()
    pages = _admin_pages(client, admin_world["administrator"])
    client.logout()
    login = client.get(reverse("admin:login"))
    pages["login"] = login.content.decode()
    return {name: visible_text(html, data=data) for name, html in pages.items()}


def test_every_admin_screen_reads_in_vietnamese(admin_world):
    phrases = _english_phrases()
    english = _render(admin_world, "en")
    # The check sees the libraries' strings: in English the screens show them.
    shown = set().union(*(phrases_on(text, phrases) for text in english.values()))
    assert {
        "Show counts",
        "This exporter will export the following fields:",
        "Below is a preview of data to be imported. If you are satisfied with the results, "
        "click 'Confirm import'",
        "Access attempts",
    } <= shown

    vietnamese = _render(admin_world, "vi")

    found = {
        page: sorted(set(phrases_on(text, phrases)) | set(_english_words(text)))
        for page, text in vietnamese.items()
    }
    left = {page: phrases for page, phrases in found.items() if phrases}
    assert not left, "English on Vietnamese admin screens:\n" + "\n".join(
        f"{page}: {phrases}" for page, phrases in left.items()
    )


def test_the_named_screens_are_walked(admin_world):
    """The screens the issue names are among those the walk reads."""
    pages = _render(admin_world, "en")
    assert "Show counts" in pages["communes.Commune list"]
    assert "This exporter will export the following fields" in pages["communes.Commune export"]
    assert "Below is a preview" in pages["commune import preview"]
    assert "The file is imported: 0 new, 1 changed, 0 unchanged." in pages["commune import done"]
    assert (
        "Row 2, column “Households”: “12,5a” is not a whole number."
        in (pages["commune import refused"])
    )
    assert "Access attempts" in pages["axes.AccessAttempt list"]
