"""Reading an uploaded file's rows: XLSX (refusing zip bombs and formulas nobody
computed) or CSV (in the encodings Excel and Windows save in)."""

import codecs
import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterator

import openpyxl
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl.utils import column_index_from_string, get_column_letter

from .columns import FileShape
from .table import (
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    ImportFileError,
    MissingHeader,
    Table,
    find_header,
)

logger = logging.getLogger(__name__)

# An XLSX is a zip: a few hundred kilobytes can unpack into gigabytes (a zip bomb), and
# openpyxl reads the shared strings whole. A member list of 20,000 rows unpacks to some
# 10 MB; anything past this is refused before it is opened.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024


def read_table(content: bytes, shape: FileShape) -> Table:
    """The header and the data rows of an XLSX or CSV file, with spreadsheet row numbers."""
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_table(content, shape)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or as CSV UTF-8.")
        )
    return find_header(csv_rows(content), shape)


def _check_unpacked_size(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        return  # openpyxl says the file cannot be read
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        logger.warning("workbook refused: %d bytes unpack to %d", len(content), unpacked)
        raise ImportFileError(
            _(
                "This file unpacks to far more than any list needs, so it is not read. "
                "Open it in Excel, keep only the list, and save it again."
            )
        )


def _xlsx_table(content: bytes, shape: FileShape) -> Table:
    """The first sheet with a header row, the active sheet looked at first."""
    _check_unpacked_size(content)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheets = [workbook.active, *(s for s in workbook.worksheets if s != workbook.active)]
    except Exception as exc:
        logger.info("unreadable workbook: %r", exc)
        raise ImportFileError(
            _("This Excel file cannot be read. Open it in Excel and save it again as .xlsx.")
        ) from None
    refusal = None
    for sheet in sheets:
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            continue  # a chart sheet
        # Some programs write a wrong sheet size; reading every row is the safe way.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        try:
            table = find_header(rows, shape)
        except MissingHeader as exc:
            # Headers that are formulas nobody computed read as empty cells.
            _refuse_formulas(content, sheet, rows=range(1, HEADER_SEARCH_ROWS + 1))
            refusal = refusal or exc
            continue
        except ImportFileError as exc:
            refusal = refusal or exc
            continue
        last = table.signature[0] if table.signature else None
        _refuse_formulas(
            content,
            sheet,
            rows=range(table.header_row, last or 2**31),
            columns=set(table.columns.values()),
        )
        return table
    raise refusal or ImportFileError(_("The workbook has no sheet."))


# A cell whose first child is a formula, and the value stored after it if any, in the
# sheet's XML whatever its namespace prefix. The schema puts <f> before <v>, neither
# holds markup, and a cell's attributes hold no ">": a regular expression reads them
# far faster than an XML parser walks every cell of a large sheet.
_P = rb"(?:[A-Za-z_][\w.-]*:)?"
_FORMULA_CELL = re.compile(
    rb"<" + _P + rb"c\b([^>]*)>\s*<" + _P + rb"f\b[^>]*?(?:/>|>[^<]*</" + _P + rb"f>)\s*"
    rb"(?:<" + _P + rb"v\b[^>]*?(?:/>|>([^<]*)</" + _P + rb"v>))?"
)
_FORMULA_TAG = re.compile(rb"<" + _P + rb"f[\s>/]")
_CELL_REF = re.compile(rb"""\br=["']([A-Z]+)(\d+)["']""")
_TEXT_RESULT = re.compile(rb"""\bt=["']str["']""")


def _refuse_formulas(content: bytes, sheet, *, rows: range, columns: set[int] | None = None):
    """Refuse a sheet whose cells read hold formulas without a computed value.

    A program that writes a workbook (openpyxl among them) stores a formula without its
    result, which Excel computes when it opens the file; read as it is, such a cell is
    empty, and an empty cell leaves what the portal holds.
    """
    # Where the sheet is in the archive: openpyxl knows, having read its workbook.xml.
    path = getattr(sheet, "_worksheet_path", None)
    if not path:
        logger.warning("openpyxl no longer gives a sheet's path: formulas go unchecked")
        return
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        try:
            xml = archive.read(path.lstrip("/"))
        except KeyError:
            return
    cells = [
        (row, column)
        for row, column in _uncomputed_formulas(xml)
        if row in rows and (columns is None or column in columns)
    ]
    if not cells:
        return
    shown = ", ".join(f"{get_column_letter(column + 1)}{row}" for row, column in cells[:5])
    if len(cells) > 5:
        shown += "…"
    raise ImportFileError(
        ngettext(
            "Cell %(cells)s holds a formula with no computed value: open the file in Excel "
            "and save it, then upload it again.",
            "Cells %(cells)s hold formulas with no computed value: open the file in Excel "
            "and save it, then upload it again.",
            len(cells),
        )
        % {"cells": shown}
    )


def _uncomputed_formulas(xml: bytes) -> Iterator[tuple[int, int]]:
    """(row, column index) of each cell with a formula and no value stored with it."""
    if not _FORMULA_TAG.search(xml):
        return  # most lists hold no formula: one quick scan says so
    for match in _FORMULA_CELL.finditer(xml):
        attributes, value = match[1], match[2]
        # A formula whose result is an empty text keeps an empty value, typed "str".
        if value or (value is not None and _TEXT_RESULT.search(attributes)):
            continue
        ref = _CELL_REF.search(attributes)
        if ref:  # Excel and every program we know name each cell
            yield int(ref[2]), column_index_from_string(ref[1].decode()) - 1


def _decoded(content: bytes) -> str:
    """The text of a CSV file, in the encodings Excel and Windows save in."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated.
        encodings: tuple[str, ...] = ("utf-16",)
    elif _utf16_without_bom(content, low_first=True):
        encodings = ("utf-16-le",)
    elif _utf16_without_bom(content, low_first=False):
        encodings = ("utf-16-be",)
    else:
        # Excel saves "CSV UTF-8" with a BOM; older Vietnamese Windows saves in cp1258.
        encodings = ("utf-8-sig", "cp1258")
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        _(
            "The file is neither an Excel workbook nor a CSV file in a known encoding. "
            "In Excel choose Save As, then CSV UTF-8."
        )
    )


def _utf16_without_bom(content: bytes, *, low_first: bool) -> bool:
    """UTF-16 text without a byte-order mark: the headers, digits and separators are
    ASCII, whose high byte is zero; text in one of the 8-bit encodings has no zeros."""
    head = content[:4096]
    if len(head) < 4 or len(head) % 2:
        return False
    high, low = (head[1::2], head[0::2]) if low_first else (head[0::2], head[1::2])
    return high.count(0) > len(high) // 3 and low.count(0) * 10 < high.count(0)


def csv_rows(content: bytes) -> Iterator[list[str]]:
    text = _decoded(content)
    if "\x00" in text:
        raise ImportFileError(
            _("This is not a CSV file. Upload an Excel workbook (.xlsx) or a CSV UTF-8 file.")
        )
    # Excel writes ";" where the decimal mark is a comma. The delimiter is the one that
    # splits the opening lines (title rows included) into the most columns.
    head = text[:16384].splitlines()[: HEADER_SEARCH_ROWS + 5]
    delimiter = max(
        ",;\t", key=lambda d: max((len(r) for r in csv.reader(head, delimiter=d)), default=0)
    )
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
