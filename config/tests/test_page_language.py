"""The main pages speak one language at a time.

Each page is rendered through the test client as the user who would open it, first in
Vietnamese (the default) and then in English. A Vietnamese page must not show any English
source string of the catalogue that has a Vietnamese translation (it was not wrapped, or
not translated); an English page must not show any Vietnamese translation of the catalogue
(a string hard-coded in Vietnamese). Only what a reader perceives is read: text outside
<script>, <style> and <template>, plus the attributes a screen reader or a tooltip says.
Names that are data (communes, teams, people) are taken out first.
"""

import csv
import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Hamlet, Province
from dashboard.models import CommuneDay, RollupState
from outreach.models import Household, Member, MemberImport, Service, Team
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.models import Audience, Level, Topic, TrainingSession
from trainings.services import session_create

PO = Path(__file__).resolve().parents[2] / "locale" / "vi" / "LC_MESSAGES" / "django.po"
HAI_DONG = 14269  # Xã Hải Đông, Huyện Hải Hậu
VISITED = dt.date(2025, 11, 29)

# --- What a reader perceives -------------------------------------------------------------

HIDDEN_ELEMENTS = {"script", "style", "template"}
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
# Spoken by screen readers or shown as tooltips and placeholders.
PERCEIVED_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")


class _VisibleText(HTMLParser):
    """Collects a page's text nodes and perceived attributes, one piece per node.

    Text marked as another language than the page's (lang="vi" on the English page's
    "Tiếng Việt" button) is left out: it is meant to be in that language.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.language = ""
        self._open: list[tuple[str, bool]] = []  # (tag, left out)

    def _left_out(self) -> bool:
        return bool(self._open) and self._open[-1][1]

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "html":
            self.language = values.get("lang", "")
        other_language = values.get("lang", self.language) != self.language
        left_out = self._left_out() or tag in HIDDEN_ELEMENTS or "hidden" in values
        left_out = left_out or other_language
        if not left_out:
            self.pieces += [values[a] for a in PERCEIVED_ATTRIBUTES if values.get(a)]
            if (
                tag == "input"
                and values.get("type") in ("submit", "button")
                and values.get("value")
            ):
                self.pieces.append(values["value"])
        if tag not in VOID_ELEMENTS:
            self._open.append((tag, left_out))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self._open.pop()

    def handle_endtag(self, tag):
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                del self._open[depth:]
                break

    def handle_data(self, data):
        if not self._left_out() and data.strip():
            self.pieces.append(data)


def visible_text(html: str, *, data: list[str] = ()) -> str:
    """The page's perceived text, one line per node, whitespace folded, data names blanked."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    text = "\n".join(" ".join(piece.split()) for piece in parser.pieces)
    # Longest first, so that "Thôn Đông A" goes before "Thôn Đông".
    for name in sorted(data, key=len, reverse=True):
        text = text.replace(name, "¦")
    return text


# --- The catalogue -----------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


@dataclass(frozen=True)
class Phrase:
    """One side of a catalogue entry, as a pattern that finds it in a page's text."""

    text: str
    pattern: re.Pattern

    @classmethod
    def of(cls, text: str) -> "Phrase | None":
        """The phrase, or None when it is too short to tell languages apart ("OK")."""
        text = " ".join(text.split()).replace("%%", "%")
        # A value at either end could be any text: only the words between count.
        pieces = PLACEHOLDER.split(text)
        while pieces and not pieces[0].strip():
            pieces.pop(0)
        while pieces and not pieces[-1].strip():
            pieces.pop()
        if pieces:
            pieces[0] = pieces[0].lstrip()
            pieces[-1] = pieces[-1].rstrip()
        words = re.findall(r"[^\W\d_]+", " ".join(pieces))
        letters = sum(map(len, words))
        if letters < 5 or (len(words) < 2 and letters < 8):
            return None
        # A placeholder stands for a value on the same line (a name, a number).
        body = r"[^\n]+?".join(re.escape(piece) for piece in pieces)
        return cls(text, re.compile(rf"(?<!\w){body}(?!\w)"))


def _pairs() -> list[tuple[str, str]]:
    """(English source, Vietnamese translation) for every translated form of every entry."""
    pairs = []
    for entry in polib.pofile(str(PO)):
        if entry.obsolete or entry.fuzzy:
            continue
        if entry.msgid_plural:
            translations = [t for _n, t in sorted(entry.msgstr_plural.items()) if t]
            pairs += [(entry.msgid, t) for t in translations[:1]]
            pairs += [(entry.msgid_plural, t) for t in translations[-1:]]
        elif entry.msgstr:
            pairs.append((entry.msgid, entry.msgstr))
    return pairs


def _phrases(side: int) -> list[Phrase]:
    found = {}
    for pair in _pairs():
        english, vietnamese = (" ".join(text.split()) for text in pair)
        if english == vietnamese:
            continue  # a name, or a word both languages share
        phrase = Phrase.of(pair[side])
        if phrase is not None:
            found[phrase.text] = phrase
    return list(found.values())


ENGLISH, VIETNAMESE = 0, 1


def phrases_on(text: str, phrases: list[Phrase]) -> list[str]:
    return sorted(p.text for p in phrases if p.pattern.search(text))


# --- The pages and who opens them --------------------------------------------------------

HEADER = [
    "Mã xã",
    "Tên tổ",
    "Ngày thành lập",
    "Họ và tên",
    "Giới tính",
    "Năm sinh",
    "Số điện thoại",
    "Vai trò",
]


def _member_list(bad_phone: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for name, year, phone, role in (
        ("Nguyễn Văn An", 1995, "0912 345 678", "Tổ trưởng"),
        ("Lê Văn Cường", 2001, bad_phone, "Thành viên"),
    ):
        writer.writerow([HAI_DONG, "Tổ Bắc", "01/03/2023", name, "Nam", year, phone, role])
    return buffer.getvalue().encode("utf-8-sig")


def _upload(client: Client, callbacks, content: bytes) -> MemberImport:
    with callbacks(execute=True):
        response = client.post(
            reverse("outreach:member_import_new"),
            {"file": SimpleUploadedFile("ds.csv", content)},
        )
    assert response.status_code == 302, response.content
    return MemberImport.objects.latest("pk")


@pytest.fixture
def world(divisions, django_capture_on_commit_callbacks):
    """A commune at work: a team with a leader, households visited, a training session,
    a member import waiting with a bad row and one applied, the roll-up run."""
    Commune.objects.filter(code=HAI_DONG).update(households=1_900_000)
    commune = Commune.objects.select_related("district").get(code=HAI_DONG)
    admin = UserFactory(is_superuser=True, full_name="Admin")
    hamlet = HamletFactory(commune=commune, name="Thôn Đông")
    team = TeamFactory(commune=commune, hamlet=hamlet, name="Tổ Đông")
    leader_member = MemberFactory(
        team=team, role=Member.Role.LEADER, full_name="Trần Văn Minh", phone="0912000111"
    )
    member = MemberFactory(team=team, full_name="Phạm Thị Hoa")
    leader, _password = member_login_create(by=admin, member=leader_member)
    services = list(Service.objects.filter(code__in=["portal_account", "mobile_banking"]))
    # One visit on a day with a known spelling, one this year for the dashboards.
    recent = timezone.localdate() - dt.timedelta(days=2)
    for number, day in enumerate([VISITED, recent], start=1):
        visit_record(
            by=leader,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=hamlet,
            address_label=f"Số {number}, ngõ 3",
            head_name=f"Nguyễn Văn Chủ {number}",
            data=VisitData(
                visited_on=day,
                members=[leader_member, member],
                services=services[:number],
                residents_helped=number,
            ),
        )
    official = commune_official(commune, full_name="Vũ Thị Xã")
    session = session_create(
        by=official,
        title="Lớp kỹ năng số thôn Đông",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        level=Level.COMMUNE,
        commune=commune,
        starts_on=VISITED,
        ends_on=VISITED,
        topics=list(Topic.objects.all()[:2]),
        status=TrainingSession.Status.HELD,
    )
    client = Client()
    client.force_login(official)
    waiting = _upload(client, django_capture_on_commit_callbacks, _member_list(bad_phone="0123"))
    applied = _upload(client, django_capture_on_commit_callbacks, _member_list("0977 000 222"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("outreach:member_import_apply", args=[applied.pk]))
    applied.refresh_from_db()
    assert applied.status == MemberImport.Status.DONE, applied.status

    from dashboard.rollup import rollup_full

    rollup_full()
    assert CommuneDay.objects.filter(commune=commune).exists()
    assert RollupState.objects.exists()
    return {
        "commune": commune,
        "team": team,
        "member": member,
        "visit": team.visits.get(visited_on=VISITED),
        "household": Household.objects.filter(commune=commune).first(),
        "session": session,
        "waiting": waiting,
        "applied": applied,
        "users": {
            "anonymous": None,
            "leader": leader,
            "official": official,
            "district": district_staff(commune.district, full_name="Đỗ Văn Huyện"),
            "province": province_staff(Province.objects.get(), full_name="Lê Thị Tỉnh"),
        },
    }


def _pages(w) -> dict[str, tuple[str, str]]:
    """Page name -> (who opens it, its address)."""
    commune, team = w["commune"], w["team"]
    return {
        "home": ("anonymous", reverse("home")),
        "home, a team leader's page": ("leader", reverse("home")),
        "login": ("anonymous", reverse("login")),
        "visit form": ("leader", reverse("outreach:visit_new")),
        "visit list": ("leader", reverse("outreach:visit_list")),
        "visit detail": ("leader", reverse("outreach:visit_detail", args=[w["visit"].pk])),
        "visit edit": ("leader", reverse("outreach:visit_edit", args=[w["visit"].pk])),
        "teams": ("official", reverse("outreach:team_list")),
        "team": ("official", reverse("outreach:team_detail", args=[team.pk])),
        "team form": ("official", reverse("outreach:team_create")),
        "team edit": ("official", reverse("outreach:team_edit", args=[team.pk])),
        "members": ("official", reverse("outreach:member_list")),
        "member": ("official", reverse("outreach:member_detail", args=[w["member"].pk])),
        "member form": ("official", reverse("outreach:member_create", args=[team.pk])),
        "hamlets": ("official", reverse("outreach:hamlet_list")),
        "households": ("official", reverse("outreach:household_list")),
        "trainings": ("official", reverse("trainings:session_list")),
        "training calendar": (
            "official",
            reverse("trainings:session_calendar") + f"?month={VISITED:%Y-%m}",
        ),
        "training": ("official", reverse("trainings:session_detail", args=[w["session"].pk])),
        "training form": ("official", reverse("trainings:session_create")),
        "courses": ("province", reverse("trainings:course_list")),
        "course import": ("province", reverse("trainings:course_import_new")),
        "dashboard overview": ("province", reverse("dashboard:overview")),
        "dashboard communes": ("province", reverse("dashboard:communes")),
        "dashboard district": (
            "district",
            reverse("dashboard:district", args=[commune.district.code]),
        ),
        "dashboard commune": ("official", reverse("dashboard:commune", args=[commune.code])),
        "dashboard team": ("leader", reverse("dashboard:team", args=[team.pk])),
        "targets": ("province", reverse("dashboard:target_list")),
        "member import": ("official", reverse("outreach:member_import_new")),
        "member import with a bad row": (
            "official",
            reverse("outreach:member_import_detail", args=[w["waiting"].pk]),
        ),
        "member import done": (
            "official",
            reverse("outreach:member_import_detail", args=[w["applied"].pk]),
        ),
        "not found": ("district", "/no-such-page/"),
    }


def _data_names(w) -> list[str]:
    """Values that are data, not interface: they may be in either language."""
    names = [w["session"].title]
    for model, field in [
        (Province, "name"),
        (District, "name"),
        (Commune, "name"),
        (Hamlet, "name"),
        (Team, "name"),
        (Member, "full_name"),
        (Household, "head_name"),
        (Household, "address_label"),
    ]:
        names += model.objects.values_list(field, flat=True)
    names += [user.get_full_name() for user in w["users"].values() if user is not None]
    names += Topic.objects.values_list("name", flat=True)
    return [name for name in names if name]


def _render_all(w, language: str) -> dict[str, str]:
    """Every page's perceived text, in the language the browser asks for first."""
    clients = {}
    texts = {}
    data = _data_names(w)
    for page, (who, url) in _pages(w).items():
        if who not in clients:
            clients[who] = Client(headers={"accept-language": language})
            if w["users"][who] is not None:
                clients[who].force_login(w["users"][who])
        response = clients[who].get(url)
        expected = 404 if page == "not found" else 200
        assert response.status_code == expected, (page, response.status_code)
        html = response.content.decode()
        assert f'<html lang="{language}">' in html, page
        texts[page] = visible_text(html, data=data)
    return texts


@pytest.fixture
def rendered(world) -> dict[str, dict[str, str]]:
    return {language: _render_all(world, language) for language in ("vi", "en")}


def test_vietnamese_pages_show_no_english_source_string(rendered):
    phrases = _phrases(ENGLISH)
    # The check can see each page: in English, every one shows source strings.
    assert [page for page, text in rendered["en"].items() if not phrases_on(text, phrases)] == []

    found = {
        page: english
        for page, text in rendered["vi"].items()
        if (english := phrases_on(text, phrases))
    }

    assert found == {}


def test_english_pages_show_no_vietnamese_translation(rendered):
    phrases = _phrases(VIETNAMESE)
    assert [page for page, text in rendered["vi"].items() if not phrases_on(text, phrases)] == []

    found = {
        page: vietnamese
        for page, text in rendered["en"].items()
        if (vietnamese := phrases_on(text, phrases))
    }

    assert found == {}


def test_the_check_sees_a_string_left_in_english_and_one_left_in_vietnamese():
    """What the two tests above look for, on a page made to fail them."""
    html = """<html lang="en"><head><title>Nhật ký</title><script>s = "Log a visit";</script>
    </head><body><h1>Log a
    visit</h1><button aria-label="Lưu lượt thăm hộ">💾</button><p hidden>Save visit</p>
    <p>Thôn Log a visit</p><button lang="vi">Lưu lượt thăm hộ</button></body></html>"""

    text = visible_text(html, data=["Thôn Log a visit"])

    english = phrases_on(text, _phrases(ENGLISH))
    assert "Log a visit" in english  # the heading, across a line break
    assert "Save visit" not in english  # hidden
    assert not any("Thôn" in phrase for phrase in english)  # data
    assert "Lưu lượt thăm hộ" in phrases_on(text, _phrases(VIETNAMESE))  # the aria-label
    assert text.count("Lưu lượt thăm hộ") == 1  # not the button marked as Vietnamese


# --- Numbers and dates -------------------------------------------------------------------


def test_figures_and_dates_on_pages_follow_the_language(world):
    """1.900.000 and 29/11/2025 in Vietnamese; 1,900,000 in English, dates still day first."""
    client = Client()
    client.force_login(world["users"]["official"])
    visit = reverse("outreach:visit_detail", args=[world["visit"].pk])
    dashboard = reverse("dashboard:commune", args=[HAI_DONG])
    read = {
        (language, page): visible_text(
            client.get(url, headers={"accept-language": language}).content.decode()
        )
        for language in ("vi", "en")
        for page, url in (("visit", visit), ("dashboard", dashboard))
    }

    # The households on record, under the households-reached tile.
    assert "1.900.000" in read["vi", "dashboard"]
    assert "1,900,000" not in read["vi", "dashboard"]
    assert "1,900,000" in read["en", "dashboard"]
    assert "1.900.000" not in read["en", "dashboard"]
    assert "29/11/2025" in read["vi", "visit"]
    # English readers in Nam Định read dates day first too (config/formats/en).
    assert "29/11/2025" in read["en", "visit"]
    assert "Nov" not in read["en", "visit"]
