from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.events.models import Event
from core.timeutil import to_local, utcnow
from core.units.models import Unit
from core.users.models import User

Auth = Callable[[User], dict[str, str]]


@pytest.fixture
def people(make_user: Callable[..., User], make_unit: Callable[[str], Unit],
           auth: Auth) -> dict[str, Any]:
    unit_a, unit_b = make_unit("站前社区"), make_unit("城建办")
    users = {
        "admin": make_user("admin", "admin"),
        "leader": make_user("leader", "leader"),
        "duty": make_user("duty", "duty"),
        "handler_a": make_user("handler_a", "handler", unit_a),
        "handler_b": make_user("handler_b", "handler", unit_b),
    }
    return {"unit_a": unit_a, "unit_b": unit_b, **users,
            "h": {name: auth(user) for name, user in users.items()}}


def open_ticket(client: TestClient, headers: dict[str, str], event: Event,
                unit: Unit | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event.id, **extra}
    if unit is not None:
        body["unit_id"] = unit.id
    res = client.post("/api/tickets", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return dict(res.json())


def move(client: TestClient, headers: dict[str, str], ticket_id: int, to_state: str,
         note: str = "") -> Any:
    return client.post(f"/api/tickets/{ticket_id}/transition",
                       json={"to_state": to_state, "note": note}, headers=headers)


def respond(client: TestClient, headers: dict[str, str], ticket_id: int,
            channel: str = "weibo") -> Any:
    return client.post(f"/api/tickets/{ticket_id}/responses", headers=headers,
                       json={"channel": channel, "title": "关于站前小区停车问题的回应",
                             "summary": "已协调物业增设车位"})


def test_it_opens_one_ticket_per_event(client: TestClient, people: dict[str, Any],
                                       make_event: Callable[..., Event]) -> None:
    event = make_event()
    first = open_ticket(client, people["h"]["duty"], event, note="值班开单")
    assert first["state"] == "triage" and first["title"] == event.title
    again = client.post("/api/tickets", json={"event_id": event.id}, headers=people["h"]["duty"])
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    missing = client.post("/api/tickets", json={"event_id": 999999}, headers=people["h"]["duty"])
    assert missing.status_code == 404
    assert "不存在" in missing.json()["detail"]


def test_it_moves_a_ticket_through_its_states_and_refuses_illegal_moves(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = people["h"]
    ticket = open_ticket(client, h["duty"], make_event(grade="IV"))
    tid = ticket["id"]

    illegal = move(client, h["duty"], tid, "closed")
    assert illegal.status_code == 409
    assert illegal.json()["detail"] == "不能从“待研判”转为“已办结”"
    assert move(client, h["duty"], tid, "no-such-state").status_code == 422

    assigned = client.post(f"/api/tickets/{tid}/assign", headers=h["duty"],
                           json={"unit_id": people["unit_a"].id,
                                 "handler_id": people["handler_a"].id})
    assert assigned.status_code == 200 and assigned.json()["state"] == "assigned"
    assert move(client, h["handler_a"], tid, "handling", "已到现场核实").json()["state"] == "handling"
    assert respond(client, h["handler_a"], tid).status_code == 201
    closed = move(client, h["handler_a"], tid, "closed", "已办结")
    assert closed.status_code == 200 and closed.json()["closed_at"]

    detail = client.get(f"/api/tickets/{tid}", headers=h["leader"]).json()
    assert [(t["from_state"], t["to_state"]) for t in detail["timeline"]] == [
        ("", "triage"), ("triage", "assigned"), ("assigned", "handling"),
        ("handling", "responded"), ("responded", "closed")]
    assert len(detail["responses"]) == 1


def test_it_refuses_an_unknown_unit_or_a_handler_of_another_unit(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = people["h"]
    tid = open_ticket(client, h["duty"], make_event())["id"]
    unknown = client.post(f"/api/tickets/{tid}/assign", json={"unit_id": 999999},
                          headers=h["duty"])
    assert unknown.status_code == 422
    wrong = client.post(f"/api/tickets/{tid}/assign", headers=h["duty"],
                        json={"unit_id": people["unit_a"].id,
                              "handler_id": people["handler_b"].id})
    assert wrong.status_code == 422


def test_a_grade_ii_response_waits_for_a_leader_sign_off(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = people["h"]
    tid = open_ticket(client, h["duty"], make_event(grade="II"), people["unit_a"])["id"]
    assert move(client, h["handler_a"], tid, "handling").status_code == 200

    early = respond(client, h["handler_a"], tid)
    assert early.status_code == 409
    assert "签发" in early.json()["detail"]
    # A leader must read what he signs: no review without a draft.
    assert move(client, h["handler_a"], tid, "review", "回应稿已起草").status_code == 422
    assert client.put(f"/api/tickets/{tid}/draft", json={"text": "经核查，化粪池已于当日清掏。"},
                      headers=h["handler_a"]).status_code == 200
    assert move(client, h["handler_a"], tid, "review", "回应稿已起草").status_code == 200

    by_duty = client.post(f"/api/tickets/{tid}/sign-off", headers=h["duty"])
    assert by_duty.status_code == 403
    by_handler = client.post(f"/api/tickets/{tid}/sign-off", headers=h["handler_a"])
    assert by_handler.status_code == 403
    signed = client.post(f"/api/tickets/{tid}/sign-off", json={"note": "同意发布"},
                         headers=h["leader"])
    assert signed.status_code == 200
    assert signed.json()["signed_off_by_id"] == people["leader"].id

    published = respond(client, h["handler_a"], tid)
    assert published.status_code == 201
    assert published.json()["approved_by_id"] == people["leader"].id
    assert client.get(f"/api/tickets/{tid}", headers=h["duty"]).json()["state"] == "responded"


def test_a_handler_works_only_on_tickets_of_their_own_unit(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = people["h"]
    mine = open_ticket(client, h["duty"], make_event("甲社区供暖不热"), people["unit_a"])
    theirs = open_ticket(client, h["duty"], make_event("乙路段井盖缺失"), people["unit_b"])
    untriaged = open_ticket(client, h["duty"], make_event("无主事件"))

    listed = client.get("/api/tickets", headers=h["handler_a"]).json()
    assert [t["id"] for t in listed] == [mine["id"]]
    assert client.get(f"/api/tickets?unit_id={people['unit_b'].id}",
                      headers=h["handler_a"]).json() == []
    assert len(client.get("/api/tickets", headers=h["duty"]).json()) == 3

    assert client.get(f"/api/tickets/{mine['id']}", headers=h["handler_a"]).status_code == 200
    for tid in (theirs["id"], untriaged["id"]):
        res = client.get(f"/api/tickets/{tid}", headers=h["handler_a"])
        assert res.status_code == 403
        assert res.json()["detail"] == "只能查看和办理本单位的工单"
        assert move(client, h["handler_a"], tid, "handling").status_code == 403
        assert respond(client, h["handler_a"], tid).status_code == 403
        notes = client.patch(f"/api/tickets/{tid}/notes", json={"online_note": "x"},
                             headers=h["handler_a"])
        assert notes.status_code == 403
    # Handlers do not open or hand out tickets.
    other = make_event("另一事件")
    assert client.post("/api/tickets", json={"event_id": other.id},
                       headers=h["handler_a"]).status_code == 403


def test_it_records_online_and_offline_notes_on_the_timeline(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = people["h"]
    tid = open_ticket(client, h["duty"], make_event(), people["unit_a"])["id"]
    res = client.patch(f"/api/tickets/{tid}/notes", headers=h["handler_a"],
                       json={"online_note": "已在微博回复网民", "offline_note": "已清理占道车辆"})
    assert res.status_code == 200
    assert res.json()["offline_note"] == "已清理占道车辆"
    timeline = client.get(f"/api/tickets/{tid}", headers=h["handler_a"]).json()["timeline"]
    assert timeline[-1]["action"] == "note"
    assert "线下情况" in timeline[-1]["note"]


def test_a_recorded_response_adds_exactly_one_responded_event_to_the_annual_report(
        client: TestClient, people: dict[str, Any], make_event: Callable[..., Event]) -> None:
    h = people["h"]
    year = to_local(utcnow()).year

    def annual() -> dict[str, Any]:
        res = client.get(f"/api/reports/annual?year={year}", headers=h["leader"])
        assert res.status_code == 200
        return dict(res.json())

    before = annual()
    tid = open_ticket(client, h["duty"], make_event(topic="snow"), people["unit_a"])["id"]
    assert respond(client, h["handler_a"], tid, channel="weibo").status_code == 201
    after = annual()
    assert after["responded_events"] == before["responded_events"] + 1
    assert after["weibo_wechat_responses"] == before["weibo_wechat_responses"] + 1
    assert after["topics"].get("snow") == 1
    assert f"共回应公众关注热点或舆情{after['responded_events']}次" in after["text"]

    # A second response to the same event is not a second responded event.
    assert respond(client, h["handler_a"], tid, channel="wechat").status_code == 201
    assert annual()["responded_events"] == after["responded_events"]


def test_missing_tickets_are_404_in_chinese(client: TestClient, people: dict[str, Any]) -> None:
    res = client.get("/api/tickets/424242", headers=people["h"]["duty"])
    assert res.status_code == 404
    assert res.json() == {"detail": "工单不存在: 424242"}
