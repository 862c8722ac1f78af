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


def test_briefing_periods_are_beijing_days() -> None:
    from datetime import date

    from core.reports.briefing import period_days, previous_days
    assert period_days("daily", date(2026, 3, 1)) == (date(2026, 3, 1), date(2026, 3, 1))
    assert period_days("weekly", date(2026, 3, 1)) == (date(2026, 2, 23), date(2026, 3, 1))  # a Sunday
    assert period_days("monthly", date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert previous_days("monthly", date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_days("weekly", date(2026, 2, 23)) == (date(2026, 2, 16), date(2026, 2, 22))


def test_a_briefing_s_docx_holds_the_json_figures_charts_and_top_events(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:  # noqa: F811
    from datetime import timedelta

    h = people["h"]
    now = utcnow()
    today = to_local(now).date()
    hot = make_event("站前小区暖气不热多日无人管", topic="heating", grade="III", seen_at=now)
    make_event("永安小区门口乱停车", topic="parking", sentiment="neutral", seen_at=now)
    make_event("昨天的一件事", topic="snow", seen_at=now - timedelta(days=1))
    tid = open_ticket(client, h["duty"], hot, people["unit_a"])["id"]
    assert client.post(f"/api/tickets/{tid}/responses", headers=h["handler_a"], json={
        "channel": "weibo", "title": "关于供暖问题的回应"}).status_code == 201

    for period in ("daily", "weekly", "monthly"):
        url = f"/api/reports/briefing?period={period}&date={today}"
        body = client.get(url, headers=h["duty"]).json()
        figures = {f["key"]: f for f in body["figures"]}
        assert figures["mentions"]["value"] == sum(c["count"] for c in body["channels"])
        if period == "daily":
            assert figures["mentions"]["value"] == 2 and figures["negative"]["value"] == 1
            assert figures["responses"]["value"] == 1 and figures["tickets"]["value"] == 1
            # Yesterday is the previous period of a daily briefing (unless today is the 1st, still a day).
            assert figures["mentions"]["previous"] == 1 and figures["mentions"]["change"] == 1
            assert len(body["trend"]) == 7
        top = next(e for e in body["top_events"] if e["ticket_id"] == tid)
        assert top["grade_label"] == "较大" and top["reason"] and top["posts"][0]["title"] == hot.title
        assert top["responses"][0]["channel"] == "微博"

        res = client.get(url + "&format=docx&opinion=建议持续关注供暖问题", headers=h["duty"])
        assert res.status_code == 200 and res.headers["content-disposition"].startswith(
            f'attachment; filename="yuqing-briefing-{period}-')
        doc = Document(io.BytesIO(res.content))
        table = doc.tables[0]
        assert [[c.text for c in r.cells][:3] for r in table.rows[1:]] == [
            [f["label"], str(f["value"]), str(f["previous"])] for f in body["figures"]]
        assert len(doc.inline_shapes) >= 1
        text = "\n".join(p.text for p in doc.paragraphs)
        assert hot.title in text and "建议持续关注供暖问题" in text and "研判意见" in text
    assert client.get("/api/reports/briefing", headers=h["handler_a"]).status_code == 403
    assert client.get("/api/reports/briefing?period=yearly", headers=h["duty"]).status_code == 422
