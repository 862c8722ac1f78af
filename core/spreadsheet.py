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


_WIDE = re.compile("[\u2e80-\U0010ffff]")


def display_width(text: str) -> int:
    """Columns a text takes in Excel: a CJK or full-width character (from U+2E80) is two."""
    return len(text) if text.isascii() else len(text) + len(_WIDE.findall(text))


# Characters XML 1.0 cannot hold: a file with them is one Excel refuses to open.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _column_width(width: float) -> float:
    """XlsxWriter's argument for a column `width` characters wide as stored in the file (it adds
    5 pixels of padding at 7 pixels a character; openpyxl stored the number as given)."""
    return width - 5 / 7 if width > 1 else width


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

    Written with XlsxWriter (a year's ledger, ~70k cells, in a fraction of openpyxl's time); every
    cell is written with its typed method (write_string never makes a formula) and the formats
    are a handful shared by all cells.
    """
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    sheet = book.add_worksheet(re.sub(r"[\\/*?:\[\]']", "", title)[:31] or "Sheet1")
    seen = [display_width(str(c)) for c in columns]
    formats: dict[tuple[str, bool], Any] = {}
    cell_style: dict[str, Any] = {"valign": "top", "text_wrap": True, "border": 1, "border_color": "#999999"} \
        if print_ready else {}
    head_style: dict[str, Any] = {"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True,
                                  **({"border": 1, "border_color": "#999999"} if print_ready else {})}
    kinds: dict[str, dict[str, Any]] = {
        "body": cell_style, "datetime": {**cell_style, "num_format": datetime_format},
        "date": {**cell_style, "num_format": "yyyy-mm-dd"}, "head": head_style,
        "title": {"bold": True, "font_size": 14, "align": "left", "valign": "vcenter"},
    }

    def fmt(kind: str, quote: bool = False) -> Any:
        found = formats.get((kind, quote))
        if found is None:
            props = {**kinds[kind], **({"quote_prefix": True} if quote else {})}
            found = formats[(kind, quote)] = book.add_format(props) if props else None
        return found

    def put(r: int, c: int, value: Any, kind: str = "body") -> None:
        """Row and column 0-based."""
        if value is None:
            value = ""
        if isinstance(value, datetime):
            sheet.write_datetime(r, c, value, fmt("datetime" if kind == "body" else kind))
            seen[c] = max(seen[c], len(datetime_format))
        elif isinstance(value, bool):
            sheet.write_boolean(r, c, value, fmt(kind))
            seen[c] = max(seen[c], len(str(value)))
        elif isinstance(value, int | float):
            sheet.write_number(r, c, value, fmt(kind))
            seen[c] = max(seen[c], len(str(value)))
        elif isinstance(value, date):
            sheet.write_datetime(r, c, value, fmt("date" if kind == "body" else kind))
            seen[c] = max(seen[c], len(str(value)))
        else:
            text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
            sheet.write_string(r, c, text, fmt(kind, neutralize(text) != text))
            if 2 * len(text) > seen[c]:  # else it cannot be the widest (a character is at most two)
                longest = max((display_width(line) for line in text.splitlines()), default=0) \
                    if "\n" in text or "\r" in text else display_width(text)
                seen[c] = max(seen[c], longest)

    header_row = 0
    if heading:
        if len(columns) > 1:
            sheet.merge_range(0, 0, 0, len(columns) - 1, "", fmt("title"))
        put(0, 0, heading, "title")
        seen[0] = display_width(str(columns[0])) if columns else 0  # the merged title sizes no column
        sheet.set_row(0, 24)
        header_row = 1
    for i, name in enumerate(columns):
        put(header_row, i, name, "head")
    last_row = header_row
    for r, row in enumerate(rows, start=header_row + 1):
        last_row = r
        for i, name in enumerate(columns):
            put(r, i, row.get(name, ""))
    sheet.freeze_panes(header_row + 1, 0)
    for i, name in enumerate(columns):
        if fit:
            cap = (widths or {}).get(name, max_width)
            width = min(max(seen[i] + 2, 6), cap)
        else:
            width = (widths or {}).get(name, default_width)
        sheet.set_column(i, i, _column_width(width))
    if print_ready and columns:
        sheet.autofilter(header_row, 0, last_row, len(columns) - 1)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)  # one page wide, as many long as it takes
        sheet.repeat_rows(0, header_row)
        sheet.center_horizontally()
        sheet.set_margins(left=0.4, right=0.4)
    book.close()
    return buffer.getvalue()
