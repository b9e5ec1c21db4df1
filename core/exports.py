"""Downloads every app shares: CSV written as UTF-8 with a byte-order mark (without it
Excel shows Vietnamese as mojibake) and streamed some hundred rows at a time; XLSX built
with openpyxl's write-only workbook, which keeps one row in memory at a time. Text that a
spreadsheet would run as a formula is neutralised (the imports take the quote off again,
so an export re-imports as is)."""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import openpyxl
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset(FORMULA_STARTS)
DATE_FORMAT = "%d/%m/%Y"
XLSX_DATE_FORMAT = "DD/MM/YYYY"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The rows of one sheet, its header included: Excel's limit, and so the longest list an
# XLSX export holds. Read when a list is shown or exported (tests make it small).
XLSX_MAX_ROWS = 1_048_576


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would read as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# Rows per piece of the streamed response: one piece a row made the response's own
# per-piece work the larger part of a long export.
CSV_ROWS_PER_PIECE = 500


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV text, some hundred rows at a time, starting with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([neutralise(v) for v in header])
    # A long export repeats its few hundred days: each is formatted once.
    days: dict[date, str] = {}

    def cell(value: Any) -> Any:
        if value.__class__ is str:  # most cells: neutralise without the call
            return "'" + value if value[:1] in FORMULA_FIRST else value
        if value is None:
            return ""
        if isinstance(value, date):
            text = days.get(value)
            if text is None:
                text = days[value] = value.strftime(DATE_FORMAT)
            return text
        return neutralise(value)

    for number, row in enumerate(rows, start=1):
        writer.writerow([cell(v) for v in row])
        if number % CSV_ROWS_PER_PIECE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(header: list[str], rows: Iterable[list[Any]], *, title: str) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    sheet.append(header)
    for row in rows:
        sheet.append([xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_cell(sheet, value: Any) -> Any:
    if isinstance(value, date):
        cell = openpyxl.cell.WriteOnlyCell(sheet, value=value)
        cell.number_format = XLSX_DATE_FORMAT
        return cell
    # openpyxl stores a string that starts with "=" as a formula: neutralise first.
    return neutralise(value)


def _in_language(rows: Iterable, language: str) -> Iterator:
    # A streamed response is written after the view returned: keep the request's language.
    with translation.override(language):
        yield from rows


def export_response(request, fmt: str, name: str, header: list[str], rows, title: str):
    """A download of `rows` as CSV (streamed) or XLSX, named `name-YYYYMMDD.fmt`."""
    rows = _in_language(rows, request.LANGUAGE_CODE)
    stamp = timezone.localdate().strftime("%Y%m%d")
    filename = f"{name}-{stamp}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_stream(header, rows), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            xlsx_bytes(header, rows, title=title), content_type=XLSX_CONTENT_TYPE
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Rosters hold phone numbers: not for shared caches or the browser's disk.
    response["Cache-Control"] = "private, no-store"
    return response


def xlsx_holds(count: int) -> bool:
    """Whether `count` rows and their header fit in one sheet."""
    return count + 1 <= XLSX_MAX_ROWS


@dataclass(frozen=True)
class ExportLinks:
    """A list's download links, with its filters. `xlsx` is None when the list is longer
    than a sheet holds: the page then says so and offers the CSV alone."""

    csv: str
    xlsx: str | None
    count: int
    limit: int


def export_links(request: HttpRequest, url_name: str, count: int, **kwargs) -> ExportLinks:
    """The links of the export `url_name` (a route with a `fmt` of csv or xlsx) for the
    list the request shows, `count` rows long: its filters, not its page."""
    query = request.GET.copy()
    query.pop("page", None)
    suffix = f"?{query.urlencode()}" if query else ""

    def link(fmt: str) -> str:
        return reverse(url_name, kwargs={**kwargs, "fmt": fmt}) + suffix

    fits = xlsx_holds(count)
    return ExportLinks(
        csv=link("csv"), xlsx=link("xlsx") if fits else None, count=count, limit=XLSX_MAX_ROWS
    )


def xlsx_refusal(request: HttpRequest, count: int) -> HttpResponse | None:
    """None when `count` rows fit a sheet; else the page that says why there is no XLSX
    and links the CSV of the same list (an XLSX link kept from a shorter list)."""
    if xlsx_holds(count):
        return None
    query = request.GET.urlencode()
    csv_url = request.path.removesuffix(".xlsx") + ".csv" + (f"?{query}" if query else "")
    context = {"count": count, "limit": XLSX_MAX_ROWS, "csv_url": csv_url}
    # Not a 2xx: the downloads script hands a failed fetch to the browser, which shows it.
    return render(request, "core/xlsx_too_long.html", context, status=422)
