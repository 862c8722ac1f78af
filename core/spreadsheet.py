"""Spreadsheet output for untrusted text: every writer of CSV or .xlsx goes through here.

Scraped titles and citizens' texts are attacker-controlled. A cell that starts with
``= + - @``, a tab or a carriage return is a formula to Excel/LibreOffice (``=HYPERLINK(..)``,
``=cmd|' /C calc'!A0``), so such text gets a leading apostrophe (OWASP "CSV injection"), and
.xlsx cells are always written as typed values or strings, never as formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from datetime import date, datetime
from typing import Any

# Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize(value: str) -> str:
    """Text that no spreadsheet will evaluate: a leading apostrophe before a formula trigger.

    Full-width ＝＋－＠ are included: some Chinese spreadsheet programs normalize them.
    Leading spaces are looked through too (Excel ignores them before ``=``).
    """
    if value.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_cell(value: Any) -> Any:
    """A cell value to write: numbers, booleans and dates as they are, any other value as neutral text."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | datetime | date):
        return value
    return neutralize(str(value))


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, bom: bool = True) -> bytes:
    """UTF-8 CSV (with a BOM, so Excel on a Chinese Windows opens it right), every cell neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(row.get(c, "")) for c in columns])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def display_width(text: str) -> int:
    """Columns a text takes in Excel: a CJK or full-width character is two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def to_xlsx(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str = "Sheet1",
            widths: Mapping[str, int] | None = None, default_width: int = 14,
            heading: str = "", fit: bool = False, max_width: int = 50,
            datetime_format: str = "yyyy-mm-dd hh:mm", print_ready: bool = False) -> bytes:
    """An .xlsx workbook with one sheet: bold frozen header, sized columns, no formula cells.

    Text is stored as a string cell (never a formula); text that starts with a formula trigger
    also gets Excel's quote prefix, so editing the cell later does not turn it into one.
    Datetimes must be naive local times (Excel has no time zones) and become date cells.
    `heading` puts a merged title row above the header; `fit` sizes columns to their content
    (`widths` are then upper bounds); `print_ready` adds wrapped text, an autofilter and A4
    landscape printing one page wide with the header rows repeated on every page.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = re.sub(r"[\\/*?:\[\]']", "", title)[:31] or "Sheet1"
    seen = [display_width(str(c)) for c in columns]

    def put(row_number: int, column: int, value: Any) -> Cell:
        cell = sheet.cell(row=row_number, column=column)
        if value is None:
            value = ""
        if isinstance(value, datetime):
            cell.value = value
            cell.number_format = datetime_format
            seen[column - 1] = max(seen[column - 1], len(datetime_format))
            return cell
        if isinstance(value, bool | int | float | date):
            cell.value = value
            seen[column - 1] = max(seen[column - 1], len(str(value)))
            return cell
        # Control characters make a file Excel refuses to open (openpyxl raises on them).
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        # Assigning a str lets openpyxl read "=..." as a formula: set the value and type by hand.
        cell._value = text
        cell.data_type = "s"
        if neutralize(text) != text:
            cell.quotePrefix = True
        longest = max((display_width(line) for line in text.splitlines()), default=0)
        seen[column - 1] = max(seen[column - 1], longest)
        return cell

    header_row = 1
    if heading:
        head = put(1, 1, heading)
        seen[0] = display_width(str(columns[0])) if columns else 0  # the merged title sizes no column
        head.font = Font(bold=True, size=14)
        head.alignment = Alignment(horizontal="left", vertical="center")
        if len(columns) > 1:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
        sheet.row_dimensions[1].height = 24
        header_row = 2
    thin = Side(style="thin", color="999999")
    grid = Border(left=thin, right=thin, top=thin, bottom=thin)
    for i, name in enumerate(columns, start=1):
        head = put(header_row, i, name)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if print_ready:
            head.border = grid
    last_row = header_row
    body = Alignment(vertical="top", wrap_text=True)
    # Assigning a style object hashes it into the workbook's tables (most of the time of a big
    # sheet); the few distinct results are kept by the cell's style before and copied instead.
    styled: dict[tuple[int, ...], Any] = {}
    for r, row in enumerate(rows, start=header_row + 1):
        last_row = r
        for i, name in enumerate(columns, start=1):
            cell = put(r, i, row.get(name, ""))
            if print_ready:
                key = tuple(cell._style) if cell._style is not None else ()
                done = styled.get(key)
                if done is None:
                    cell.alignment = body
                    cell.border = grid
                    styled[key] = copy(cell._style)
                else:
                    cell._style = copy(done)
    sheet.freeze_panes = f"A{header_row + 1}"
    for i, name in enumerate(columns, start=1):
        if fit:
            cap = (widths or {}).get(name, max_width)
            width = min(max(seen[i - 1] + 2, 6), cap)
        else:
            width = (widths or {}).get(name, default_width)
        sheet.column_dimensions[get_column_letter(i)].width = width
    if print_ready and columns:
        sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last_row}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = f"1:{header_row}"
        sheet.print_options.horizontalCentered = True
        sheet.page_margins.left = sheet.page_margins.right = 0.4
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
