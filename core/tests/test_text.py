import unicodedata

import pytest

from core.text import fold


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Phường Trần Tế Xương", "phuong tran te xuong"),
        ("TRAN  TE   XUONG", "tran te xuong"),
        ("Xã Hải Đông", "xa hai dong"),
        ("đ Đ", "d d"),
        # The same name typed with combining marks (decomposed) folds the same way.
        (unicodedata.normalize("NFD", "Nguyễn Thị Ánh"), "nguyen thi anh"),
    ],
)
def test_fold_ignores_diacritics_case_and_spacing(typed, folded):
    assert fold(typed) == folded


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("가나다라", "가나다라"),
        ("Seoul 서울특별시", "seoul 서울특별시"),
        ("Nguyễn 김민준", "nguyen 김민준"),
    ],
)
def test_fold_keeps_letters_that_decompose_into_other_letters_whole(typed, folded):
    # The folded copy is stored in a column as long as the name's: a Korean syllable,
    # which decomposes into two or three letters that are not marks, stays one.
    assert fold(typed) == folded
