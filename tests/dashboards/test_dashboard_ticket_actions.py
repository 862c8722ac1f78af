"""办理 in the ticket panel: the requests the script sends are the ones the API accepts.

BODIES copies the JSON each form in dashboard.js sends (same keys, same endpoint, same method);
a test reads the `act(...)` calls out of the script so the two cannot drift apart, and the
grade II walk-through below sends exactly these bodies to the real API.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.security import create_access_token
from core.events.models import Event
from core.tickets import service as tickets
from core.timeutil import utcnow
from core.units.models import Unit
from core.users.models import User
from dashboards import web

# PATHS name → (method, the script's body keys).
BODIES: dict[str, tuple[str, set[str]]] = {
    "assign": ("POST", {"unit_id", "note"}),
    "dismiss": ("POST", {"reason"}),
    "transition": ("POST", {"to_state", "note"}),
    "signOff": ("POST", {"note", "confidentiality_checked"}),
    "responses": ("POST", {"channel", "kind", "title", "url", "summary", "published_at"}),
    "notes": ("PATCH", {"online_note", "offline_note"}),
    "reopen": ("POST", {"reason"}),
}
ACT_CALL = re.compile(r'act\("(\w+)", "(\w+)", \{([^{}]*)\},\s')
JS_PATH = Path(web.STATIC_DIR) / "dashboard.js"


def script() -> str:
    return JS_PATH.read_text(encoding="utf-8")


def _paths() -> dict[str, str]:
    block = re.search(r"var PATHS = \{(.*?)\};", script(), re.S)
    assert block
    return dict(re.findall(r'(\w+): "(/api/[^"]*)"', block.group(1)))


def _url(name: str, ticket_id: int) -> str:
    return _paths()[name].replace("{id}", str(ticket_id))


def _send(client: TestClient, name: str, ticket_id: int, body: dict[str, Any],
          headers: dict[str, str]) -> Any:
    method, keys = BODIES[name]
    assert set(body) == keys, name  # the shape the script sends
    return client.request(method, _url(name, ticket_id), json=body, headers=headers)


def _token(session: Session, username: str, role: str, unit_id: int | None = None) -> dict[str, str]:
    user = User(username=username, role=role, unit_id=unit_id, password_hash="x")
    session.add(user)
    session.commit()
    assert user.id is not None
    return {"Authorization": f"Bearer {create_access_token(user.id, role=role)}"}


def _ticket(session: Session, title: str, grade: str) -> int:
    event = Event(title=title, topic="other", grade=grade, first_seen_at=utcnow(), last_seen_at=utcnow())
    session.add(event)
    session.commit()
    assert event.id is not None
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None)
    session.commit()
    assert ticket.id is not None
    return ticket.id


def test_every_action_the_script_sends_has_the_shape_the_tests_send() -> None:
    js = script()
    calls = ACT_CALL.findall(js)
    assert len(calls) == js.count('act("')  # every call is read, none is built another way
    assert {name for name, _, _ in calls} == set(BODIES)
    for name, method, body in calls:
        keys = set(re.findall(r"(\w+):", body))
        assert (method, keys) == BODIES[name], name
    # Each action goes to its own endpoint (the route check in test_dashboard_tickets covers them).
    paths = _paths()
    assert {name: paths[name] for name in BODIES} == {
        "assign": "/api/tickets/{id}/assign", "dismiss": "/api/tickets/{id}/dismiss",
        "transition": "/api/tickets/{id}/transition", "signOff": "/api/tickets/{id}/sign-off",
        "responses": "/api/tickets/{id}/responses", "notes": "/api/tickets/{id}/notes",
        "reopen": "/api/tickets/{id}/reopen"}


def test_the_offered_moves_are_moves_the_service_allows() -> None:
    js = script()
    block = re.search(r"var MOVES = (\{.*?\});", js, re.S)
    assert block
    moves: dict[str, list[str]] = json.loads(block.group(1))
    for state, targets in moves.items():
        assert set(targets) <= {str(s) for s in tickets.TRANSITIONS[state]}, state
    # Handlers may not make these moves: none is offered as a button.
    assert not {"assigned", "dismissed", "triage", "responded"} & {t for ts in moves.values() for t in ts}
    labels = dict(re.findall(r'"(\w+>\w+)": "([^"]+)"', js))
    assert {f"{s}>{t}" for s, ts in moves.items() for t in ts} == set(labels)
    assert labels["responded>closed"] == "办结" and labels["handling>review"] == "提交审核"
    # The roles and states the panel uses mirror the API's.
    assert 'var DISPATCHERS = ["admin", "leader", "duty"];' in js
    assert 'var LEADERS = ["admin", "leader"];' in js
    assert 'var RESPONDABLE = ["assigned", "handling", "review", "responded"];' in js
    assert {str(s) for s in tickets.RESPONDABLE} == {"assigned", "handling", "review", "responded"}
    assert 'var SIGN_OFF_GRADES = ["I", "II"];' in js and {"I", "II"} == tickets.SIGN_OFF_GRADES


def test_the_forms_are_built_without_markup(client: TestClient) -> None:
    js = script()  # test_dashboard_page checks it for markup sinks and inline handlers
    for label in ("交办", "标记误报", "审核签发", "记录回应", "线上情况", "线下情况", "重新打开",
                  "本人已对回应稿做保密审查"):
        assert f'"{label}' in js, label
    assert "datetime-local" in js and "toISOString()" in js  # published time, default now
    html = client.get("/").text
    for container in ("ticket-actions", "ticket-action-buttons", "ticket-action-form",
                      "ticket-action-message"):
        assert f'id="{container}"' in html, container
    assert (Path(web.STATIC_DIR) / "dashboard.css").read_text(encoding="utf-8").count(".action-form") >= 1


def test_a_grade_ii_ticket_goes_through_the_panel_actions(client: TestClient, session: Session) -> None:
    lead, other = Unit(name="城管局"), Unit(name="住建局")
    session.add_all([lead, other])
    session.commit()
    assert lead.id and other.id
    ticket_id = _ticket(session, "小区积水无人处理", "II")
    duty = _token(session, "duty", "duty")
    leader = _token(session, "leader", "leader")
    handler = _token(session, "handler", "handler", lead.id)
    stranger = _token(session, "stranger", "handler", other.id)

    def ok(name: str, body: dict[str, Any], headers: dict[str, str], status: int = 200) -> dict[str, Any]:
        res = _send(client, name, ticket_id, body, headers)
        assert res.status_code == status, (name, res.text)
        return res.json()

    def refused(name: str, body: dict[str, Any], headers: dict[str, str], status: int) -> str:
        res = _send(client, name, ticket_id, body, headers)
        assert res.status_code == status, (name, res.text)
        detail = res.json()["detail"]
        assert isinstance(detail, str) and detail  # what the panel shows
        return detail

    def state() -> str:
        return client.get(f"/api/tickets/{ticket_id}", headers=duty).json()["state"]

    # 交办 is for duty staff and leaders only.
    refused("assign", {"unit_id": lead.id, "note": ""}, handler, 403)
    assert ok("assign", {"unit_id": lead.id, "note": "请核实处置"}, duty)["unit_id"] == lead.id
    assert state() == "assigned"

    # Only the lead unit's handler (or duty staff, leaders) changes the state.
    refused("transition", {"to_state": "handling", "note": ""}, stranger, 403)
    ok("transition", {"to_state": "handling", "note": ""}, handler)
    ok("notes", {"online_note": "微博转发200余次", "offline_note": "已派人到现场"}, handler)
    # A grade II response waits for the sign-off: the 409 explains it.
    assert "签发" in refused("responses", {"channel": "weibo", "kind": "response", "title": "情况通报",
                                          "url": "", "summary": "", "published_at": utcnow().isoformat()},
                             handler, 409)
    ok("transition", {"to_state": "review", "note": "回应稿已拟好"}, handler)
    assert state() == "review"

    # 审核签发 is for leaders; without the 保密审查 it is refused with a reason.
    refused("signOff", {"note": "", "confidentiality_checked": True}, handler, 403)
    refused("signOff", {"note": "", "confidentiality_checked": True}, duty, 403)
    assert "保密审查" in refused("signOff", {"note": "", "confidentiality_checked": False}, leader, 422)
    signed = ok("signOff", {"note": "同意发布", "confidentiality_checked": True}, leader)
    assert signed["signed_off_by_id"] and signed["confidentiality_checked"]

    published = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    response = ok("responses", {"channel": "weibo", "kind": "interpretation", "title": "关于积水的情况通报",
                                "url": "https://weibo.com/1/abc", "summary": "已完成抽排",
                                "published_at": published}, handler, 201)
    assert response["approved_by_id"] == signed["signed_off_by_id"]
    assert state() == "responded"
    ok("transition", {"to_state": "closed", "note": "已办结"}, handler)
    assert state() == "closed"

    # 重新打开 is for duty staff and leaders; closing twice is a conflict the panel shows.
    refused("transition", {"to_state": "closed", "note": ""}, handler, 409)
    refused("reopen", {"reason": "群众再次反映"}, handler, 403)
    assert ok("reopen", {"reason": "群众再次反映"}, duty)["state"] == "handling"

    detail = client.get(f"/api/tickets/{ticket_id}", headers=handler).json()
    assert detail["online_note"] == "微博转发200余次" and detail["offline_note"] == "已派人到现场"
    assert [r["kind"] for r in detail["responses"]] == ["interpretation"]
    assert {"assign", "transition", "note", "sign_off", "respond", "reopen"} <= {
        r["action"] for r in detail["timeline"]}


def test_a_false_alarm_is_dismissed_with_a_reason_and_reopened(client: TestClient, session: Session) -> None:
    ticket_id = _ticket(session, "误报", "IV")
    duty = _token(session, "duty", "duty")
    handler = _token(session, "handler", "handler")

    res = _send(client, "dismiss", ticket_id, {"reason": ""}, duty)
    assert res.status_code == 422  # the reason is required: the panel shows the API's message
    assert "reason" in res.json()["detail"]
    assert _send(client, "dismiss", ticket_id, {"reason": "广告帖"}, handler).status_code == 403
    res = _send(client, "dismiss", ticket_id, {"reason": "广告帖"}, duty)
    assert res.status_code == 200 and res.json()["state"] == "dismissed"
    assert res.json()["dismiss_reason"] == "广告帖"
    res = _send(client, "reopen", ticket_id, {"reason": "并非广告"}, duty)
    assert res.status_code == 200 and res.json()["state"] == "triage"


def test_the_panel_offers_each_role_its_actions_and_shows_refusals() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    harness = Path(__file__).with_name("panel_actions.js")
    html = Path(web.TEMPLATES_DIR) / "index.html"
    result = subprocess.run([node, str(harness), str(JS_PATH.resolve()), str(html)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout + result.stderr
    assert result.stdout.count("ok ") >= 15
