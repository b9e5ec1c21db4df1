import unicodedata

import pytest

from communes.text import fold


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
