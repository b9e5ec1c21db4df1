"""Finding a record by a name someone typed: a commune, a district, a hamlet, a team, a course.

The rule is here, below every app; communes/names.py applies it to the text of an
agency's name, where a commune or a district is looked for.

Tone marks tell places apart ("Xã Trực Hùng" is not "Xã Trực Hưng"), so a name typed
with its marks decides a record only when it matches as written: composed, in any case,
with runs of spaces made one, the kind word ("xã", "thôn"...) optional. Old spreadsheets
often have no diacritics at all ("Hai Dong"); such a name may match by folding, but only
when exactly one record folds to it. Anything else is refused with the candidates, so
that the person who typed it chooses; nothing is ever guessed.

Search and suggestions (which only list) stay accent-insensitive: they use fold().
"""

import re
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.utils.translation import gettext as _

from .text import fold, has_marks, name_key

T = TypeVar("T")

# Longest first, so that "tổ dân phố" is taken whole before "tổ" could be.
KIND_WORDS = (
    "tổ dân phố",
    "thành phố",
    "thị trấn",
    "phường",
    "huyện",
    "thôn",
    "xóm",
    "tỉnh",
    "xã",
    "tp.",
    "tp",
)


def _split_kind(key: str, words: tuple[str, ...]) -> tuple[str, str]:
    """(the kind word `key` starts with or "", the rest)."""
    for word in words:
        if key.startswith(word + " ") and len(key) > len(word) + 1:
            return word, key[len(word) + 1 :].strip()
    return "", key


class NameNotFound(LookupError):
    """No record has the name; `near` holds those whose name folds to the same letters."""

    def __init__(self, text: str, near: list):
        super().__init__(text)
        self.text = text
        self.near = near


class NameAmbiguous(LookupError):
    """Several records have the name as typed; the typist has to choose."""

    def __init__(self, text: str, candidates: list):
        super().__init__(text)
        self.text = text
        self.candidates = candidates


class NameIndex(Generic[T]):
    """Records by the names people type for them, matched by the rule above."""

    def __init__(
        self,
        items: Iterable[T] = (),
        name: Callable[[T], str] | None = None,
        kinds: tuple[str, ...] = KIND_WORDS,
    ):
        """`kinds` are the words a name may go without: none for people and courses."""
        self._name = name or (lambda item: item.name)
        self._kinds = kinds
        self._folded_kinds = tuple(dict.fromkeys(fold(w) for w in kinds))
        self._exact: dict[str, list[T]] = {}
        self._bare: dict[str, list[T]] = {}
        self._folded: dict[str, list[T]] = {}
        self._folded_bare: dict[str, list[T]] = {}
        for item in items:
            self.add(item)

    def add(self, item: T) -> None:
        key = name_key(self._name(item))
        folded = fold(key)
        for index, value in (
            (self._exact, key),
            (self._bare, _split_kind(key, self._kinds)[1]),
            (self._folded, folded),
            (self._folded_bare, _split_kind(folded, self._folded_kinds)[1]),
        ):
            bucket = index.setdefault(value, [])
            if item not in bucket:
                bucket.append(item)

    @staticmethod
    def _lookup(
        key: str, words: tuple[str, ...], exact: dict[str, list[T]], bare: dict[str, list[T]]
    ) -> list[T]:
        """The records named `key`; without a match as written, those whose name differs
        only by the kind word that one side leaves out."""
        found = exact.get(key, [])
        if found:
            return found
        kind, rest = _split_kind(key, words)
        if kind:
            # "xóm Đồng" typed for a hamlet recorded as "Đồng"; "thôn Đồng" is not "xóm Đồng".
            return exact.get(rest, [])
        return bare.get(key, [])

    def written(self, text: str) -> list[T]:
        """The records named `text` as written (case, spacing and kind word aside)."""
        key = name_key(text)
        return list(self._lookup(key, self._kinds, self._exact, self._bare)) if key else []

    def folded(self, text: str) -> list[T]:
        """Records whose name folds to the same letters as `text`.

        A match only for a name typed without any diacritic; otherwise a suggestion.
        """
        key = fold(text)
        return list(self._lookup(key, self._folded_kinds, self._folded, self._folded_bare))

    def matches(self, text: str) -> list[T]:
        """Every record `text` may name under the rule (one, several or none)."""
        found = self.written(text)
        if found or has_marks(text):
            return found
        return self.folded(text)

    def find(self, text: str) -> T:
        """The one record `text` names, or NameAmbiguous / NameNotFound."""
        found = self.matches(text)
        if len(found) == 1:
            return found[0]
        if found:
            raise NameAmbiguous(text, found)
        raise NameNotFound(text, self.folded(text))  # suggestions only


def either(labels: list[str]) -> str:
    """ "A or B", "A, B or C": the candidates as a question lists them."""
    labels = [str(label) for label in labels]
    if len(labels) < 2:
        return "".join(labels)
    return _("%(some)s or %(last)s") % {"some": ", ".join(labels[:-1]), "last": labels[-1]}


def name_taken(queryset, name: str) -> bool:
    """Whether a new `name` would name a record of `queryset` (rows with name_key and
    name_folded): the same name as written, or, for a name typed without any diacritic,
    one that folds to it ("thon dong" beside "Thôn Đông" is that hamlet typed again)."""
    if queryset.filter(name_key=name_key(name)).exists():
        return True
    return not has_marks(name) and queryset.filter(name_folded=fold(name)).exists()


_PUNCTUATION = re.compile(r"[^\w\s]+")


def name_words(text: str, case: Callable[[str], str] = name_key) -> str:
    """The text as names are looked for in it: punctuation as spaces, so that a name is
    found between commas, and composed and lower-cased (or folded)."""
    return " ".join(_PUNCTUATION.sub(" ", case(text)).split())
