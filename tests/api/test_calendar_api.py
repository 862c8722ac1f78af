"""The calendar API: admins enter 2027, open tickets follow, everyone sees the warning go.

The 2027 Spring Festival rows are TEST DATA (测试数据，非官方), not the State Council's notice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient

from core.events.models import Event
from core.timeutil import SHANGHAI, to_local
from core.units.models import Unit
from core.users.models import User

Headers = dict[str, str]
DEC_28 = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
SPRING_FESTIVAL_2027_TEST_CSV = (
    "date,kind,name\n"
    "# 测试数据（非官方）：2027年春节安排尚未公布，以下日期仅供测试\n"
    "2027-02-05,holiday,春节（测试数据）\n2027-02-08,holiday,春节（测试数据）\n"
    "2027-02-09,holiday,春节（测试数据）\n2027-02-10,holiday,春节（测试数据）\n"
    "2027-02-11,holiday,春节（测试数据）\n2027-02-20,workday,春节调休（测试数据）\n"
)


def due_day(ticket: dict[str, object]) -> date:
    value = ticket["close_due_at"]
    assert isinstance(value, str)
    return to_local(datetime.fromisoformat(value)).date()


@pytest.fixture
def staff(make_user: Callable[..., User], make_unit: Callable[[str], Unit]) -> dict[str, User]:
    unit = make_unit("站前社区")
    return {role: make_user(role, role, unit if role == "handler" else None)
            for role in ("admin", "leader", "duty", "handler")}


@pytest.fixture
def people(staff: dict[str, User], auth: Callable[[User], Headers]) -> dict[str, Headers]:
    """Bearer headers, made now (a test travelling in time signs in again, see `signed_in`)."""
    return {role: auth(user) for role, user in staff.items()}


def signed_in(staff: dict[str, User], auth: Callable[[User], Headers]) -> dict[str, Headers]:
    return {role: auth(user) for role, user in staff.items()}


def test_only_admins_write_the_calendar(client: TestClient, people: dict[str, Headers]) -> None:
    day = {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}
    files = {"file": ("2027.csv", SPRING_FESTIVAL_2027_TEST_CSV.encode(), "text/csv")}
    for role in ("leader", "duty", "handler"):
        assert client.post("/api/calendar/days", json=day, headers=people[role]).status_code == 403, role
        assert client.post("/api/calendar/import", files=files, headers=people[role]).status_code == 403, role
        assert client.delete("/api/calendar/days/2027-01-01", headers=people[role]).status_code == 403, role
    assert client.post("/api/calendar/days", json=day).status_code == 401
    assert client.get("/api/calendar/days?year=2027", headers=people["admin"]).json() == []
    res = client.post("/api/calendar/days", json=day, headers=people["admin"])
    assert res.status_code == 200 and res.json() == {**day, "note": ""}
    for role in ("leader", "duty", "handler"):  # everyone signed in reads it
        assert client.get("/api/calendar/days?year=2027", headers=people[role]).json() == [{**day, "note": ""}]
    assert client.post("/api/calendar/days", json={**day, "kind": "rest"},
                       headers=people["admin"]).status_code == 422
    assert client.delete("/api/calendar/days/2027-01-01", headers=people["admin"]).status_code == 204
    assert client.delete("/api/calendar/days/2027-01-01", headers=people["admin"]).status_code == 404
    assert client.get("/api/calendar/days?year=2027", headers=people["admin"]).json() == []


def test_entering_2027_moves_open_deadlines_and_clears_the_warning(
        client: TestClient, staff: dict[str, User], auth: Callable[[User], Headers],
        make_event: Callable[..., Event]) -> None:
    with time_machine.travel(DEC_28, tick=False):
        people = signed_in(staff, auth)
        admin, duty = people["admin"], people["duty"]
        status = client.get("/api/calendar/status", headers=duty).json()
        assert status == {"covered_until": "2026-12-31", "warning": "2027年节假日安排尚未录入"}
        summary = client.get("/api/dashboard/summary", headers=people["leader"]).json()
        assert summary["calendar_warning"] == "2027年节假日安排尚未录入"

        before = client.post("/api/tickets", json={"event_id": make_event().id}, headers=duty).json()
        # 1 January 2027 is guessed a working day: 12-29, 12-30, 12-31, 01-01, 01-04 — provisional.
        assert (due_day(before), before["close_due_provisional"]) == (date(2027, 1, 4), True)

        res = client.post("/api/calendar/days", json={"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
                          headers=admin)
        assert res.status_code == 200
        res = client.post("/api/calendar/import", headers=admin, files={
            "file": ("2027春节.csv", SPRING_FESTIVAL_2027_TEST_CSV.encode("gbk"), "text/csv")})
        assert res.json() == {"imported": 6, "errors": []}

        moved = client.get(f"/api/tickets/{before['id']}", headers=duty).json()
        assert (due_day(moved), moved["close_due_provisional"]) == (date(2027, 1, 5), False)
        [row] = [t for t in moved["timeline"] if t["action"] == "calendar"]
        assert "节假日安排调整：录入2027-01-01 元旦放假" in row["note"]
        assert "由2027-01-04调整为2027-01-05" in row["note"]
        assert any(d["clock"] == "close" and d["due_at"] == moved["close_due_at"] for d in moved["deadlines"])

        after = client.post("/api/tickets", json={"event_id": make_event().id}, headers=duty).json()
        assert (due_day(after), after["close_due_provisional"]) == (date(2027, 1, 5), False)

        assert client.get("/api/calendar/status", headers=duty).json() == {
            "covered_until": "2027-12-31", "warning": None}
        assert client.get("/api/dashboard/summary", headers=admin).json()["calendar_warning"] is None
        days = client.get("/api/calendar/days?year=2027", headers=duty).json()
        assert [d["date"] for d in days][:2] == ["2027-01-01", "2027-02-05"] and len(days) == 7

        # Taking 1 January out again: the package does not know it, but 2027 is entered now,
        # so the day counts as the Friday it is and the deadline is final, one day earlier.
        assert client.delete("/api/calendar/days/2027-01-01", headers=admin).status_code == 204
        back = client.get(f"/api/tickets/{before['id']}", headers=duty).json()
        assert (due_day(back), back["close_due_provisional"]) == (date(2027, 1, 4), False)
        assert [t["action"] for t in back["timeline"]].count("calendar") == 2


def test_a_bad_csv_is_refused_line_by_line(client: TestClient, people: dict[str, Headers]) -> None:
    res = client.post("/api/calendar/import", headers=people["admin"], files={
        "file": ("x.csv", b"2027-01-01,holiday,x\n2027-02-30,holiday,y\n", "text/csv")})
    assert res.status_code == 200
    assert res.json()["imported"] == 0 and [e["line"] for e in res.json()["errors"]] == [2]
    assert client.get("/api/calendar/days", headers=people["admin"]).json() == []


def test_a_year_the_package_knows_gives_the_same_deadlines_with_an_empty_office_calendar(
        client: TestClient, staff: dict[str, User], auth: Callable[[User], Headers],
        make_event: Callable[..., Event]) -> None:
    with time_machine.travel(datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI), tick=False):
        duty = auth(staff["duty"])
        ticket = client.post("/api/tickets", json={"event_id": make_event().id}, headers=duty).json()
    # 09-28 (Sunday, 调休), 09-29, 09-30, then 10-09, 10-10 after National Day.
    assert (due_day(ticket), ticket["close_due_provisional"]) == (date(2025, 10, 10), False)
