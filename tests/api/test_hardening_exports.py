"""Spreadsheet exports of scraped text hold no formula: CSV cells are neutralized, .xlsx cells are text."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from sqlmodel import Session

from core import spreadsheet
from core.events.models import Event
from core.timeutil import to_local, utcnow
from core.users.models import User

# What the issue saw in a real export, and the other triggers of OWASP's list.
INJECTED = [
    '=HYPERLINK("http://evil.example/login","点此紧急签收")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+2",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "＝1+1",
]


def test_ledger_exports_of_injected_titles_hold_no_formula(
        client: TestClient, session: Session, make_user: Callable[..., User],
        auth: Callable[[User], dict[str, str]], make_event: Callable[..., Event]) -> None:
    duty = auth(make_user("duty-x", "duty"))
    for title in INJECTED:
        event = make_event(title)
        res = client.post("/api/tickets", json={"event_id": event.id, "note": title}, headers=duty)
        assert res.status_code == 201, res.text
    year = to_local(utcnow()).year

    xlsx = client.get(f"/api/ledger?year={year}&format=xlsx", headers=duty)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    titles = [c for c in cells if c.row > 2 and c.column_letter == "E"]  # below the title and header rows
    # The text itself, intact. A control character is stored as the format's _xHHHH_ escape
    # (ECMA-376 ST_Xstring; Excel and LibreOffice decode it, openpyxl's reader leaves it as is).
    assert sorted(unescape(c.value) for c in titles) == sorted(INJECTED)
    assert all(c.data_type == "s" and c.quotePrefix for c in titles)

    res = client.get(f"/api/ledger?year={year}&format=csv", headers=duty)
    table = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    for row in table[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(spreadsheet.FORMULA_TRIGGERS), cell
    assert sorted(row[4] for row in table[1:]) == sorted("'" + t for t in INJECTED)


def test_plain_values_keep_their_type() -> None:
    book = load_workbook(io.BytesIO(spreadsheet.to_xlsx(
        [{"n": 3, "x": 1.5, "t": "站前街道-停车", "c": "bad\x01char"}], ["n", "x", "t", "c"])))
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == [3, 1.5, "站前街道-停车", "badchar"]
    assert [c.data_type for c in sheet[2]] == ["n", "n", "s", "s"]
    assert spreadsheet.neutralize("-5") == "'-5" and spreadsheet.neutralize("5-") == "5-"
