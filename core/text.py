"""Text folding for search: "Trần Tế Xương" and "tran te xuong" fold to the same string."""

import unicodedata

# "đ" is a letter of its own, not "d" with a mark, so decomposition leaves it alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case, without Vietnamese diacritics, with runs of spaces made one.

    The letters are put back together once their marks are off: decomposing splits
    some letters into several that are not marks (a Korean syllable into two or three),
    and the folded copy is stored in a column no longer than the text's own.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if not bare.isascii():
        bare = unicodedata.normalize("NFC", bare)
    return " ".join(bare.lower().split())


def name_key(text: str) -> str:
    """A name as an exact match compares it: composed, lower-case, runs of spaces made one.

    Unlike fold(), tone marks stay: "Trực Hùng" and "Trực Hưng" are two communes, and
    "xóm Đồng" and "xóm Đông" two hamlets.
    """
    return " ".join(typed(text).lower().split())


def has_marks(text: str) -> bool:
    """Whether `text` carries any Vietnamese diacritic (đ included)."""
    return fold(text) != " ".join(text.lower().split())


def typed(text: str) -> str:
    """Text as people meant to type it: composed (NFC), without invisible characters.

    "Nguyễn" arrives composed from one keyboard and decomposed from another (e.g. some
    phones' Telex input); stored both ways, it would be two names to an exact match and
    to a uniqueness rule. Zero-width spaces and joiners, byte-order marks and direction
    overrides (Unicode's format characters) have no use in Vietnamese text and can make
    two values that look the same differ, or a name display in a misleading order.
    """
    if text.isascii():
        return text
    composed = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in composed if unicodedata.category(ch) != "Cf")
