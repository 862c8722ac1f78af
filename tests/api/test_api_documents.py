"""Documents the office hands on, through the API: the annual section as Word."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from docx import Document
from fastapi.testclient import TestClient

from core.events.models import Event
from core.timeutil import to_local, utcnow
from tests.api.test_api_tickets import open_ticket, people  # noqa: F401  (fixture)


def test_the_annual_docx_holds_the_json_rows_and_names_topics_in_chinese(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:  # noqa: F811
    h = people["h"]
    year = to_local(utcnow()).year
    tid = open_ticket(client, h["duty"], make_event(topic="heating"), people["unit_a"])["id"]
    res = client.post(f"/api/tickets/{tid}/responses", headers=h["handler_a"], json={
        "channel": "press_conference", "title": "供暖新闻发布会", "leader_present": True})
    assert res.status_code == 201 and res.json()["leader_present"] is True
    body = client.get(f"/api/reports/annual?year={year}", headers=h["leader"]).json()
    rows = {row["key"]: row for row in body["rows"]}
    assert rows["press_conferences"]["value"] == rows["press_conferences_leader"]["value"] == 1
    assert body["previous_year"] == year - 1

    res = client.get(f"/api/reports/annual?year={year}&format=docx", headers=h["leader"])
    assert res.status_code == 200
    assert res.headers["content-disposition"] == f'attachment; filename="yuqing-annual-{year}.docx"'
    doc = Document(io.BytesIO(res.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"共回应公众关注热点或舆情{body['responded_events']}次，就供暖等问题进行了舆情回应" in text
    table = doc.tables[0]
    got = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert got == [[r["label"], str(r["value"]), str(r["previous"]), f"{r['change']:+d}" if r["change"] else "0"]
                   for r in body["rows"]]
    assert len(got) == 8 and sum(label.startswith("其中：") for label, *_ in got) == 2

    assert client.get(f"/api/reports/annual?year={year}&format=docx",
                      headers=h["handler_a"]).status_code == 403
    assert client.get(f"/api/reports/annual?year={year}&format=pdf",
                      headers=h["leader"]).status_code == 422


def test_the_ledger_takes_a_range_of_beijing_days(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:  # noqa: F811
    h = people["h"]
    tid = open_ticket(client, h["duty"], make_event(topic="heating"), people["unit_a"])["id"]
    today = to_local(utcnow()).date()
    rows = client.get(f"/api/ledger?since={today}&until={today}", headers=h["duty"]).json()
    assert [r["工单编号"] for r in rows] == [tid] and rows[0]["话题"] == "供暖"
    earlier = client.get("/api/ledger?since=2001-01-01&until=2001-12-31", headers=h["duty"]).json()
    assert earlier == []
    res = client.get(f"/api/ledger?since={today}&until={today}&format=xlsx", headers=h["duty"])
    assert res.status_code == 200
    assert res.headers["content-disposition"] == f'attachment; filename="yuqing-ledger-{today}_{today}.xlsx"'
    for bad in (f"since={today}", f"since={today}&until=2001-01-01", f"year=2026&since={today}&until={today}", ""):
        assert client.get(f"/api/ledger?{bad}", headers=h["duty"]).status_code == 422, bad
