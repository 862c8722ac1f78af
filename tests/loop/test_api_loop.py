"""The loop over HTTP, with roles: leader sign-off, unit boundaries, clear 409s, the ledger."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from api.main import create_app
from api.security import create_access_token
from core.config import Settings
from core.timeutil import to_local, utcnow
from core.users.models import User
from tests.core.factories import make_event
from tests.loop.conftest import Office

H = dict[str, str]


@pytest.fixture
def client(app_env: Settings) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def h(office: Office) -> Callable[[str], H]:
    def headers(name: str) -> H:
        user: User = office.people[name]
        assert user.id is not None
        return {"Authorization": f"Bearer {create_access_token(user.id, role=user.role)}"}

    return headers


def grade_ii_in_review(client: TestClient, session: Session, office: Office, h: Callable[[str], H]) -> int:
    event = make_event(session, grade="II", title="站前小区燃气管道泄漏居民疏散")
    session.commit()
    res = client.post("/api/tickets", headers=h("duty"), json={
        "event_id": event.id, "unit_id": office.unit.id, "handler_id": office.id("handler")})
    assert res.status_code == 201, res.text
    tid = int(res.json()["id"])
    assert client.post(f"/api/tickets/{tid}/transition", headers=h("handler"),
                       json={"to_state": "handling"}).status_code == 200
    # The leader reviews a written reply: the draft comes before 提交审核.
    assert client.put(f"/api/tickets/{tid}/draft", headers=h("handler"),
                      json={"text": "燃气公司已关阀抢修，居民已安全返回。"}).status_code == 200
    assert client.post(f"/api/tickets/{tid}/transition", headers=h("handler"),
                       json={"to_state": "review"}).status_code == 200
    return tid


def test_a_grade_ii_response_needs_review_and_a_leaders_sign_off(
        client: TestClient, session: Session, office: Office, h: Callable[[str], H]) -> None:
    tid = grade_ii_in_review(client, session, office, h)
    body = {"channel": "weibo", "title": "关于燃气泄漏处置情况的通报", "summary": "已关阀抢修，无人员伤亡"}
    # The leader reviewed it but did not sign off: the response still cannot be published.
    reviewed = client.post(f"/api/tickets/{tid}/review", headers=h("deputy"),
                           json={"confidentiality_ok": True, "note": "已做保密审查"})
    assert reviewed.status_code == 200 and reviewed.json()["confidentiality_checked"]
    for who in ("handler", "deputy", "principal"):
        res = client.post(f"/api/tickets/{tid}/responses", headers=h(who), json=body)
        assert res.status_code == 409, who
        assert "签发" in res.json()["detail"]
    assert client.post(f"/api/tickets/{tid}/sign-off", headers=h("handler")).status_code == 403
    signed = client.post(f"/api/tickets/{tid}/sign-off", headers=h("principal"), json={"note": "同意发布"})
    assert signed.status_code == 200
    assert signed.json()["signed_off_by_id"] == office.id("principal")
    published = client.post(f"/api/tickets/{tid}/responses", headers=h("handler"), json=body)
    assert published.status_code == 201
    assert published.json()["approved_by_id"] == office.id("principal")
    detail = client.get(f"/api/tickets/{tid}", headers=h("duty")).json()
    assert [t["action"] for t in detail["timeline"]][-3:] == ["review", "sign_off", "respond"]
    assert {d["clock"] for d in detail["deadlines"]} == {"first_info", "response", "press", "close"}
    assert next(d for d in detail["deadlines"] if d["clock"] == "response")["status"] == "按时完成"


def test_a_failed_confidentiality_check_sends_the_draft_back(
        client: TestClient, session: Session, office: Office, h: Callable[[str], H]) -> None:
    tid = grade_ii_in_review(client, session, office, h)
    res = client.post(f"/api/tickets/{tid}/review", headers=h("deputy"),
                      json={"confidentiality_ok": False, "note": "含未公开的伤亡人员信息"})
    assert res.status_code == 200 and res.json()["state"] == "handling"
    refused = client.post(f"/api/tickets/{tid}/sign-off", headers=h("deputy"))
    assert refused.status_code == 409


def test_a_handler_cannot_touch_another_units_ticket_and_illegal_moves_are_409(
        client: TestClient, session: Session, office: Office, h: Callable[[str], H]) -> None:
    event = make_event(session, grade="IV")
    session.commit()
    tid = client.post("/api/tickets", headers=h("duty"),
                      json={"event_id": event.id, "unit_id": office.unit.id}).json()["id"]
    for method, path, body in (("get", "", None), ("post", "/transition", {"to_state": "handling"}),
                               ("post", "/pause", {"reason": "待上级答复"}),
                               ("post", "/responses", {"channel": "weibo", "title": "回应"}),
                               ("patch", "/notes", {"online_note": "x"})):
        res = client.request(method, f"/api/tickets/{tid}{path}", headers=h("other_handler"), json=body)
        assert res.status_code == 403, path
    illegal = client.post(f"/api/tickets/{tid}/transition", headers=h("handler"), json={"to_state": "closed"})
    assert illegal.status_code == 409 and illegal.json()["detail"] == "不能从“已交办”转为“已办结”"
    # An assisting unit sees it and may add notes, but does not run it.
    assert client.put(f"/api/tickets/{tid}/units", headers=h("duty"),
                      json={"assisting_unit_ids": [office.other_unit.id]}).status_code == 200
    assert client.get(f"/api/tickets/{tid}", headers=h("other_handler")).status_code == 200
    assert client.patch(f"/api/tickets/{tid}/notes", headers=h("other_handler"),
                        json={"offline_note": "社区已入户走访"}).status_code == 200
    assert client.post(f"/api/tickets/{tid}/transition", headers=h("other_handler"),
                       json={"to_state": "handling"}).status_code == 403
    assert [t["id"] for t in client.get("/api/tickets", headers=h("other_handler")).json()] == [tid]
    # Dismissal needs a reason, and the dismissed posts become training samples.
    assert client.post(f"/api/tickets/{tid}/dismiss", headers=h("duty"), json={"reason": ""}).status_code == 422


def test_a_dismissed_false_alarm_becomes_training_data(
        client: TestClient, session: Session, office: Office, h: Callable[[str], H]) -> None:
    from core.mentions import service as mentions
    from core.mentions.models import Mention
    from core.tickets import service as tickets

    noise = make_event(session, grade="IV", title="站前新开火锅店停车方便")
    kept = make_event(session, grade="IV", title="永安小区门口乱停车")
    for n, (event, text) in enumerate(((noise, "站前新开的火锅店停车方便，推荐"),
                                       (kept, "永安小区门口天天乱停车"))):
        session.add(Mention(external_id=f"m{n}", title="", text=text, event_id=event.id))
    session.commit()
    tids = [client.post("/api/tickets", headers=h("duty"), json={"event_id": e.id}).json()["id"]
            for e in (noise, kept)]
    assert client.post(f"/api/tickets/{tids[0]}/dismiss", headers=h("handler"),
                       json={"reason": "广告，非诉求"}).status_code == 403
    res = client.post(f"/api/tickets/{tids[0]}/dismiss", headers=h("duty"), json={"reason": "广告，非诉求"})
    assert res.status_code == 200, res.text
    assert (res.json()["state"], res.json()["dismiss_reason"]) == ("dismissed", "广告，非诉求")
    # Only the dismissed event's post is taught as "other"; the open one teaches nothing.
    assert mentions.training_corrections(session=session) == [("站前新开的火锅店停车方便，推荐", "other")]
    assert tickets.false_alarm_samples(session=session) == [
        {"text": "站前新开的火锅店停车方便，推荐", "topic": "other", "reason": "广告，非诉求"}]


def test_the_ledger_exports_and_the_annual_report_moves_only_with_responses(
        client: TestClient, session: Session, office: Office, h: Callable[[str], H]) -> None:
    year = to_local(utcnow()).year
    annual = lambda: client.get(f"/api/reports/annual?year={year}", headers=h("principal")).json()  # noqa: E731
    before = annual()
    event = make_event(session, grade="IV", title="永安小区门口乱停车")
    session.commit()
    tid = client.post("/api/tickets", headers=h("duty"),
                      json={"event_id": event.id, "unit_id": office.unit.id}).json()["id"]
    handling = client.post(f"/api/tickets/{tid}/transition", headers=h("handler"), json={"to_state": "handling"})
    assert handling.status_code == 200 and handling.json()["state"] == "handling"
    paused = client.post(f"/api/tickets/{tid}/pause", headers=h("handler"), json={"reason": "待交警部门答复"})
    assert paused.status_code == 200 and paused.json()["paused_at"] is not None
    resumed = client.post(f"/api/tickets/{tid}/resume", headers=h("handler"))
    assert resumed.status_code == 200 and resumed.json()["paused_at"] is None
    assert annual()["responded_events"] == before["responded_events"]  # handling is not a response
    res = client.post(f"/api/tickets/{tid}/responses", headers=h("handler"), json={
        "channel": "wechat", "kind": "response", "url": "https://mp.weixin.qq.com/s/abc",
        "title": "关于永安小区停车整治的回应", "summary": "已施划停车位 40 个"})
    assert res.status_code == 201
    closed = client.post(f"/api/tickets/{tid}/transition", headers=h("handler"), json={"to_state": "closed"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    after = annual()
    assert after["responded_events"] == before["responded_events"] + 1
    assert after["weibo_wechat_responses"] == before["weibo_wechat_responses"] + 1

    rows: list[dict[str, Any]] = client.get(f"/api/ledger?year={year}", headers=h("duty")).json()
    row = next(r for r in rows if r["工单编号"] == tid)
    assert row["责任单位"] == "站前街道城管执法中队" and row["首接人"] == "王值班"
    assert row["回应渠道"] == "微信" and row["回应链接"] == "https://mp.weixin.qq.com/s/abc"
    assert row["回应按时"] == "是" and row["办结按时"] == "是" and row["状态"] == "已办结"
    assert row["办结回复摘要"] == "已施划停车位 40 个" and row["涉及领域"] == "停车管理"
    csv_res = client.get(f"/api/ledger?year={year}&format=csv", headers=h("duty"))
    table = list(csv.DictReader(io.StringIO(csv_res.content.decode("utf-8-sig"))))
    assert table[0]["序号"] == "1" and list(table[0])[:3] == ["序号", "巡查单位", "发布时间"]
    xlsx = client.get(f"/api/ledger?year={year}&format=xlsx", headers=h("duty"))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    # A title row, then the header, then one row per ticket.
    assert sheet is not None and sheet["A2"].value == "序号" and sheet.max_row == len(rows) + 2
    # A handler of another unit exports only their own unit's rows.
    assert client.get(f"/api/ledger?year={year}", headers=h("other_handler")).json() == []


def test_roster_channels_and_audit_over_http(
        client: TestClient, office: Office, h: Callable[[str], H]) -> None:
    admin_h = h("principal")  # leaders cannot administer
    assert client.post("/api/notifications/channels", headers=admin_h, json={
        "name": "x", "kind": "wecom", "url": "http://127.0.0.1:9/x"}).status_code == 403
    now = client.get("/api/duty/now?at=2025-10-01T03:00:00%2B08:00", headers=h("handler")).json()
    assert {s["user_id"] for s in now["shifts"]} == {office.id("duty"), office.id("duty_leader")}
    handover = client.post("/api/duty/handovers", headers=h("duty"), json={"note": "平稳"})
    assert handover.status_code == 201 and "未签收预警 0 条" in handover.json()["summary"]
    audit = client.get("/api/audit?entity=duty_shift", headers=h("duty")).json()
    assert [a["action"] for a in audit] == ["create", "create"]
