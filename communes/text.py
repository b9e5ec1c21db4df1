"""Text folding for search: "Trần Tế Xương" and "tran te xuong" fold to the same string."""

import unicodedata

# "đ" is a letter of its own, not "d" with a mark, so decomposition leaves it alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case, without Vietnamese diacritics, with runs of spaces made one."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())
