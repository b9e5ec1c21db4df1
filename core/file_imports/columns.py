"""The columns an import reads and how a header is matched to one."""

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.text import capfirst

from core.text import fold

from .headers import HEADERS, NOT_COLUMNS, ROW_NUMBER_HEADERS


@dataclass(frozen=True)
class Column:
    """A column an import reads; the headers it may have are in headers.HEADERS."""

    key: str
    label: Promise

    @property
    def main_header(self) -> str:
        """The header the portal asks for, as the lists write it."""
        return HEADERS[self.key][0]


@dataclass(frozen=True)
class FileShape:
    """What an import looks for in a file."""

    columns: tuple[Column, ...]
    # The header row names one column of each group (a commune by code or by name...).
    required: tuple[tuple[str, ...], ...]
    max_rows: int
    # Why a file has no header row: what the columns it needs are.
    missing_header: Promise
    # Groups of columns a file may lack but rarely means to: a preview without one of
    # each says so.
    needed: tuple[tuple[str, ...], ...] = ()

    def synonyms(self) -> dict[str, str]:
        """Every header a column may have, folded, its own label in each language included."""
        synonyms: dict[str, str] = {}
        for column in self.columns:
            for header in HEADERS[column.key]:
                synonyms.setdefault(header_key(header), column.key)
            for name in in_every_language(column.label):
                synonyms.setdefault(name, column.key)
        return synonyms

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def header_key(text: Any) -> str:
    """A header as compared: folded, without notes in brackets or punctuation."""
    return folded_words(re.sub(r"\(.*?\)|\[.*?\]", " ", str(text or "")))


def folded_words(text: Any) -> str:
    """Text as words without case, accents or punctuation: "(Ký, ghi rõ họ tên)" is
    "ky ghi ro ho ten"."""
    folded = fold(unicodedata.normalize("NFC", str(text or "")))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def in_every_language(label: Promise) -> set[str]:
    """The label as each of the portal's languages writes it, so its own files round-trip."""
    names = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(header_key(label))
    return names


def headers_markdown(shape: FileShape) -> str:
    """The headers an import reads, as README.md lists them: one table row per column,
    the header the portal asks for in bold, the column's label in English."""
    lines = ["| Column | Headers read |", "| --- | --- |"]
    with translation.override("en"):
        labels = {c.key: str(capfirst(c.label)) for c in shape.columns}
        for column in shape.columns:
            label = labels[column.key]
            group = next((g for g in shape.required if column.key in g), ())
            others = [labels[key] for key in group if key != column.key]
            if others:
                label += f" (this or {' or '.join(others)} is required)"
            elif group:
                label += " (required)"
            main, *rest = HEADERS[column.key]
            lines.append(f"| {label} | **{main}**" + "".join(f", {h}" for h in rest) + " |")
    return "\n".join(lines) + "\n"


# Past this many words a cell is a title ("Danh sách tổ công nghệ số xã ..."), not a
# header that merely begins with a known one.
PREFIX_MAX_WORDS = 8


def match_header(key: str, synonyms: dict[str, str]) -> tuple[str | None, bool]:
    """The column a folded header names, and whether it names it exactly.

    Else the longest known header its leading words make: "SĐT liên hệ" is the phone,
    "Ngày tham gia Zalo OA" the Zalo date rather than the day one joined.
    """
    if key in synonyms:
        return synonyms[key], True
    words = key.split()
    if len(words) > PREFIX_MAX_WORDS:
        return None, False
    for length in range(len(words), 0, -1):
        start = " ".join(words[:length])
        if start in _NOT_COLUMN_KEYS:
            return None, False
        column = synonyms.get(start)
        if column is not None and len(start) > 2:
            return column, False
    return None, False


_NOT_COLUMN_KEYS = frozenset(header_key(h) for h in NOT_COLUMNS)


_ROW_NUMBER_KEYS = frozenset(header_key(h) for h in ROW_NUMBER_HEADERS) - {""}


def is_row_number(text: str) -> bool:
    return header_key(text) in _ROW_NUMBER_KEYS or text.strip() in ("#", "№")
