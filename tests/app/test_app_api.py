"""The API the web application works through: every role's daily work, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.timeutil import SHANGHAI, utcnow
from core.units.models import Unit
from core.users.models import User

Headers = dict[str, str]


@pytest.fixture
def office(make_user: Callable[..., User], make_unit: Callable[[str], Unit],
           auth: Callable[[User], Headers]) -> dict[str, Any]:
    unit_a, unit_b, unit_c = make_unit("站前社区"), make_unit("城建办"), make_unit("物业科")
    users = {
        "admin": make_user("admin", "admin"),
        "leader": make_user("leader", "leader"),
        "duty": make_user("duty", "duty"),
        "handler_a": make_user("handler_a", "handler", unit_a),
        "handler_b": make_user("handler_b", "handler", unit_b),
    }
    return {"unit_a": unit_a, "unit_b": unit_b, "unit_c": unit_c, "users": users,
            "h": {name: auth(user) for name, user in users.items()}}


def add_post(session: Session, event: Event, text: str, *, likes: int = 0, channel: str = "weibo",
             at: datetime | None = None, places: list[str] | None = None, topic: str | None = None,
             sentiment: str = "negative", author: str = "站前居民") -> Mention:
    mention = mentions.ingest(session=session, mention_in=MentionCreate(
        channel=channel, external_id=f"post-{event.id}-{text[:12]}", title="", text=text, author=author,
        url=f"https://weibo.example/{event.id}/{abs(hash(text))}", published_at=at or utcnow(),
        likes=likes)).mention
    mention.event_id, mention.sentiment = event.id, sentiment
    mention.topics, mention.places = [topic or event.topic], places or []
    session.add(mention)
    session.commit()
    return mention


def test_one_alert_row_per_event_a_rising_grade_updates_it_and_the_history_keeps_both(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    h = office["h"]
    event = make_event("站前广场积水", grade="IV")
    first = alerts.open_for_event(session=session, event=event)
    session.commit()
    assert first is not None
    assert client.post(f"/api/alerts/{first.id}/acknowledge", headers=h["duty"]).status_code == 200
    session.expire_all()  # the officer signed in another session, as the worker would see it
    event.grade, event.grade_reason = "II", "2小时内转发激增，涉及人身安全"
    raised = alerts.open_for_event(session=session, event=event)
    session.commit()
    assert raised is not None and raised.id == first.id
    assert alerts.open_for_event(session=session, event=event) is None  # same grade: nothing new
    assert session.exec(select(Alert).where(Alert.event_id == event.id)).all() == [raised]

    inbox = client.get("/api/alerts?state=open", headers=h["duty"]).json()
    assert [(a["id"], a["level"], a["status"]) for a in inbox] == [(first.id, "II", "open")]
    assert inbox[0]["reason"] == "2小时内转发激增，涉及人身安全"
    grades = client.get(f"/api/events/{event.id}/grades", headers=h["duty"]).json()
    assert [(g["grade"], g["reason"]) for g in grades] == [
        ("IV", "负面信息集中"), ("II", "2小时内转发激增，涉及人身安全")]


def test_an_alert_shows_its_posts_and_closes_itself_when_the_ticket_is_opened(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    h = office["h"]
    event = make_event("站前小区地下车库漏水", grade="III", alert=True)
    add_post(session, event, "车库漏水三天了，没人管，车都泡了", likes=120, author="老李")
    alert_id = client.get("/api/alerts?state=open", headers=h["duty"]).json()[0]["id"]
    detail = client.get(f"/api/alerts/{alert_id}", headers=h["duty"]).json()
    top = detail["posts"][0]
    assert top["text"] == "车库漏水三天了，没人管，车都泡了" and top["author"] == "老李"
    assert top["likes"] == 120 and top["url"].startswith("https://weibo.example/")
    assert top["channel_label"] == "微博" and top["published_at"]
    assert client.get(f"/api/alerts/{alert_id}", headers=h["handler_a"]).status_code == 403

    res = client.post("/api/tickets", headers=h["duty"], json={
        "event_id": event.id, "unit_id": office["unit_a"].id, "handler_id": office["users"]["handler_a"].id,
        "assisting_unit_ids": [office["unit_b"].id, office["unit_c"].id], "note": "请社区牵头"})
    assert res.status_code == 201, res.text
    ticket = res.json()
    assert ticket["state"] == "assigned" and ticket["unit_name"] == "站前社区"
    assert ticket["assisting_unit_ids"] == [office["unit_b"].id, office["unit_c"].id]
    assert ticket["handler_name"] == "handler_a"
    assert client.get("/api/alerts?state=open", headers=h["duty"]).json() == []
    closed = client.get("/api/alerts?state=closed", headers=h["duty"]).json()
    assert [(a["id"], a["status"], a["ticket_id"]) for a in closed] == [(alert_id, "closed", ticket["id"])]
    assert "已开单" in closed[0]["close_note"]
    # The assisting unit's handler sees the ticket, the lead unit's handler works it.
    assert client.get(f"/api/tickets/{ticket['id']}", headers=h["handler_b"]).status_code == 200


def test_a_false_alarm_closes_the_alert_of_the_event(
        client: TestClient, office: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = office["h"]
    event = make_event("某楼盘广告", grade="IV", alert=True)
    alert_id = client.get("/api/alerts?state=open", headers=h["duty"]).json()[0]["id"]
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", headers=h["duty"]).status_code == 200
    ticket = client.post("/api/tickets", headers=h["duty"], json={"event_id": event.id}).json()
    assert client.get(f"/api/alerts/{alert_id}", headers=h["duty"]).json()["status"] == "closed"
    assert client.post(f"/api/tickets/{ticket['id']}/dismiss", headers=h["duty"],
                       json={"reason": "广告"}).status_code == 200
    other = make_event("另一条广告", grade="IV", alert=True)
    other_alert = next(a for a in client.get("/api/alerts?state=open", headers=h["duty"]).json()
                       if a["event_id"] == other.id)
    # An alert signed for may still be called a false alarm once looked at.
    assert client.post(f"/api/alerts/{other_alert['id']}/acknowledge", headers=h["duty"]).status_code == 200
    res = client.post(f"/api/alerts/{other_alert['id']}/dismiss", headers=h["duty"], json={"reason": "广告"})
    assert res.status_code == 200 and res.json()["status"] == "dismissed"
    assert {a["id"] for a in client.get("/api/alerts?state=closed", headers=h["duty"]).json()} == {
        alert_id, other_alert["id"]}


def test_the_draft_goes_to_review_and_the_leader_reads_it_with_the_posts_then_returns_or_signs(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    h = office["h"]
    event = make_event("化粪池外溢污水横流", grade="II", topic="property")
    add_post(session, event, "化粪池外溢两天了，臭气熏天", likes=300)
    tid = client.post("/api/tickets", headers=h["duty"], json={
        "event_id": event.id, "unit_id": office["unit_a"].id}).json()["id"]
    assert client.put(f"/api/tickets/{tid}/draft", json={"text": "x"}, headers=h["handler_b"]).status_code == 403
    saved = client.put(f"/api/tickets/{tid}/draft", headers=h["handler_a"],
                       json={"text": "经核查，化粪池已于当日清掏完毕。"}).json()
    assert saved["state"] == "handling" and saved["draft_updated_at"]
    assert client.post(f"/api/tickets/{tid}/transition", headers=h["handler_a"],
                       json={"to_state": "review", "note": "提交审核"}).status_code == 200

    queue = client.get("/api/tickets?queue=mine", headers=h["leader"]).json()
    assert [t["id"] for t in queue] == [tid]
    assert queue[0]["draft_text"] == "经核查，化粪池已于当日清掏完毕。"
    assert queue[0]["posts"][0]["text"] == "化粪池外溢两天了，臭气熏天"
    locked = client.put(f"/api/tickets/{tid}/draft", json={"text": "改"}, headers=h["handler_a"])
    assert locked.status_code == 409

    assert client.post(f"/api/tickets/{tid}/return", json={"reason": "x"}, headers=h["handler_a"]).status_code == 403
    back = client.post(f"/api/tickets/{tid}/return", json={"reason": "请写明清掏时间"}, headers=h["leader"])
    assert back.status_code == 200 and back.json()["state"] == "handling"
    assert client.get("/api/tickets?queue=mine", headers=h["leader"]).json() == []
    client.put(f"/api/tickets/{tid}/draft", headers=h["handler_a"],
               json={"text": "经核查，化粪池已于3月2日10时清掏完毕。"})
    client.post(f"/api/tickets/{tid}/transition", headers=h["handler_a"], json={"to_state": "review"})
    signed = client.post(f"/api/tickets/{tid}/sign-off", headers=h["leader"],
                         json={"note": "同意", "confidentiality_checked": True})
    assert signed.status_code == 200 and signed.json()["signed_off_by_id"]
    assert client.post(f"/api/tickets/{tid}/responses", headers=h["handler_a"], json={
        "channel": "weibo", "title": "关于化粪池外溢的回应"}).status_code == 201
    assert client.post(f"/api/tickets/{tid}/transition", headers=h["handler_a"],
                       json={"to_state": "closed", "note": "办结"}).status_code == 200

    detail = client.get(f"/api/tickets/{tid}", headers=h["handler_a"]).json()
    assert [t["action"] for t in detail["timeline"]].count("return") == 1
    # Closed tickets stay findable: 已办结 with search.
    found = client.get("/api/tickets?queue=closed&q=清掏", headers=h["handler_a"]).json()
    assert [t["id"] for t in found] == [tid]
    assert client.get(f"/api/tickets?queue=closed&q={tid}", headers=h["leader"]).json()[0]["id"] == tid
    assert client.get("/api/tickets?queue=closed&q=清掏", headers=h["handler_b"]).json() == []


def test_queues_and_the_workspace_put_what_waits_on_me_first(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    h = office["h"]
    a, b = office["unit_a"].id, office["unit_b"].id
    mine = client.post("/api/tickets", headers=h["duty"], json={
        "event_id": make_event("甲", grade="IV").id, "unit_id": a}).json()
    theirs = client.post("/api/tickets", headers=h["duty"], json={
        "event_id": make_event("乙", grade="IV").id, "unit_id": b}).json()
    triage = client.post("/api/tickets", headers=h["duty"], json={"event_id": make_event("丙").id}).json()
    # An overdue one: opened three days ago, grade IV answers in 48 h.
    late_event = make_event("丁", grade="IV", seen_at=utcnow() - timedelta(days=3))
    from core.tickets import service as tickets

    late, _ = tickets.open_from_event(session=session, event_id=late_event.id or 0, actor_id=None,
                                      unit_id=a, opened_at=utcnow() - timedelta(days=3))
    session.commit()

    def ids(queue: str, who: str) -> list[int]:
        res = client.get(f"/api/tickets?queue={queue}", headers=h[who])
        assert res.status_code == 200, res.text
        return [t["id"] for t in res.json()]

    assert ids("mine", "handler_a") == [late.id, mine["id"]]
    assert ids("unit", "handler_a") == [late.id, mine["id"]]
    assert theirs["id"] not in ids("all", "handler_a")
    assert ids("mine", "duty") == [triage["id"]]
    assert ids("overdue", "handler_a") == [late.id]
    assert ids("overdue", "handler_b") == []
    overdue = client.get("/api/tickets?queue=overdue", headers=h["leader"]).json()[0]
    assert overdue["overdue"] is True and any(d["status"] == "已超期" for d in overdue["deadlines"])

    work = client.get("/api/workspace", headers=h["handler_a"]).json()
    assert work["mine_label"] == "待我处理"
    assert [t["id"] for t in work["waiting_on_me"]] == [late.id, mine["id"]]
    assert [t["id"] for t in work["overdue"]] == [late.id]
    assert work["counts"]["mine"] == 2 and work["counts"]["overdue"] == 1 and work["alerts"] == []
    duty = client.get("/api/workspace", headers=h["duty"]).json()
    assert duty["mine_label"] == "待交办" and [t["id"] for t in duty["waiting_on_me"]] == [triage["id"]]
    assert client.get("/api/tickets?queue=nonsense", headers=h["duty"]).status_code == 422


def test_a_handler_sees_only_the_events_and_posts_of_his_units_tickets(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    h = office["h"]
    own, other = make_event("甲事件", grade="IV"), make_event("乙事件", grade="IV")
    add_post(session, own, "甲事件的帖子")
    add_post(session, other, "乙事件的帖子")
    client.post("/api/tickets", headers=h["duty"], json={"event_id": own.id, "unit_id": office["unit_a"].id})
    assert client.get(f"/api/events/{own.id}", headers=h["handler_a"]).status_code == 200
    assert client.get(f"/api/events/{other.id}", headers=h["handler_a"]).status_code == 403
    assert client.get(f"/api/events/{other.id}/spread", headers=h["handler_a"]).status_code == 403
    assert {e["id"] for e in client.get("/api/events", headers=h["handler_a"]).json()} == {own.id}
    found = client.get("/api/mentions/search?q=帖子", headers=h["handler_a"]).json()["items"]
    assert {m["event_id"] for m in found} == {own.id}
    assert len(client.get("/api/mentions/search?q=帖子", headers=h["duty"]).json()["items"]) == 2
    assert client.get("/api/dashboard/summary", headers=h["handler_a"]).status_code == 403


def test_mention_search_filters_and_pages_newest_first_without_gaps_or_repeats(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    h = office["h"]
    base = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
    event = make_event("停车难", grade="IV", topic="parking", seen_at=base)
    same_time = base + timedelta(hours=5)
    for n in range(9):
        at = same_time if n in (3, 4, 5) else base + timedelta(hours=n)  # ties are paged by id
        add_post(session, event, f"站前小区停车难第{n}帖", at=at,
                 places=["站前小区"] if n % 2 else ["新抚区"], sentiment="negative" if n < 6 else "neutral",
                 channel="weibo" if n < 7 else "forum")
    expected = [m.id or 0 for m in session.exec(select(Mention).where(Mention.event_id == event.id))]
    assert len(expected) == 10  # the fixture's own post too

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        url = "/api/mentions/search?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=h["duty"]).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(m["id"] for m in seen) == sorted(expected)
    keys = [(m["seen_at"], m["id"]) for m in seen]
    assert keys == sorted(keys, reverse=True)

    def search(query: str) -> set[str]:
        res = client.get(f"/api/mentions/search?{query}", headers=h["duty"])
        assert res.status_code == 200, res.text
        return {m["snippet"] for m in res.json()["items"]}

    assert search("q=第7帖") == {"站前小区停车难第7帖"}
    assert search("q=停车难 第1帖") == {"站前小区停车难第1帖"}
    assert search("place=站前小区") == {f"站前小区停车难第{n}帖" for n in (1, 3, 5, 7)}
    assert search("channel=forum") == {"站前小区停车难第7帖", "站前小区停车难第8帖"}
    assert search("sentiment=neutral") == {f"站前小区停车难第{n}帖" for n in (6, 7, 8)}
    assert len(search("topic=parking")) == 10 and search("topic=heating") == set()
    since = (base + timedelta(hours=6)).isoformat()
    assert search(f"since={since.replace('+', '%2B')}") == {f"站前小区停车难第{n}帖" for n in (6, 7, 8)}
    assert client.get("/api/mentions/search?cursor=garbage", headers=h["duty"]).status_code == 422
    # A re-label wins over the analysis.
    label = client.post(f"/api/mentions/{expected[1]}/label", json={"topic": "other"}, headers=h["duty"])
    assert label.status_code == 200
    assert len(search("topic=parking")) == 9


def test_the_dashboard_takes_any_range_and_counts_timeliness_and_units(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    from core.tickets import service as tickets
    from core.tickets.models import ResponseCreate

    h = office["h"]
    now = utcnow()
    answered = make_event("按时回应", grade="IV", seen_at=now - timedelta(days=5))
    add_post(session, answered, "帖一", channel="wechat", places=["站前小区"], sentiment="negative",
             at=now - timedelta(days=5))
    late = make_event("超时未回应", grade="III", seen_at=now - timedelta(days=4))
    t1, _ = tickets.open_from_event(session=session, event_id=answered.id or 0, actor_id=None,
                                    unit_id=office["unit_a"].id, opened_at=now - timedelta(days=5))
    tickets.record_response(session=session, ticket_id=t1.id or 0, actor_id=None, response_in=ResponseCreate(
        channel="weibo", title="回应", published_at=now - timedelta(days=5) + timedelta(hours=3)))
    tickets.open_from_event(session=session, event_id=late.id or 0, actor_id=None,
                            unit_id=office["unit_b"].id, opened_at=now - timedelta(days=4))
    session.commit()

    res = client.get("/api/dashboard/summary?days=7", headers=h["leader"])
    assert res.status_code == 200, res.text
    s = res.json()
    assert s["timeliness"] == {"on_time": 1, "late": 1, "pending": 0}
    assert {c["key"]: c["count"] for c in s["channels"]}["wechat"] == 1
    assert {p["key"] for p in s["places"]} >= set()
    units = {u["unit_name"]: (u["open"], u["overdue"]) for u in s["tickets_by_unit"]}
    assert units == {"站前社区": (1, 0), "城建办": (1, 1)}
    assert {e["title"] for e in s["top_events"]} == {"按时回应", "超时未回应"}
    day = (now - timedelta(days=30)).astimezone(SHANGHAI).date()
    custom = client.get(f"/api/dashboard/summary?since={day}&until={day}", headers=h["leader"]).json()
    assert custom["days"] == 1 and custom["timeliness"] == {"on_time": 0, "late": 0, "pending": 0}
    assert client.get("/api/dashboard/summary?since=2026-02-01&until=2026-01-01",
                      headers=h["leader"]).status_code == 422


class Robot(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Robot.received.append(json.loads(body))
        reply = json.dumps({"errcode": 0 if "good" in self.path else 93000, "errmsg": "x"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_admin_edits_units_test_sends_a_channel_and_reads_taxonomy_and_gazetteer(
        client: TestClient, office: dict[str, Any], robot: str) -> None:
    h = office["h"]
    unit = office["unit_a"]
    res = client.patch(f"/api/units/{unit.id}", json={"topics": "parking,property", "contact": "0413-1234"},
                       headers=h["admin"])
    assert res.status_code == 200 and res.json()["topics"] == "parking,property"
    assert client.patch(f"/api/units/{unit.id}", json={"name": "城建办"}, headers=h["admin"]).status_code == 409
    assert client.patch(f"/api/units/{unit.id}", json={"contact": "x"}, headers=h["duty"]).status_code == 403

    good = client.post("/api/notifications/channels", headers=h["admin"], json={
        "name": "值班群", "kind": "wecom", "url": f"{robot}/good/send?key=secret-key-123"}).json()
    bad = client.post("/api/notifications/channels", headers=h["admin"], json={
        "name": "坏群", "kind": "wecom", "url": f"{robot}/bad/send?key=secret-key-456"}).json()
    sent = client.post(f"/api/notifications/channels/{good['id']}/test", headers=h["admin"]).json()
    assert sent == {"sent": True, "error": ""}
    assert "测试" in json.dumps(Robot.received[-1], ensure_ascii=False)
    failed = client.post(f"/api/notifications/channels/{bad['id']}/test", headers=h["admin"]).json()
    assert failed["sent"] is False and "93000" in failed["error"] and "secret-key" not in failed["error"]

    taxonomy = client.get("/api/taxonomy", headers=h["duty"]).json()
    parking = next(t for t in taxonomy["topics"] if t["code"] == "parking")
    assert parking["label"] == "停车管理" and parking["keywords"]
    gazetteer = client.get("/api/gazetteer", headers=h["duty"]).json()
    assert gazetteer["places"] and all(p["name"] for p in gazetteer["places"])


def test_a_raised_grade_notifies_the_duty_officer_again_from_the_time_it_rose(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    from core.notify import service as notify
    from core.notify.models import Notification, NotificationChannelCreate

    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班群", kind="wecom", url="http://127.0.0.1:9/cgi-bin/webhook/send?key=k"))
    event = make_event("站前广场积水", grade="IV")
    first = alerts.open_for_event(session=session, event=event, now=utcnow() - timedelta(hours=3))
    session.commit()
    assert first is not None and first.id is not None
    event.grade, event.grade_reason = "III", "负面评论持续增加"
    raised = alerts.open_for_event(session=session, event=event)
    session.commit()
    # Step 1 again (a fresh notice), not the last step of an alert three hours old.
    assert raised is not None and raised.notify_step == 1
    keys = sorted(n.dedupe_key.split(":ch")[0] for n in session.exec(
        select(Notification).where(Notification.alert_id == first.id)))
    assert keys == [f"alert:{first.id}:III:step1:duty", f"alert:{first.id}:step1:duty"]
    detail = client.get(f"/api/events/{event.id}", headers=office["h"]["duty"]).json()
    assert (detail["alert_id"], detail["alert_status"], detail["ticket_id"]) == (first.id, "open", None)


def test_an_open_ticket_takes_the_rising_grade_of_its_event_with_its_clocks(
        client: TestClient, office: dict[str, Any], session: Session,
        make_event: Callable[..., Event]) -> None:
    from core.tickets import service as tickets

    event = make_event("站前小区燃气味", grade="IV")
    opened = utcnow() - timedelta(hours=2)
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id or 0, actor_id=None,
                                        unit_id=office["unit_a"].id, opened_at=opened)
    session.commit()
    assert ticket.id is not None and ticket.grade == "IV" and ticket.first_info_due_at is None
    event.grade = "II"
    assert tickets.follow_event_grade(session=session, event=event) is ticket and ticket.grade == "II"
    event.grade = "III"  # grades only rise
    assert tickets.follow_event_grade(session=session, event=event) is ticket and ticket.grade == "II"
    session.commit()
    detail = client.get(f"/api/tickets/{ticket.id}", headers=office["h"]["handler_a"]).json()
    assert detail["grade"] == "II"
    assert {d["clock"] for d in detail["deadlines"]} >= {"first_info", "response", "press"}
    assert detail["timeline"][-1]["action"] == "regrade" and "升为II级" in detail["timeline"][-1]["note"]
    # Grade II now needs the leader's sign-off before the reply goes out.
    res = client.post(f"/api/tickets/{ticket.id}/responses", headers=office["h"]["handler_a"],
                      json={"channel": "weibo", "title": "回应"})
    assert res.status_code == 409
