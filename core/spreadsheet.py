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


def to_xlsx(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str = "Sheet1",
            widths: Mapping[str, int] | None = None, default_width: int = 14) -> bytes:
    """An .xlsx workbook with one sheet: bold frozen header, sized columns, no formula cells.

    Text is stored as a string cell (never a formula); text that starts with a formula trigger
    also gets Excel's quote prefix, so editing the cell later does not turn it into one.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = re.sub(r"[\\/*?:\[\]']", "", title)[:31] or "Sheet1"

    def put(row_number: int, column: int, value: Any) -> Cell:
        cell = sheet.cell(row=row_number, column=column)
        if value is None:
            value = ""
        if isinstance(value, bool | int | float | datetime | date):
            cell.value = value
            return cell
        # Control characters make a file Excel refuses to open (openpyxl raises on them).
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        # Assigning a str lets openpyxl read "=..." as a formula: set the value and type by hand.
        cell._value = text
        cell.data_type = "s"
        if neutralize(text) != text:
            cell.quotePrefix = True
        return cell

    for i, name in enumerate(columns, start=1):
        head = put(1, i, name)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=2):
        for i, name in enumerate(columns, start=1):
            put(r, i, row.get(name, ""))
    sheet.freeze_panes = "A2"
    for i, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = (widths or {}).get(name, default_width)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
