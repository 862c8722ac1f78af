from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.events.models import Event
from core.mentions.models import Mention
from core.timeutil import utcnow
from core.users.models import User

Auth = Callable[[User], dict[str, str]]


@pytest.fixture
def h(make_user: Callable[..., User], auth: Auth) -> dict[str, dict[str, str]]:
    return {role: auth(make_user(f"u-{role}", role)) for role in
            ("admin", "leader", "duty", "handler")}


def test_it_stores_a_hotline_call_and_sends_it_for_analysis(
        client: TestClient, h: dict[str, dict[str, str]], session: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[list[int]] = []

    def enqueue(ids: list[int]) -> None:
        # The row must already be committed when the id goes on the queue.
        with Session(session.get_bind()) as other:
            assert all(other.get(Mention, i) is not None for i in ids)
        queued.append(list(ids))

    monkeypatch.setattr("api.routers.mentions.enqueue_mentions", enqueue)
    call = {"channel": "hotline", "external_id": "12345-20260301-001",
            "title": "市民来电：站前街小区暖气不热", "text": "室温只有14度，要求尽快解决"}
    res = client.post("/api/mentions", json=call, headers=h["duty"])
    assert res.status_code == 201, res.text
    mention = res.json()
    assert mention["channel"] == "hotline"
    assert queued == [[mention["id"]]]

    again = client.post("/api/mentions", json=call, headers=h["duty"])
    assert again.status_code == 200 and again.json()["id"] == mention["id"]
    assert queued == [[mention["id"]]]  # a duplicate is not processed twice

    assert client.get(f"/api/mentions/{mention['id']}", headers=h["leader"]).status_code == 200
    assert client.get(f"/api/mentions/{mention['id']}", headers=h["duty"]).status_code == 200
    # A handler sees only what his unit's tickets hold (tests/security/test_access_matrix.py).
    assert client.get(f"/api/mentions/{mention['id']}", headers=h["handler"]).status_code == 403
    listed = client.get("/api/mentions", headers=h["leader"]).json()
    assert [m["id"] for m in listed] == [mention["id"]]
    assert client.get("/api/mentions/999999", headers=h["duty"]).status_code == 404


def test_a_manual_entry_survives_a_failing_pipeline(
        client: TestClient, h: dict[str, dict[str, str]], session: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Embedded queue, real dispatch, and an analysis that breaks: the entry stays stored, the
    # error is kept on it, and it stays in the outbox for the sweep once analysis works again.
    import core.analysis
    from core.mentions import service as mentions
    from core.processing import service as processing

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("分词词典损坏")

    with monkeypatch.context() as patch:
        patch.setattr(core.analysis, "analyze", broken)
        res = client.post("/api/mentions", json={"text": "网民反映南阳路积雪未清"}, headers=h["duty"])
        assert res.status_code == 201, res.text
        mention_id = res.json()["id"]
        session.expire_all()
        stored = session.get(Mention, mention_id)
        assert stored is not None and stored.text == "网民反映南阳路积雪未清"
        assert (stored.analyzed_at, stored.event_id) == (None, None)  # the claim was rolled back
        assert (stored.process_attempts, stored.process_error) == (1, "ValueError: 分词词典损坏")
        assert mentions.get_pending_ids(session=session, older_than=timedelta(0)) == [mention_id]

    result = processing.process_mention(session=session, mention_id=mention_id)
    session.commit()
    assert result.processed and result.event_id is not None
    assert mentions.get_pending_ids(session=session, older_than=timedelta(0)) == []


def test_it_rejects_an_empty_manual_entry(client: TestClient,
                                          h: dict[str, dict[str, str]]) -> None:
    res = client.post("/api/mentions", json={"title": " ", "text": ""}, headers=h["duty"])
    assert res.status_code == 422
    assert res.json()["detail"] == "标题和正文不能都为空"


def test_it_lists_events_by_grade_and_shows_one_with_its_mentions(
        client: TestClient, h: dict[str, dict[str, str]],
        make_event: Callable[..., Event]) -> None:
    serious = make_event("化粪池外溢", grade="II", topic="property")
    make_event("路灯不亮", grade="IV", topic="facilities")
    graded = client.get("/api/events?grade=II", headers=h["duty"]).json()
    assert [e["id"] for e in graded] == [serious.id]
    by_topic = client.get("/api/events?topic=facilities", headers=h["duty"]).json()
    assert [e["title"] for e in by_topic] == ["路灯不亮"]
    assert client.get(f"/api/events/{serious.id}", headers=h["handler"]).status_code == 403  # no ticket of his
    detail = client.get(f"/api/events/{serious.id}", headers=h["leader"]).json()
    assert detail["title"] == "化粪池外溢"
    assert [m["event_id"] for m in detail["mentions"]] == [serious.id]
    assert client.get("/api/events/999999", headers=h["duty"]).status_code == 404


def test_duty_staff_acknowledge_and_dismiss_alerts(
        client: TestClient, h: dict[str, dict[str, str]],
        make_event: Callable[..., Event], session: Session) -> None:
    make_event("甲", grade="III", alert=True)
    make_event("乙", grade="IV", alert=True)
    first, second = session.exec(select(Alert).order_by(col(Alert.id))).all()

    open_alerts = client.get("/api/alerts?status=open", headers=h["duty"]).json()
    assert {a["id"] for a in open_alerts} == {first.id, second.id}
    assert client.get("/api/alerts", headers=h["handler"]).status_code == 403

    ack = client.post(f"/api/alerts/{first.id}/acknowledge", headers=h["duty"])
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert client.post(f"/api/alerts/{first.id}/acknowledge",
                       headers=h["duty"]).status_code == 409

    no_reason = client.post(f"/api/alerts/{second.id}/dismiss", json={"reason": ""},
                            headers=h["duty"])
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"].startswith("请求参数有误（reason")
    assert no_reason.json()["errors"][0]["loc"] == ["body", "reason"]
    dismissed = client.post(f"/api/alerts/{second.id}/dismiss",
                            json={"reason": "外地新闻，与本辖区无关"}, headers=h["duty"])
    assert dismissed.status_code == 200
    assert dismissed.json()["dismiss_reason"] == "外地新闻，与本辖区无关"
    assert client.get("/api/alerts?status=open", headers=h["duty"]).json() == []
    assert client.post("/api/alerts/999999/acknowledge", headers=h["duty"]).status_code == 404


def test_only_admins_create_units_and_sources(client: TestClient,
                                              h: dict[str, dict[str, str]]) -> None:
    unit = {"name": "城管执法中队", "kind": "department", "topics": "parking,construction"}
    assert client.post("/api/units", json=unit, headers=h["duty"]).status_code == 403
    created = client.post("/api/units", json=unit, headers=h["admin"])
    assert created.status_code == 201
    assert client.post("/api/units", json=unit, headers=h["admin"]).status_code == 409
    assert [u["name"] for u in client.get("/api/units", headers=h["handler"]).json()] == [
        "城管执法中队"]

    source = {"name": "新抚区政府网", "kind": "feed", "url": "http://127.0.0.1/rss.xml",
              "keywords": ["站前"]}
    assert client.post("/api/sources", json=source, headers=h["leader"]).status_code == 403
    made = client.post("/api/sources", json=source, headers=h["admin"])
    assert made.status_code == 201 and made.json()["health"] == "unknown"
    assert client.post("/api/sources", json=source, headers=h["admin"]).status_code == 409
    assert len(client.get("/api/sources", headers=h["duty"]).json()) == 1


@pytest.mark.parametrize("year", ["1800", "abc", "2101"])
def test_the_annual_report_refuses_a_bad_year(client: TestClient, h: dict[str, dict[str, str]],
                                              year: str) -> None:
    res = client.get(f"/api/reports/annual?year={year}", headers=h["leader"])
    assert res.status_code == 422


def test_the_annual_report_has_the_contract_fields(client: TestClient,
                                                   h: dict[str, dict[str, str]]) -> None:
    body = client.get("/api/reports/annual?year=2017", headers=h["leader"]).json()
    for key in ("responded_events", "policy_interpretations", "weibo_wechat_responses",
                "topics", "text"):
        assert key in body
    assert body["text"].startswith("2017年")


def test_the_dashboard_summary_counts_and_trends(
        client: TestClient, h: dict[str, dict[str, str]], make_event: Callable[..., Event],
        session: Session) -> None:
    make_event("今日负面", grade="II", sentiment="negative", alert=True)
    make_event("三天前", grade="IV", sentiment="neutral",
               seen_at=utcnow() - timedelta(days=3), topic="snow")
    make_event("很久以前", grade="IV", seen_at=utcnow() - timedelta(days=60))

    res = client.get("/api/dashboard/summary?days=7", headers=h["leader"])
    assert res.status_code == 200
    data: dict[str, Any] = res.json()
    assert data["counts"]["mentions_total"] == 3
    assert data["counts"]["mentions_today"] == 1
    assert data["counts"]["open_alerts"] == 1
    assert len(data["trend"]) == 7
    assert sum(p["mentions"] for p in data["trend"]) == 2
    assert sum(p["negative"] for p in data["trend"]) == 1
    assert data["trend"][-1]["negative"] == 1
    grades = {g["grade"]: g["count"] for g in data["events_by_grade"]}
    assert grades == {"I": 0, "II": 1, "III": 0, "IV": 1, "none": 0}
    assert {t["topic"] for t in data["topics"]} == {"parking", "snow"}
    assert data["open_alerts"][0]["event_title"] == "今日负面"
    assert data["open_alerts"][0]["level_label"] == "重大"

    assert client.get("/api/dashboard/summary?days=0", headers=h["leader"]).status_code == 422
    assert client.get("/api/dashboard/summary?days=400", headers=h["leader"]).status_code == 422
