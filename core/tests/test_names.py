"""The rule for a typed name (communes/names.py), on plain records."""

import unicodedata
from dataclasses import dataclass

import pytest
from django.utils import translation

from core.names import NameAmbiguous, NameIndex, NameNotFound, either
from core.text import has_marks, name_key


@dataclass(frozen=True)
class Unit:
    name: str


TRUC_HUNG = Unit("Xã Trực Hùng")
TRUC_HUNG_2 = Unit("Xã Trực Hưng")
HAI_DONG = Unit("Xã Hải Đông")
QUANG_TRUNG_WARD = Unit("Phường Quang Trung")
QUANG_TRUNG = Unit("Xã Quang Trung")
UNITS = NameIndex([TRUC_HUNG, TRUC_HUNG_2, HAI_DONG, QUANG_TRUNG_WARD, QUANG_TRUNG])


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("Xã Trực Hùng", TRUC_HUNG),
        ("Xã Trực Hưng", TRUC_HUNG_2),
        ("  XÃ   TRỰC  HÙNG ", TRUC_HUNG),
        (unicodedata.normalize("NFD", "Xã Trực Hùng"), TRUC_HUNG),
        ("Trực Hùng", TRUC_HUNG),  # the kind word is optional
        ("Hai Dong", HAI_DONG),  # no diacritics at all: one unit folds to it
        ("xa hai dong", HAI_DONG),
        ("Phường Quang Trung", QUANG_TRUNG_WARD),
    ],
)
def test_a_name_decides_as_written_or_unmarked_when_one_unit_folds_to_it(typed, unit):
    assert UNITS.find(typed) == unit


def test_a_name_with_marks_never_matches_by_folding():
    with pytest.raises(NameNotFound) as caught:
        UNITS.find("Xã Trực Hũng")
    assert set(caught.value.near) == {TRUC_HUNG, TRUC_HUNG_2}


@pytest.mark.parametrize("typed", ["Truc Hung", "xa truc hung", "Quang Trung"])
def test_a_name_several_units_may_be_is_a_question(typed):
    with pytest.raises(NameAmbiguous) as caught:
        UNITS.find(typed)
    assert len(caught.value.candidates) == 2


def test_another_kind_word_is_another_unit():
    # "Thị trấn Hải Đông" is not "Xã Hải Đông", though both leave "Hải Đông".
    with pytest.raises(NameNotFound):
        UNITS.find("Thị trấn Hải Đông")


def test_a_kind_word_is_optional_on_either_side():
    hamlets = NameIndex([Unit("Đồng"), Unit("xóm Đông")])
    assert hamlets.find("xóm Đồng").name == "Đồng"
    assert hamlets.find("Đông").name == "xóm Đông"


def test_people_have_no_kind_word_to_leave_out():
    people = NameIndex([Unit("Xã Văn An")], kinds=())
    with pytest.raises(NameNotFound):
        people.find("Văn An")


def test_marks_case_and_spacing():
    assert name_key(" XÓM  Đồng ") == "xóm đồng"
    assert name_key(unicodedata.normalize("NFD", "Đồng")) == "đồng"
    assert has_marks("Đong") and has_marks("Hải") and not has_marks("Hai Dong 2")


def test_candidates_are_listed_as_a_question():
    assert either(["A"]) == "A"
    with translation.override("en"):
        assert either(["A", "B", "C"]) == "A, B or C"
    with translation.override("vi"):
        assert either(["A", "B"]) == "A hoặc B"
