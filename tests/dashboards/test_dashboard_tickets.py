"""The 工单 list and detail panel, and the ?ticket= / ?alert= links that notifications send."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.main import create_app
from api.security import create_access_token
from core.events.models import Event
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate
from core.timeutil import utcnow
from core.units.models import Unit
from core.users.models import User
from dashboards import web

JS_PATH = Path(web.STATIC_DIR) / "dashboard.js"
INJECTED = "<script>alert(1)</script>"


def script() -> str:
    return JS_PATH.read_text(encoding="utf-8")


def test_the_page_has_the_ticket_list_and_the_detail_panel(client: TestClient) -> None:
    html = client.get("/").text
    for container in ("tickets-section", 'id="tickets"', "tickets-empty", "ticket-panel",
                      "ticket-close", "ticket-message", "ticket-detail", "ticket-deadlines",
                      "ticket-timeline", "ticket-responses", "alerts-section", "alert-notice"):
        assert container in html, container
    # The panel waits for a ticket; its table heads say what each column is.
    assert re.search(r'<section id="ticket-panel"[^>]*\bhidden\b', html)
    for head in ("回应时限", "责任单位", "状态变化", "发布时间"):
        assert head in html


def test_the_script_follows_notification_links() -> None:
    js = script()
    assert "URLSearchParams(window.location.search)" in js
    assert 'urlParam("ticket")' in js and 'urlParam("alert")' in js
    assert "history.replaceState" in js  # clicking a ticket updates ?ticket=
    assert "该预警已签收或已处理" in js
    for status in ("403", "404"):  # the panel explains these in Chinese
        assert f"err.status === {status}" in js


def test_response_links_are_followed_only_for_web_addresses() -> None:
    js = script()
    assert r"/^https?:\/\//i.test(url)" in js
    # The only href set from server data is that checked URL; ticket links are built from ids.
    hrefs = re.findall(r"\.href\s*=\s*([^;]+);", js)
    assert sorted(hrefs) == sorted(['"?ticket=" + encodeURIComponent(String(t.id))', "url"])


def _route_shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_api_path_in_the_script_is_a_route_of_the_app(app_env: object) -> None:
    # The OpenAPI paths: FastAPI's own list of the API's routes (the page's routes are not API).
    paths = create_app().openapi()["paths"]
    routes = {_route_shape(path) for path in paths}
    assert "/api/tickets/{}" in routes and "get" in paths["/api/tickets/{ticket_id}"]
    js = script()
    literals = re.findall(r"""["'](/api/[^"']*)["']""", js)
    assert len(literals) == js.count("/api/")  # no path is pieced together elsewhere
    assert {"/api/tickets", "/api/tickets/{id}", "/api/dashboard/summary"} <= set(literals)
    for literal in literals:
        assert "?" not in literal, literal  # queries are built with URLSearchParams
        assert _route_shape(literal) in routes, literal


def test_the_script_is_valid_javascript() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    result = subprocess.run([node, "--check", str(JS_PATH)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def _token(session: Session, username: str, role: str, unit_id: int | None = None) -> dict[str, str]:
    user = User(username=username, role=role, unit_id=unit_id, password_hash="x")
    session.add(user)
    session.commit()
    assert user.id is not None
    return {"Authorization": f"Bearer {create_access_token(user.id, role=role)}"}


def test_the_ticket_api_gives_the_panel_every_field_it_shows(client: TestClient, session: Session) -> None:
    ours, theirs = Unit(name="城管局"), Unit(name="住建局")
    event = Event(title=INJECTED, topic="other", grade="III", first_seen_at=utcnow(), last_seen_at=utcnow())
    other_event = Event(title="别的单位", topic="other", grade="IV", first_seen_at=utcnow(),
                        last_seen_at=utcnow())
    session.add_all([ours, theirs, event, other_event])
    session.commit()
    assert ours.id and theirs.id and event.id and other_event.id
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None, unit_id=ours.id)
    other, _ = tickets.open_from_event(session=session, event_id=other_event.id, actor_id=None,
                                       unit_id=theirs.id)
    assert ticket.id and other.id
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None, response_in=ResponseCreate(
        channel="website", title=INJECTED, url='https://example.org/"><img src=x onerror=alert(1)>'))
    session.commit()
    handler = _token(session, "handler", "handler", ours.id)

    listed = client.get("/api/tickets", params={"state": "responded", "limit": 50}, headers=handler).json()
    assert [t["id"] for t in listed] == [ticket.id]  # only the handler's unit
    detail = client.get(f"/api/tickets/{ticket.id}", headers=handler).json()
    assert detail["title"] == INJECTED  # verbatim: the page sets it as text
    js = script()
    for key in ("title", "grade", "state", "unit_id", "assisting_unit_ids", "created_at", "deadlines",
                "timeline", "responses", "response_due_at", "paused_at"):
        assert key in detail and f"t.{key}" in js, key
    assert {d["clock"] for d in detail["deadlines"]} >= {"response", "close"}  # grade III
    for key in ("clock", "label", "due_at", "met_at", "status"):
        assert key in detail["deadlines"][0] and f"d.{key}" in js, key
    for key in ("at", "action", "from_state", "to_state", "note"):
        assert key in detail["timeline"][0] and f"row.{key}" in js, key
    assert [r["action"] for r in detail["timeline"]][:1] == ["open"]
    assert {r["action"] for r in detail["timeline"]} <= set(re.findall(r"(\w+): \"", js))
    response = detail["responses"][0]
    # Only http(s) links are stored (javascript: is refused); the rest is as given: the page shows it as text.
    assert response["url"] == 'https://example.org/"><img src=x onerror=alert(1)>'
    for key in ("channel", "kind", "title", "url", "published_at"):
        assert key in response and f"r.{key}" in js, key
    units = client.get("/api/units", headers=handler).json()
    assert {"id", "name"} <= set(units[0]) and "u.name" in js

    # What the panel turns into 无权查看 / 不存在 messages.
    assert client.get(f"/api/tickets/{other.id}", headers=handler).status_code == 403
    assert client.get("/api/tickets/999999", headers=handler).status_code == 404


def test_alert_links_point_at_an_alert_the_summary_lists(client: TestClient, session: Session) -> None:
    from core.alerts.models import Alert

    event = Event(title="积雪未清", topic="snow", grade="III", first_seen_at=utcnow(), last_seen_at=utcnow())
    session.add(event)
    session.commit()
    assert event.id is not None
    alert = Alert(event_id=event.id, level="III", reason="r", dedupe_key=f"event:{event.id}:III")
    session.add(alert)
    session.commit()
    duty = _token(session, "duty", "duty")

    open_alerts = client.get("/api/dashboard/summary", headers=duty).json()["open_alerts"]
    assert [a["id"] for a in open_alerts] == [alert.id]
    assert 'li.id = "alert-" + a.id' in script()  # what ?alert=ID scrolls to
    client.post(f"/api/alerts/{alert.id}/acknowledge", headers=duty).raise_for_status()
    assert client.get("/api/dashboard/summary", headers=duty).json()["open_alerts"] == []
    assert client.get(f"/api/alerts/{alert.id}", headers=duty).json()["status"] == "acknowledged"
