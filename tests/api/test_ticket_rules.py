"""One rule per ticket action, whichever route reaches it: every route × role, and what it changes.

The expectations are written out here by hand (not read from core.tickets.rules), so a rule
that drifts in the code fails a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.events.models import Event
from core.processing import service as processing
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate
from core.timeutil import SHANGHAI, ensure_utc
from core.units.models import Unit
from core.users.models import User

Headers = dict[str, str]
ROLES = ("admin", "leader", "duty", "handler")
EVERYONE = set(ROLES)
DISPATCHERS = {"admin", "leader", "duty"}
LEADERS = {"admin", "leader"}


@dataclass(frozen=True)
class Office:
    unit: Unit
    other: Unit
    users: dict[str, User]


@pytest.fixture
def office(make_user: Callable[..., User], make_unit: Callable[[str], Unit]) -> Office:
    unit, other = make_unit("站前社区"), make_unit("城建办")
    return Office(unit, other, {role: make_user(role, role, unit if role == "handler" else None)
                                for role in ROLES})


def prepare(session: Session, office: Office, state: str, grade: str = "IV") -> int:
    """A ticket of the handler's unit, brought through the service to `state`."""
    event = Event(title=f"{state}的工单", topic="parking", grade=grade, first_seen_at=datetime.now(SHANGHAI),
                  last_seen_at=datetime.now(SHANGHAI), mention_count=1)
    session.add(event)
    session.flush()
    assert event.id is not None
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None)
    tid = ticket.id
    assert tid is not None
    ticket.unit_id = office.unit.id  # the handler's unit leads it, even before 交办
    if state == "dismissed":
        tickets.dismiss(session=session, ticket_id=tid, actor_id=None, reason="广告")
    if state not in {"triage", "dismissed"}:
        tickets.assign(session=session, ticket_id=tid, actor_id=None, unit_id=office.unit.id or 0)
    if state in {"handling", "review", "responded", "closed", "paused"}:
        tickets.transition(session=session, ticket_id=tid, to_state="handling", actor_id=None)
        # 提交审核 needs a reply draft for the leader to read.
        tickets.save_draft(session=session, ticket_id=tid, text="关于停车问题的回应稿", actor_id=None)
    if state == "review":
        tickets.transition(session=session, ticket_id=tid, to_state="review", actor_id=None)
    if state in {"responded", "closed"}:
        tickets.record_response(session=session, ticket_id=tid, actor_id=None,
                                response_in=ResponseCreate(channel="weibo", title="情况通报"))
    if state == "closed":
        tickets.transition(session=session, ticket_id=tid, to_state="closed", actor_id=None)
    if state == "paused":
        tickets.pause(session=session, ticket_id=tid, actor_id=None, reason="待区住建局答复")
    session.commit()
    return tid


@dataclass(frozen=True)
class Case:
    pre: str  # the state the ticket is brought to first
    method: str
    path: str  # after /api/tickets/{id}
    body: Callable[[Office], dict[str, Any] | None]
    allowed: set[str]
    done: Callable[[dict[str, Any]], bool]  # the ticket shows the change
    grade: str = "IV"


def to(state: str, note: str = "") -> Callable[[Office], dict[str, Any]]:
    return lambda _: {"to_state": state, "note": note}


def is_state(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda t: bool(t["state"] == state)


CASES: dict[str, Case] = {
    "assign": Case("triage", "post", "/assign", lambda o: {"unit_id": o.unit.id}, DISPATCHERS,
                   is_state("assigned")),
    "transition triage→assigned": Case("triage", "post", "/transition", to("assigned"), DISPATCHERS,
                                       is_state("assigned")),
    "transition triage→dismissed": Case("triage", "post", "/transition", to("dismissed", "广告"),
                                        DISPATCHERS, is_state("dismissed")),
    "dismiss": Case("triage", "post", "/dismiss", lambda _: {"reason": "广告"}, DISPATCHERS,
                    is_state("dismissed")),
    "transition assigned→handling": Case("assigned", "post", "/transition", to("handling"), EVERYONE,
                                         is_state("handling")),
    "transition handling→review": Case("handling", "post", "/transition", to("review"), EVERYONE,
                                       is_state("review")),
    "transition review→handling": Case("review", "post", "/transition", to("handling"), EVERYONE,
                                       is_state("handling")),
    "transition responded→handling": Case("responded", "post", "/transition", to("handling"), EVERYONE,
                                          is_state("handling")),
    "transition responded→closed": Case("responded", "post", "/transition", to("closed"), EVERYONE,
                                        is_state("closed")),
    # The back door of issue 13: closed → handling is a reopen, whatever route it takes.
    "transition closed→handling": Case("closed", "post", "/transition", to("handling", "群众再次反映"),
                                       DISPATCHERS, is_state("handling")),
    "transition dismissed→triage": Case("dismissed", "post", "/transition", to("triage", "并非广告"),
                                        DISPATCHERS, is_state("triage")),
    "reopen closed": Case("closed", "post", "/reopen", lambda _: {"reason": "群众再次反映"}, DISPATCHERS,
                          is_state("handling")),
    "reopen dismissed": Case("dismissed", "post", "/reopen", lambda _: {"reason": "并非广告"}, DISPATCHERS,
                             is_state("triage")),
    "review": Case("review", "post", "/review", lambda _: {"confidentiality_ok": True}, LEADERS,
                   lambda t: t["reviewed_by_id"] is not None and t["confidentiality_checked"]),
    "review rejected": Case("review", "post", "/review", lambda _: {"confidentiality_ok": False}, LEADERS,
                            is_state("handling")),
    "sign-off": Case("review", "post", "/sign-off", lambda _: {"confidentiality_checked": True}, LEADERS,
                     lambda t: t["signed_off_by_id"] is not None, grade="II"),
    "extend": Case("handling", "post", "/extend", lambda _: {"working_days": 10, "reason": "需上级协调"},
                   LEADERS, lambda t: t["close_working_days"] == 10),
    "units": Case("assigned", "put", "/units", lambda o: {"assisting_unit_ids": [o.other.id]}, DISPATCHERS,
                  lambda t: t["assisting_unit_ids"] != []),
    "pause": Case("handling", "post", "/pause", lambda _: {"reason": "待上级答复"}, EVERYONE,
                  lambda t: t["paused_at"] is not None),
    "resume": Case("paused", "post", "/resume", lambda _: {"note": "已答复"}, EVERYONE,
                   lambda t: t["paused_at"] is None),
    "respond": Case("handling", "post", "/responses", lambda _: {"channel": "weibo", "title": "情况通报"},
                    EVERYONE, is_state("responded")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_route_lets_exactly_its_roles_change_the_ticket(
        name: str, client: TestClient, session: Session, office: Office,
        auth: Callable[[User], Headers]) -> None:
    case = CASES[name]
    for role in ROLES:
        tid = prepare(session, office, case.pre, case.grade)
        headers = auth(office.users[role])
        before = client.get(f"/api/tickets/{tid}", headers=headers).json()
        assert not case.done(before), (name, role)
        res = client.request(case.method, f"/api/tickets/{tid}{case.path}", json=case.body(office),
                             headers=headers)
        after = client.get(f"/api/tickets/{tid}", headers=headers).json()
        if role in case.allowed:
            assert res.status_code in (200, 201), (name, role, res.text)
            assert case.done(after), (name, role)
        else:
            assert res.status_code == 403, (name, role, res.text)
            assert after == before, (name, role)  # nothing changed, nothing on the timeline


def test_a_handler_cannot_reopen_a_closed_ticket_through_transition(
        client: TestClient, session: Session, office: Office, auth: Callable[[User], Headers]) -> None:
    tid = prepare(session, office, "closed")
    handler = auth(office.users["handler"])
    res = client.post(f"/api/tickets/{tid}/transition", json={"to_state": "handling", "note": "再办"},
                      headers=handler)
    assert res.status_code == 403 and "重新打开" in res.json()["detail"]
    assert client.get(f"/api/tickets/{tid}", headers=handler).json()["state"] == "closed"
    # Duty staff may, but a reopen needs its reason on this route as on /reopen.
    duty = auth(office.users["duty"])
    res = client.post(f"/api/tickets/{tid}/transition", json={"to_state": "handling"}, headers=duty)
    assert res.status_code == 422 and "原因" in res.json()["detail"]
    res = client.post(f"/api/tickets/{tid}/transition", json={"to_state": "handling", "note": "群众再次反映"},
                      headers=duty)
    assert res.status_code == 200 and res.json()["reopened_count"] == 1
    timeline = client.get(f"/api/tickets/{tid}/timeline", headers=duty).json()
    assert timeline[-1]["action"] == "reopen" and timeline[-1]["note"] == "群众再次反映"


@pytest.mark.parametrize("path,body,allowed", [
    ("/extend", {"working_days": 10, "reason": "需上级协调"}, LEADERS),
    ("/review", {"confidentiality_ok": True}, LEADERS),
    ("/units", {"assisting_unit_ids": []}, DISPATCHERS),
])
def test_extend_review_and_units_refuse_the_wrong_roles(
        path: str, body: dict[str, Any], allowed: set[str], client: TestClient, session: Session,
        office: Office, auth: Callable[[User], Headers]) -> None:
    tid = prepare(session, office, "review")
    method = "put" if path == "/units" else "post"
    for role in sorted(EVERYONE - allowed):
        res = client.request(method, f"/api/tickets/{tid}{path}", json=body, headers=auth(office.users[role]))
        assert res.status_code == 403, (path, role)
    res = client.request(method, f"/api/tickets/{tid}{path}", json=body,
                         headers=auth(office.users[sorted(allowed)[0]]))
    assert res.status_code == 200, res.text


def test_only_dispatchers_open_tickets(client: TestClient, session: Session, office: Office,
                                       auth: Callable[[User], Headers], make_event: Callable[..., Event]) -> None:
    event = make_event()
    res = client.post("/api/tickets", json={"event_id": event.id}, headers=auth(office.users["handler"]))
    assert res.status_code == 403
    res = client.post("/api/tickets", json={"event_id": event.id}, headers=auth(office.users["duty"]))
    assert res.status_code == 201


# Rule 2: a ticket's grade follows its event -----------------------------------------------

RISE_AT = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)


def crowd_event(session: Session) -> Event:
    """A grade III event whose numbers now say much more (a crowd gathering, media, thousands)."""
    event = Event(title="小区居民聚集拉横幅反映停车费上涨", topic="parking", grade="III",
                  first_seen_at=RISE_AT - timedelta(hours=6), last_seen_at=RISE_AT, mention_count=400,
                  engagement=150_000, negative_count=380, relevant=True, max_risk=1.0,
                  sensitive_terms=["聚集", "拉横幅"], channels=["weibo", "news"])
    session.add(event)
    session.commit()
    return event


def test_a_rising_event_regrades_its_ticket_starts_the_5h_clock_and_requires_sign_off(
        client: TestClient, session: Session, office: Office, auth: Callable[[User], Headers]) -> None:
    event = crowd_event(session)
    assert event.id is not None
    with time_machine.travel(RISE_AT - timedelta(hours=3), tick=False):
        ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None,
                                            unit_id=office.unit.id)
        tickets.transition(session=session, ticket_id=ticket.id or 0, to_state="handling", actor_id=None)
        session.commit()
    assert ticket.grade == "III" and ticket.first_info_due_at is None

    with time_machine.travel(RISE_AT, tick=False):
        processing.grade_event(session=session, event=event)  # the pipeline's re-grade
        session.commit()
        assert event.grade in {"I", "II"}  # the premise: the numbers put it above III
        handler, leader = auth(office.users["handler"]), auth(office.users["leader"])
        seen = client.get(f"/api/tickets/{ticket.id}", headers=handler).json()
        assert seen["grade"] == event.grade
        assert ensure_utc(datetime.fromisoformat(seen["first_info_due_at"])) == RISE_AT + timedelta(hours=5)
        assert ensure_utc(datetime.fromisoformat(seen["response_due_at"])) == RISE_AT + timedelta(hours=24)
        [row] = [t for t in seen["timeline"] if t["action"] == "regrade"]
        assert row["changes"]["grade"] == ["III", event.grade] and "领导审核签发" in row["note"]
        assert {"clock": "first_info"}.items() <= next(d for d in seen["deadlines"]
                                                      if d["clock"] == "first_info").items()

        # From now on a response without the leader's sign-off is refused …
        response = {"channel": "weibo", "title": "关于停车收费的说明"}
        res = client.post(f"/api/tickets/{ticket.id}/responses", json=response, headers=handler)
        assert res.status_code == 409 and "签发" in res.json()["detail"]
        assert client.get(f"/api/tickets/{ticket.id}/responses", headers=handler).json() == []
        # … and accepted once reviewed and signed off, carrying the approval.
        assert client.put(f"/api/tickets/{ticket.id}/draft", json={"text": "关于停车收费的说明"},
                          headers=handler).status_code == 200
        assert client.post(f"/api/tickets/{ticket.id}/transition", json={"to_state": "review"},
                           headers=handler).status_code == 200
        signed = client.post(f"/api/tickets/{ticket.id}/sign-off", json={}, headers=leader).json()
        res = client.post(f"/api/tickets/{ticket.id}/responses", json=response, headers=handler)
        assert res.status_code == 201 and res.json()["approved_by_id"] == signed["signed_off_by_id"]

        # The same event again: nothing more to do, no second timeline row.
        processing.grade_event(session=session, event=event)
        session.commit()
        again = client.get(f"/api/tickets/{ticket.id}", headers=handler).json()
        assert [t["action"] for t in again["timeline"]].count("regrade") == 1


def test_opening_an_existing_ticket_after_its_event_rose_regrades_it(
        client: TestClient, session: Session, office: Office, auth: Callable[[User], Headers],
        make_event: Callable[..., Event]) -> None:
    event = make_event(grade="III")
    duty = auth(office.users["duty"])
    first = client.post("/api/tickets", json={"event_id": event.id}, headers=duty).json()
    assert first["grade"] == "III"
    event.grade = "II"
    session.add(event)
    session.commit()
    again = client.post("/api/tickets", json={"event_id": event.id}, headers=duty)
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert again.json()["grade"] == "II" and again.json()["first_info_due_at"] is not None


def test_a_sign_off_given_before_the_rise_does_not_carry_over(
        client: TestClient, session: Session, office: Office, auth: Callable[[User], Headers]) -> None:
    tid = prepare(session, office, "review", grade="III")
    leader, handler = auth(office.users["leader"]), auth(office.users["handler"])
    assert client.post(f"/api/tickets/{tid}/sign-off", json={}, headers=leader).json()["signed_off_by_id"]
    ticket = tickets.get(session=session, ticket_id=tid)
    event = session.get(Event, ticket.event_id)
    assert event is not None
    event.grade = "II"
    tickets.follow_event_grade(session=session, event=event)
    session.commit()
    seen = client.get(f"/api/tickets/{tid}", headers=handler).json()
    assert seen["grade"] == "II" and seen["signed_off_by_id"] is None
    res = client.post(f"/api/tickets/{tid}/responses", json={"channel": "weibo", "title": "说明"}, headers=handler)
    assert res.status_code == 409
