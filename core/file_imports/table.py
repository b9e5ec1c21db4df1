"""Finding a file's header row and data rows, and saying how it was read: each column,
the warnings, the signature block left out."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from .columns import FileShape, folded_words, header_key, is_row_number, match_header

HEADER_SEARCH_ROWS = 10
MAX_COLUMNS = 60


class ImportFileError(Exception):
    """The file as a whole cannot be used (not a spreadsheet, no header row, no rows)."""


class MissingHeader(ImportFileError):
    """No row among the first ten names the columns the import needs."""


class CellError(ValueError):
    """A cell that cannot be read; its message tells the row's author what to write."""


@dataclass
class Header:
    """A column of the file as the header row names it, and how it was read."""

    # How a column was read: as one of the import's columns, as the rows' numbers, not
    # at all because another column is already read as the same, because its header is
    # not one the portal knows, or because it has data but no header.
    READ, ROW_NUMBER, DUPLICATE, UNKNOWN, UNNAMED = (
        "read",
        "row_number",
        "duplicate",
        "unknown",
        "unnamed",
    )

    position: int
    text: str
    kind: str
    key: str | None = None  # the column it is read as, or the one read elsewhere

    @property
    def letter(self) -> str:
        return get_column_letter(self.position + 1)


@dataclass
class Table:
    columns: dict[str, int]  # column key -> index in the row
    header_row: int
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)
    shape: FileShape | None = None
    headers: list[Header] = field(default_factory=list)
    # The signature block under the list (first and last row), which is not read.
    signature: tuple[int, int] | None = None

    def report(self) -> dict[str, Any]:
        """How the file was read, for the preview: each column, warnings, rows not read.

        Written in the current language, as the rows' errors are.
        """
        if self.shape is None:
            return {}
        labels = {c.key: str(capfirst(c.label)) for c in self.shape.columns}
        columns = []
        for header in self.headers:
            entry = {"column": header.letter, "header": header.text, "ignored": True}
            if header.kind == Header.READ:
                entry.update(read_as=labels[header.key], ignored=False)
            elif header.kind == Header.ROW_NUMBER:
                entry.update(note=_("Row numbers, not needed"), ignored=False)
            elif header.kind == Header.DUPLICATE:
                entry["note"] = _("Not read: column %(column)s is already read as %(label)s.") % {
                    "column": get_column_letter(self.columns[header.key] + 1),
                    "label": labels[header.key],
                }
            elif header.kind == Header.UNNAMED:
                entry["note"] = _("Not read: the column has no header.")
            else:
                entry["note"] = _("Not read: the portal does not know this header.")
            columns.append(entry)
        skipped = []
        if self.signature:
            first, last = self.signature
            skipped.append(
                _("Row %(first)d: signature block, not read.") % {"first": first}
                if first == last
                else _("Rows %(first)d–%(last)d: signature block, not read.")
                % {"first": first, "last": last}
            )
        return {
            "columns": columns,
            "columns_ignored": sum(entry["ignored"] for entry in columns),
            "warnings": self._warnings(),
            "skipped_rows": skipped,
        }

    def _warnings(self) -> list[str]:
        """A needed column that was not found, and the unknown header that may be it."""
        shape = self.shape
        synonyms: dict[str, list[str]] = {}
        for synonym, key in shape.synonyms().items():
            synonyms.setdefault(key, []).append(synonym)
        unknown = [h for h in self.headers if h.kind == Header.UNKNOWN]
        warnings = []
        for group in shape.needed:
            if any(key in self.columns for key in group):
                continue
            close = next(
                (
                    (header, key)
                    for key in group
                    for header in unknown
                    if _looks_close(header.text, synonyms[key])
                ),
                None,
            )
            if close:
                header, key = close
                column = shape.column(key)
                warnings.append(
                    _(
                        "No column was read as %(label)s; the column “%(header)s” looks "
                        "close: rename it to %(main)s."
                    )
                    % {
                        "label": str(capfirst(column.label)),
                        "header": header.text,
                        "main": column.main_header,
                    }
                )
            else:
                warnings.append(
                    _("No column was read as %(label)s.")
                    % {"label": " / ".join(str(capfirst(shape.column(key).label)) for key in group)}
                )
        return warnings


def _looks_close(text: str, synonyms: list[str]) -> bool:
    """Whether a header not known looks meant as a column: it holds one of the column's
    headers (notes in brackets included), or differs from one by a slip of the keyboard."""
    words = folded_words(text)
    padded = f" {words} "
    for synonym in synonyms:
        if len(synonym) >= 3 and f" {synonym} " in padded:
            return True
        if SequenceMatcher(None, words, synonym).ratio() >= 0.85:
            return True
    return False


def _is_blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def find_header(rows: Iterable[list[Any] | tuple], shape: FileShape) -> Table:
    """The header is the first row, among the first ten, naming the shape's required columns.

    Rows are read up to a limit, so that a file unpacking into far more (or into endless
    columns) cannot exhaust a worker. Empty rows are dropped as they come, so rows that
    are merely formatted cost nothing.
    """
    kept: list[tuple[int, list[Any]]] = []
    for number, cells in enumerate(rows, start=1):
        cells = list(cells[:MAX_COLUMNS])
        if all(_is_blank(cell) for cell in cells):
            continue
        if len(kept) > shape.max_rows:
            raise ImportFileError(
                _("The file has more than %(limit)s rows. Split it into several files.")
                % {"limit": f"{shape.max_rows:,}".replace(",", ".")}
            )
        kept.append((number, cells))
    synonyms = shape.synonyms()
    for index, (number, cells) in enumerate(kept):
        if number > HEADER_SEARCH_ROWS:
            break
        columns = _header_columns(cells, synonyms)
        if all(any(key in columns for key in group) for group in shape.required):
            data, signature = _without_signature(kept[index + 1 :], columns, shape)
            return Table(
                columns=columns,
                header_row=number,
                rows=data,
                shape=shape,
                headers=_headers(cells, columns, synonyms, data),
                signature=signature,
            )
    raise MissingHeader(str(shape.missing_header))


def _header_columns(cells: list[Any], synonyms: dict[str, str]) -> dict[str, int]:
    """Where each column is: a header naming it exactly wins over one that begins with a
    known header ("Tên tổ" is the team, whatever "Tổ trưởng" beside it begins with)."""
    matches = [
        (position, *match_header(header_key(cell), synonyms)) for position, cell in enumerate(cells)
    ]
    columns: dict[str, int] = {}
    for exact in (True, False):
        for position, key, is_exact in matches:
            if key is not None and is_exact == exact:
                columns.setdefault(key, position)
    return columns


def _headers(
    cells: list[Any], columns: dict[str, int], synonyms: dict[str, str], data: list
) -> list[Header]:
    """Every column of the file and how it was read, a column without a header but with
    data included: no column is dropped without a word."""
    read = {position: key for key, position in columns.items()}
    width = max([len(cells), *(len(row) for _number, row in data)])
    headers = []
    for position in range(width):
        cell = cells[position] if position < len(cells) else None
        text = "" if _is_blank(cell) else " ".join(str(cell).split())
        if position in read:
            headers.append(Header(position, text, Header.READ, read[position]))
        elif not text:
            if any(position < len(row) and not _is_blank(row[position]) for _n, row in data):
                headers.append(Header(position, "", Header.UNNAMED))
        elif is_row_number(text):
            headers.append(Header(position, text, Header.ROW_NUMBER))
        else:
            key, _exact = match_header(header_key(text), synonyms)
            kind = Header.UNKNOWN if key is None else Header.DUPLICATE
            headers.append(Header(position, text, kind, key))
    return headers


# What the signature block under an office's list begins with, folded: who drew it up,
# "(sign and write the full name)", who certifies it, "<place>, day … month … year …",
# "on behalf of", "for the chairman", the signer's title, the copies' recipients.
_SIGNATURE_START = re.compile(
    r"^(nguoi lap|can bo lap|ky( va)? (ghi ro|ten|dong dau)|xac nhan|"
    r"(t m|tm|k t|kt|t l|tl|q) |(pho )?chu tich|thu truong|(pho )?giam doc|bi thu|noi nhan)"
)
_SIGNATURE_DATE = re.compile(r"\bngay\b.*\bthang\b.*\bnam\b")


def _is_signature(cells: list[Any]) -> bool:
    for cell in cells:
        if isinstance(cell, str):
            words = folded_words(cell)
            if _SIGNATURE_START.match(words + " ") or _SIGNATURE_DATE.search(words):
                return True
    return False


def _without_signature(
    rows: list[tuple[int, list[Any]]], columns: dict[str, int], shape: FileShape
) -> tuple[list[tuple[int, list[Any]]], tuple[int, int] | None]:
    """The data rows without the signature block offices put under a list.

    The block runs from the first row that begins it to the end of the sheet, its
    signers' names and empty rows included. A complete row below (every required column
    filled) means the list goes on: then nothing is taken for a block, and a row that
    looked like one is read, and refused, as a row.
    """

    def complete(cells: list[Any]) -> bool:
        return all(
            any(
                columns.get(key) is not None
                and columns[key] < len(cells)
                and not _is_blank(cells[columns[key]])
                for key in group
            )
            for group in shape.required
        )

    for index, (_number, cells) in enumerate(rows):
        if complete(cells) or not _is_signature(cells):
            continue
        if any(complete(later) for _n, later in rows[index + 1 :]):
            return rows, None
        return rows[:index], (rows[index][0], rows[-1][0])
    return rows, None
