"""Names that differ only in tone marks are different places, teams, hamlets and people.

Every list here is built in the test. The rule (communes/names.py): a name written with
its tone marks decides only as written; one written with no diacritics at all matches
by folding when exactly one record folds to it; anything else is a row error naming
the candidates.
"""

import csv
import datetime as dt
import io
import unicodedata
from collections import defaultdict

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune, Hamlet
from outreach.imports import build_plan, read_table
from outreach.models import Member, MemberImport, Team
from outreach.services import team_create
from outreach.services.hamlets import hamlet_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

HEADER = ["Mã xã", "Xã/Phường/Thị trấn", "Tên tổ", "Thôn/xóm", "Họ và tên", "Ngày tham gia"]


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


def _row(*, code="", commune="", team="Tổ CNS 1", hamlet="", name="Nguyễn Văn An"):
    return [code, commune, team, hamlet, name, "01/03/2023"]


def _plan(user, rows):
    return build_plan(by=user, table=read_table(_csv(rows)))


def _errors(plan) -> dict[int, str]:
    return {row: " ".join(messages) for row, messages in plan.errors.items()}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff(divisions):
    """An administrator: imports are for commune officials and administrators."""
    return UserFactory(is_superuser=True)


def _upload_and_apply(client, capture, content) -> MemberImport:
    with capture(execute=True):
        response = client.post(
            reverse("outreach:member_import_new"),
            {"file": SimpleUploadedFile("ds.csv", content)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 302
    member_import = MemberImport.objects.latest("pk")
    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    with capture(execute=True):
        client.post(reverse("outreach:member_import_apply", kwargs={"pk": member_import.pk}))
    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.DONE, member_import.result
    return member_import


# --- Communes ---------------------------------------------------------------------------


def _folding_pairs() -> list[list[Commune]]:
    groups: dict[str, list[Commune]] = defaultdict(list)
    for commune in Commune.objects.order_by("code"):
        groups[commune.name_folded].append(commune)
    return [group for group in groups.values() if len(group) > 1]


@pytest.mark.django_db
def test_every_pair_of_communes_that_fold_alike_round_trips_to_its_own_commune(
    staff, client, django_capture_on_commit_callbacks
):
    pairs = _folding_pairs()
    assert pairs, "the 2023 data has Xã Trực Hùng and Xã Trực Hưng"
    rows, expected = [], {}
    for group in pairs:
        for commune in group:
            team = f"Tổ CNS {commune.code}"
            # Named as written, without the code: the name alone must decide.
            rows.append(_row(commune=commune.name, team=team, name=f"Người {commune.code}"))
            expected[team] = commune
    client.force_login(staff)

    _upload_and_apply(client, django_capture_on_commit_callbacks, _csv(rows))

    for team, commune in expected.items():
        assert Team.objects.get(name=team).commune == commune


@pytest.mark.django_db
def test_a_commune_name_typed_decomposed_or_in_capitals_is_the_commune_as_written(staff):
    typed = unicodedata.normalize("NFD", "XÃ TRỰC HÙNG")
    plan = _plan(staff, [_row(commune=typed)])

    assert not plan.errors
    assert [t.commune.code for t in plan.teams.values()] == [14083]


@pytest.mark.django_db
def test_a_name_without_diacritics_that_two_communes_fold_to_lists_both_with_codes(staff):
    plan = _plan(staff, [_row(commune="Xa Truc Hung")])

    message = _errors(plan)[2]
    assert "Xã Trực Hưng (14050)" in message and "Xã Trực Hùng (14083)" in message
    assert "Commune code" in message
    assert not plan.teams


@pytest.mark.django_db
def test_a_name_without_diacritics_that_one_commune_folds_to_is_that_commune(staff):
    plan = _plan(staff, [_row(commune="Hai Dong"), _row(commune="xa hai dong", team="Tổ 2")])

    assert not plan.errors
    assert {t.commune.code for t in plan.teams.values()} == {14269}


@pytest.mark.django_db
def test_a_misspelt_tone_mark_is_not_corrected_silently(staff):
    # "Trực Hũng" is no commune; folding would have made it one of two.
    plan = _plan(staff, [_row(commune="Xã Trực Hũng")])

    message = _errors(plan)[2]
    assert "No commune is called Xã Trực Hũng" in message
    assert "(14050)" in message and "(14083)" in message


@pytest.mark.django_db
def test_a_code_and_a_name_that_disagree_are_refused(staff):
    plan = _plan(staff, [_row(code=14050, commune="Xã Trực Hùng")])

    assert "14050 is Xã Trực Hưng" in _errors(plan)[2]
    # The same code with its own name, or with no name, is fine.
    assert not _plan(staff, [_row(code=14050, commune="Trực Hưng"), _row(code=14083)]).errors


@pytest.mark.django_db
def test_the_trực_hùng_official_imports_their_own_commune(
    divisions, client, django_capture_on_commit_callbacks
):
    truc_hung = Commune.objects.get(code=14083)
    client.force_login(commune_official(truc_hung))

    _upload_and_apply(
        client,
        django_capture_on_commit_callbacks,
        _csv([_row(commune="Xã Trực Hùng", team="Tổ CNS xóm 1")]),
    )

    assert Team.objects.get(name="Tổ CNS xóm 1").commune == truc_hung


# --- Teams and hamlets -----------------------------------------------------------------


@pytest.mark.django_db
def test_two_teams_whose_names_differ_in_tone_marks_are_two_teams(
    staff, hai_dong, client, django_capture_on_commit_callbacks
):
    rows = [
        _row(code=14269, team="xóm Đồng", name="Nguyễn Văn An"),
        _row(code=14269, team="xóm Đông", name="Trần Văn Bình"),
        _row(code=14269, team="XÓM ĐỒNG", name="Lê Văn Cường"),
    ]
    client.force_login(staff)

    _upload_and_apply(client, django_capture_on_commit_callbacks, _csv(rows))

    teams = {t.name: t for t in Team.objects.filter(commune=hai_dong)}
    assert set(teams) == {"xóm Đồng", "xóm Đông"}
    assert Member.objects.get(full_name="Lê Văn Cường").team == teams["xóm Đồng"]
    assert Member.objects.get(full_name="Trần Văn Bình").team == teams["xóm Đông"]


@pytest.mark.django_db
def test_an_unmarked_team_name_finds_the_one_team_that_folds_to_it(staff, hai_dong):
    existing = TeamFactory(commune=hai_dong, name="Tổ CNS xóm Đồng")
    plan = _plan(staff, [_row(code=14269, team="to cns xom dong")])

    assert not plan.errors
    assert [t.team for t in plan.teams.values()] == [existing]


@pytest.mark.django_db
def test_an_unmarked_team_name_two_teams_fold_to_is_a_question(staff, hai_dong):
    TeamFactory(commune=hai_dong, name="xóm Đồng")
    TeamFactory(commune=hai_dong, name="xóm Đông")
    plan = _plan(staff, [_row(code=14269, team="xom dong")])

    message = _errors(plan)[2]
    assert "xóm Đồng" in message and "xóm Đông" in message


@pytest.mark.django_db
def test_an_unmarked_team_name_finds_a_new_team_the_file_spells_with_marks(staff, hai_dong):
    rows = [_row(code=14269, team="xom dong", name="A"), _row(code=14269, team="xóm Đồng")]
    plan = _plan(staff, rows)

    assert not plan.errors
    assert [t.name for t in plan.teams.values()] == ["xóm Đồng"]


@pytest.mark.django_db
def test_teams_are_found_in_their_hamlet_by_the_hamlets_name_as_written(
    staff, hai_dong, client, django_capture_on_commit_callbacks
):
    dong_huyen = HamletFactory(commune=hai_dong, name="xóm Đồng")
    dong_east = HamletFactory(commune=hai_dong, name="xóm Đông")
    rows = [
        _row(code=14269, team="Tổ CNS 1", hamlet="Xóm Đồng", name="A"),
        _row(code=14269, team="Tổ CNS 2", hamlet="Đông", name="B"),  # kind word left out
    ]
    client.force_login(staff)

    _upload_and_apply(client, django_capture_on_commit_callbacks, _csv(rows))

    assert Team.objects.get(name="Tổ CNS 1").hamlet == dong_huyen
    assert Team.objects.get(name="Tổ CNS 2").hamlet == dong_east


@pytest.mark.django_db
def test_an_unmarked_hamlet_name_two_hamlets_fold_to_is_a_question(staff, hai_dong):
    HamletFactory(commune=hai_dong, name="xóm Đồng")
    HamletFactory(commune=hai_dong, name="xóm Đông")
    plan = _plan(staff, [_row(code=14269, hamlet="xom dong")])

    message = _errors(plan)[2]
    assert "Which hamlet" in message and "xóm Đồng" in message and "xóm Đông" in message


@pytest.mark.django_db
def test_a_hamlet_misspelt_in_its_tone_marks_is_refused_with_a_suggestion(staff, hai_dong):
    HamletFactory(commune=hai_dong, name="xóm Đồng")
    plan = _plan(staff, [_row(code=14269, hamlet="xóm Đổng")])

    message = _errors(plan)[2]
    assert "has no hamlet called xóm Đổng" in message and "xóm Đồng" in message


@pytest.mark.django_db
def test_the_database_keeps_teams_and_hamlets_apart_by_their_marks_not_their_case(staff, hai_dong):
    hamlet_create(by=staff, commune=hai_dong, name="xóm Đồng")
    hamlet_create(by=staff, commune=hai_dong, name="xóm Đông")
    team_create(by=staff, commune=hai_dong, name="Tổ xóm Đồng", formed_on=dt.date(2023, 3, 1))
    team_create(by=staff, commune=hai_dong, name="Tổ xóm Đông", formed_on=dt.date(2023, 3, 1))

    assert Hamlet.objects.filter(commune=hai_dong, name__startswith="xóm Đ").count() == 2
    assert Team.objects.filter(commune=hai_dong).count() == 2
    # Case is no difference, in the service and in the database itself.
    with pytest.raises(Exception, match="already has a team with this name"):
        team_create(by=staff, commune=hai_dong, name="TỔ XÓM ĐỒNG", formed_on=dt.date(2023, 3, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(commune=hai_dong, name="tổ xóm đồng", formed_on=dt.date(2023, 3, 1))


# --- People -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_for_hung_does_not_update_the_member_called_hưng(staff, hai_dong):
    team = TeamFactory(commune=hai_dong, name="Tổ CNS 1")
    MemberFactory(team=team, full_name="Nguyễn Văn Hưng", phone="")
    plan = _plan(staff, [_row(code=14269, team="Tổ CNS 1", name="Nguyễn Văn Hùng")])

    assert not plan.errors
    assert [c.full_name for c in plan.creates] == ["Nguyễn Văn Hùng"]
    assert not plan.updates


@pytest.mark.django_db
def test_an_unmarked_name_finds_the_one_member_who_folds_to_it(staff, hai_dong):
    team = TeamFactory(commune=hai_dong, name="Tổ CNS 1")
    hung = MemberFactory(team=team, full_name="Nguyễn Văn Hưng", phone="")
    plan = _plan(staff, [_row(code=14269, team="Tổ CNS 1", name="nguyen van hung")])

    assert not plan.errors and not plan.creates
    assert plan.unchanged + len(plan.updates) == 1
    assert (plan.updates[0].member if plan.updates else hung) == hung


# --- Founding dates -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_team_without_any_date_asks_for_its_founding_date(staff, hai_dong):
    rows = [[14269, "", "Tổ mới", "", "Nguyễn Văn An", ""]]
    plan = _plan(staff, rows)

    assert "founding date" in _errors(plan)[2] and "Team formed on" in _errors(plan)[2]


@pytest.mark.django_db
def test_a_new_team_is_as_old_as_its_earliest_member_in_the_file(staff, hai_dong):
    rows = [
        [14269, "", "Tổ mới", "", "Nguyễn Văn An", "05/06/2024"],
        [14269, "", "Tổ mới", "", "Trần Văn Bình", "02/03/2024"],
        [14269, "", "Tổ mới", "", "Lê Văn Cường", ""],
    ]
    plan = _plan(staff, rows)

    assert not plan.errors
    assert [t.formed_on for t in plan.teams.values()] == [dt.date(2024, 3, 2)]
