"""Every route × every role × own/other unit, with deny by default.

The route list comes from the app itself: a route added without a rule in RULES fails
`test_every_route_has_an_access_rule`, and each rule is then exercised for admin, leader,
duty, a unit handler and an account whose role is outside the closed set, against material
of the handler's own unit (lead and assisting) and of another unit (or of no ticket at all).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.main import create_app
from core.alerts.models import Alert
from core.duty.models import DutyShift, StaffPost
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import MentionCreate
from core.notify.models import NotificationChannel
from core.sources.models import Source
from core.tickets import service as tickets
from core.timeutil import to_local, utcnow
from core.topics import service as topics
from core.topics.models import TrackIn
from core.users.models import User
from tests.security.conftest import PASSWORD, PASSWORD_HASH, Office, bearer

ALL = frozenset({"admin", "leader", "duty", "handler"})
DISPATCH = frozenset({"admin", "leader", "duty"})
LEADER = frozenset({"admin", "leader"})
ADMIN = frozenset({"admin"})
PUBLIC = frozenset({"public"})
# Handler first: office-wide roles may change state (assign, dismiss) after he was checked.
ROLES = ("handler", "bogus", "duty", "leader", "admin")
# own: a ticket his unit leads; assist: another unit leads, his assists; other: another unit's
# ticket; loose: an event nobody has a ticket for.
TARGETS = ("own", "assist", "other", "loose")


@dataclass
class Thing:
    title: str
    event_id: int
    mention_id: int
    alert_id: int
    ticket_id: int | None


@dataclass
class World:
    office: Office
    things: dict[str, Thing]
    ids: dict[str, int] = field(default_factory=dict)  # user/source/shift/post/channel ids
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    # "read": a handler may use it on his unit's tickets (lead or assisting); "lead": only as
    # the lead unit. None: the role list alone decides.
    scoped: str | None = None
    body: Callable[[World, str, str], dict[str, Any]] | None = None
    # For list routes: what a handler's answer must show and hide.
    lists: bool = False


def j(value: dict[str, Any]) -> Callable[[World, str, str], dict[str, Any]]:
    return lambda w, role, target: {"json": value}


def form_file(name: str, content: bytes, **data: str) -> Callable[[World, str, str], dict[str, Any]]:
    return lambda w, role, target: {"files": {"file": (name, io.BytesIO(content))}, "data": data}


OPML = (b'<?xml version="1.0"?><opml version="2.0"><body><outline text="t" title="t" type="rss" '
        b'xmlUrl="http://127.0.0.1:9/feed.xml"/></body></opml>')

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/health"): Rule(PUBLIC),
    ("POST", "/api/auth/token"): Rule(PUBLIC, body=lambda w, role, t: {
        "data": {"username": w.office.users.get(role, w.office.users["duty"]).username, "password": PASSWORD}}),
    ("GET", "/api/users/me"): Rule(ALL),
    ("POST", "/api/users/me/password"): Rule(ALL, body=j({"old_password": "not-the-password",
                                                           "new_password": "another-password-1"})),
    ("GET", "/api/users"): Rule(DISPATCH),
    ("POST", "/api/users"): Rule(ADMIN, body=lambda w, role, t: {"json": {
        "username": f"new-{role}-{t}", "role": "duty", "password": "long-enough-1"}}),
    ("PATCH", "/api/users/{user_id}"): Rule(ADMIN, body=j({"full_name": "改名"})),
    ("POST", "/api/users/{user_id}/reset-password"): Rule(ADMIN, body=j({"password": "long-enough-9"})),
    ("GET", "/api/mentions"): Rule(ALL, lists=True),
    ("GET", "/api/mentions/{mention_id}"): Rule(ALL, scoped="read"),
    ("POST", "/api/mentions"): Rule(DISPATCH, body=lambda w, role, t: {"json": {
        "title": "人工录入", "text": "站前小区门口积水", "external_id": f"m-{role}-{t}"}}),
    ("POST", "/api/mentions/{mention_id}/label"): Rule(DISPATCH, body=j({"topic": "parking"})),
    ("GET", "/api/events"): Rule(ALL, lists=True),
    ("GET", "/api/events/{event_id}"): Rule(ALL, scoped="read"),
    ("GET", "/api/alerts"): Rule(DISPATCH),
    ("GET", "/api/alerts/{alert_id}"): Rule(DISPATCH),
    ("GET", "/api/alerts/{alert_id}/timeline"): Rule(DISPATCH),
    ("POST", "/api/alerts/{alert_id}/acknowledge"): Rule(DISPATCH),
    ("POST", "/api/alerts/{alert_id}/dismiss"): Rule(DISPATCH, body=j({"reason": "误报"})),
    ("GET", "/api/tickets"): Rule(ALL, lists=True),
    ("POST", "/api/tickets"): Rule(DISPATCH, body=lambda w, role, t: {"json": {
        "event_id": w.things["loose"].event_id}}),
    ("GET", "/api/tickets/false-alarms"): Rule(DISPATCH),
    ("GET", "/api/tickets/{ticket_id}"): Rule(ALL, scoped="read"),
    ("GET", "/api/tickets/{ticket_id}/timeline"): Rule(ALL, scoped="read"),
    ("POST", "/api/tickets/{ticket_id}/assign"): Rule(DISPATCH, body=lambda w, role, t: {"json": {
        "unit_id": (w.office.unit_a if t in ("own", "loose") else w.office.unit_b).id}}),
    ("PUT", "/api/tickets/{ticket_id}/units"): Rule(DISPATCH, body=lambda w, role, t: {"json": {
        "assisting_unit_ids": [w.office.unit_a.id] if t == "assist" else []}}),
    ("POST", "/api/tickets/{ticket_id}/transition"): Rule(ALL, scoped="lead", body=j({"to_state": "handling"})),
    ("POST", "/api/tickets/{ticket_id}/dismiss"): Rule(DISPATCH, body=j({"reason": "误报"})),
    ("POST", "/api/tickets/{ticket_id}/reopen"): Rule(DISPATCH, body=j({"reason": "重新办理"})),
    ("POST", "/api/tickets/{ticket_id}/pause"): Rule(ALL, scoped="lead", body=j({"reason": "待上级答复"})),
    ("POST", "/api/tickets/{ticket_id}/resume"): Rule(ALL, scoped="lead", body=j({"note": ""})),
    ("POST", "/api/tickets/{ticket_id}/extend"): Rule(LEADER, body=j({"working_days": 1, "reason": "延期"})),
    ("POST", "/api/tickets/{ticket_id}/review"): Rule(LEADER, body=j({"confidentiality_ok": True})),
    ("POST", "/api/tickets/{ticket_id}/sign-off"): Rule(LEADER, body=j({})),
    ("GET", "/api/tickets/{ticket_id}/responses"): Rule(ALL, scoped="read"),
    ("POST", "/api/tickets/{ticket_id}/responses"): Rule(ALL, scoped="lead", body=j({
        "channel": "weibo", "title": "关于积水的回应", "summary": "已处置"})),
    ("PATCH", "/api/tickets/{ticket_id}/notes"): Rule(ALL, scoped="read", body=j({"online_note": "已回复网民"})),
    ("GET", "/api/units"): Rule(ALL),
    ("POST", "/api/units"): Rule(ADMIN, body=lambda w, role, t: {"json": {"name": f"单位-{role}-{t}"}}),
    ("GET", "/api/sources"): Rule(DISPATCH),
    ("POST", "/api/sources"): Rule(ADMIN, body=lambda w, role, t: {"json": {
        "name": f"源-{role}-{t}", "url": "http://127.0.0.1:9/feed.xml"}}),
    ("GET", "/api/sources/{source_id}"): Rule(DISPATCH),
    ("PATCH", "/api/sources/{source_id}"): Rule(ADMIN, body=j({"enabled": True})),
    ("PUT", "/api/sources/{source_id}/credentials"): Rule(ADMIN, body=j({"cookie": "SUB=abc"})),
    ("DELETE", "/api/sources/{source_id}/credentials"): Rule(ADMIN),
    ("POST", "/api/sources/import-opml"): Rule(ADMIN, body=form_file("feeds.opml", OPML)),
    ("GET", "/api/reports/annual"): Rule(DISPATCH),
    ("GET", "/api/reports/briefing"): Rule(DISPATCH),
    ("GET", "/api/reports/formats"): Rule(DISPATCH),
    ("POST", "/api/reports/briefing/send"): Rule(DISPATCH, body=j({"period": "daily"})),
    # The download link of a sent briefing: no login, the token in its query decides (404 without).
    ("GET", "/api/reports/briefing/documents/{document_id}/file"): Rule(PUBLIC),
    # Office-wide figures: a handler works from /api/workspace, which is scoped to his unit.
    ("GET", "/api/dashboard/summary"): Rule(DISPATCH),
    ("GET", "/api/duty/shifts"): Rule(ALL),
    ("POST", "/api/duty/shifts"): Rule(ADMIN, body=lambda w, role, t: {"json": {
        "user_id": w.office.id("duty"), "starts_at": (utcnow() + timedelta(days=3)).isoformat(),
        "ends_at": (utcnow() + timedelta(days=3, hours=8)).isoformat()}}),
    ("POST", "/api/duty/shifts/{shift_id}/cancel"): Rule(ADMIN, body=j({"note": "调班"})),
    ("POST", "/api/duty/import"): Rule(ADMIN, body=j({"year": 2031, "month": 1, "rows": []})),
    ("GET", "/api/duty/now"): Rule(ALL),
    ("POST", "/api/duty/handovers"): Rule(DISPATCH, body=j({"note": "交班"})),
    ("GET", "/api/duty/handovers"): Rule(DISPATCH),
    ("GET", "/api/duty/posts"): Rule(DISPATCH),
    ("POST", "/api/duty/posts"): Rule(ADMIN, body=lambda w, role, t: {"json": {
        "user_id": w.office.id("leader"), "post": "principal"}}),
    ("POST", "/api/duty/posts/{post_id}/end"): Rule(ADMIN),
    ("GET", "/api/notifications/channels"): Rule(ADMIN),
    ("POST", "/api/notifications/channels"): Rule(ADMIN, body=lambda w, role, t: {"json": {
        "name": f"渠道-{role}-{t}", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}}),
    ("PATCH", "/api/notifications/channels/{channel_id}"): Rule(ADMIN, body=j({"enabled": False})),
    ("GET", "/api/notifications"): Rule(DISPATCH),
    ("GET", "/api/ledger"): Rule(ALL, lists=True),
    ("POST", "/api/intake/calls"): Rule(DISPATCH, body=lambda w, role, t: {"json": {
        "title": "来电反映积水", "call_id": f"c-{role}-{t}"}}),
    ("POST", "/api/intake/import"): Rule(DISPATCH, body=form_file(
        "calls.csv", "工单编号,标题,内容\n1,积水,小区积水\n".encode(), channel="hotline")),
    ("GET", "/api/audit"): Rule(DISPATCH),
    ("GET", "/api/calendar/days"): Rule(ALL),
    ("POST", "/api/calendar/days"): Rule(ADMIN, body=j({"date": "2031-01-01", "kind": "holiday", "name": "元旦"})),
    ("DELETE", "/api/calendar/days/{day}"): Rule(ADMIN),
    ("POST", "/api/calendar/import"): Rule(ADMIN, body=form_file("days.csv", "2031-01-02,holiday,元旦\n".encode())),
    ("GET", "/api/calendar/status"): Rule(ALL),
    ("GET", "/api/notifications/failed"): Rule(DISPATCH),
    ("GET", "/api/workspace"): Rule(ALL),
    ("GET", "/api/mentions/search"): Rule(ALL, lists=True),
    ("GET", "/api/events/{event_id}/grades"): Rule(ALL, scoped="read"),
    ("GET", "/api/events/{event_id}/spread"): Rule(ALL, scoped="read"),
    ("PUT", "/api/tickets/{ticket_id}/draft"): Rule(ALL, scoped="lead", body=j({"text": "关于积水的回应稿"})),
    ("POST", "/api/tickets/{ticket_id}/return"): Rule(LEADER, body=j({"reason": "请补充处置结果"})),
    ("PATCH", "/api/units/{unit_id}"): Rule(ADMIN, body=j({"contact": "024-0000000"})),
    ("POST", "/api/sources/{source_id}/test-fetch"): Rule(ADMIN),
    ("POST", "/api/notifications/channels/{channel_id}/test"): Rule(ADMIN),
    ("GET", "/api/taxonomy"): Rule(ALL),
    ("GET", "/api/gazetteer"): Rule(ALL),
    ("POST", "/api/notifications/{notification_id}/resend"): Rule(DISPATCH),
    # 专题: office-wide roles define them; everybody opens them, and what a topic shows is scoped.
    ("GET", "/api/tracks"): Rule(ALL),
    ("POST", "/api/tracks"): Rule(DISPATCH, body=lambda w, role, t: {"json": {
        "name": f"专题-{role}-{t}", "any_words": ["积水"], "starts_on": str(to_local(utcnow()).date())}}),
    ("GET", "/api/tracks/{track_id}"): Rule(ALL),
    ("PATCH", "/api/tracks/{track_id}"): Rule(DISPATCH, body=j({"description": "持续关注"})),
    ("DELETE", "/api/tracks/{track_id}"): Rule(DISPATCH),
    ("GET", "/api/tracks/{track_id}/overview"): Rule(ALL, lists=True),
    ("GET", "/api/tracks/{track_id}/report"): Rule(ALL),
}
# Pages and assets of the web app: no data, no token needed.
NOT_API = {("GET", "/"), ("GET", "/docs"), ("GET", "/static/vendor/{name}")} | {
    (method, "/{path}") for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")}  # the app's pages


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app answers, walking included routers."""
    found: list[tuple[str, str]] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included-router wrapper
                walk(route.original_router.routes)
            elif isinstance(route, APIRoute):
                # Path convertors (`{ticket_id:int}`) are routing detail, not part of the rule's key.
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                found.extend((m, path) for m in sorted(route.methods or ()))

    walk(create_app().routes)
    return found


API_ROUTES = [r for r in app_routes() if r not in NOT_API]


def test_every_route_has_an_access_rule() -> None:
    missing = [r for r in API_ROUTES if r not in RULES]
    assert not missing, f"routes without an access rule in tests/security/test_access_matrix.py: {missing}"
    assert not set(RULES) - set(API_ROUTES), "rules for routes that no longer exist"


def make_thing(session: Session, name: str, lead: int | None, assisting: list[int], actor: int) -> Thing:
    title = f"{name.upper()}-站前小区积水无人管"
    now = utcnow()
    event = Event(title=title, topic="facilities", grade="III", first_seen_at=now, last_seen_at=now,
                  mention_count=1, topics=["facilities"])
    session.add(event)
    session.flush()
    assert event.id is not None
    mention = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="hotline", external_id=f"call-{name}", title=title, text=title, author=f"{name}-来电人",
        contact=f"1380000{len(name):04d}", published_at=now)).mention
    mention.event_id = event.id
    session.add(mention)
    alert = Alert(event_id=event.id, level="III", reason="负面", dedupe_key=f"event:{event.id}:III")
    session.add(alert)
    session.flush()
    ticket_id = None
    if lead is not None:
        ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=actor)
        assert ticket.id is not None
        tickets.assign(session=session, ticket_id=ticket.id, actor_id=actor, unit_id=lead,
                       assisting_unit_ids=assisting)
        ticket_id = ticket.id
    session.commit()
    assert mention.id is not None and alert.id is not None
    return Thing(title, event.id, mention.id, alert.id, ticket_id)


@pytest.fixture
def world(session: Session, office: Office, database_url: str) -> World:
    a, b = office.unit_a.id, office.unit_b.id
    assert a is not None and b is not None
    actor = office.id("duty")
    things = {
        "own": make_thing(session, "own", a, [], actor),
        "assist": make_thing(session, "assist", b, [a], actor),
        "other": make_thing(session, "other", b, [], actor),
        "loose": make_thing(session, "loose", None, [], actor),
    }
    spare = User(username="spare", full_name="备用", role="duty", password_hash=PASSWORD_HASH)
    source = Source(name="站前论坛", kind="forum", url="http://127.0.0.1:9/forum")
    channel = NotificationChannel(name="值班群", kind="webhook", url="http://127.0.0.1:9/hook")
    session.add_all([spare, source, channel])
    session.flush()
    start = utcnow() + timedelta(days=1)
    assert spare.id is not None
    shift = DutyShift(user_id=spare.id, starts_at=start, ends_at=start + timedelta(hours=8))
    post = StaffPost(user_id=spare.id, post="staff")
    session.add_all([shift, post])
    # An account left from before roles were a closed set (the constraint now refuses it).
    if database_url.startswith("sqlite"):
        session.execute(sa.text("PRAGMA ignore_check_constraints = ON"))
    else:
        session.execute(sa.text("ALTER TABLE app_user DROP CONSTRAINT ck_app_user_role"))
    bogus = User(username="bogus", full_name="旧账号", role="Handler", unit_id=a, password_hash=PASSWORD_HASH)
    session.add(bogus)
    session.commit()
    if database_url.startswith("sqlite"):
        session.execute(sa.text("PRAGMA ignore_check_constraints = OFF"))
    # A 专题 defined after the fact: it tags the four things' mentions (all say 积水).
    track = topics.create(session=session, actor_id=actor, track_in=TrackIn(
        name="积水", any_words=["积水"], starts_on=to_local(utcnow()).date() - timedelta(days=1)))
    session.commit()
    ids = {"user_id": spare.id, "source_id": source.id or 0, "channel_id": channel.id or 0,
           "shift_id": shift.id or 0, "post_id": post.id or 0, "track_id": track.id or 0}
    headers = {**office.headers, "bogus": bearer(bogus)}
    return World(office, things, ids, headers)


def fill(path: str, world: World, target: str) -> str:
    thing = world.things[target]
    values = {"ticket_id": thing.ticket_id, "event_id": thing.event_id,
              "mention_id": thing.mention_id, "alert_id": thing.alert_id,
              "day": "2031-01-01", "notification_id": 999999,
              "unit_id": world.office.unit_a.id, **world.ids}
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def targets(path: str) -> tuple[str, ...]:
    if "{ticket_id}" in path:
        return ("own", "assist", "other")  # the loose event has no ticket
    return TARGETS if "{" in path else ("own",)


def allowed(rule: Rule, role: str, target: str) -> bool:
    if "public" in rule.roles:
        return True
    if role not in rule.roles:
        return False
    if role != "handler" or rule.scoped is None:
        return True
    return target == "own" or (target == "assist" and rule.scoped == "read")


def check_list(path: str, role: str, answer: Any, world: World) -> str | None:
    """What a list or summary shows: a handler sees his unit's things only, others see all."""
    text = str(answer)
    seen = {name for name, thing in world.things.items() if thing.title in text}
    if path == "/api/dashboard/summary":
        totals = answer["counts"]["mentions_total"]
        if role == "handler":
            ok = totals == 2 and answer["open_alerts"] == [] and answer["sources"] == [] \
                and answer["counts"]["open_alerts"] == 0
        else:
            ok = totals == 4 and len(answer["open_alerts"]) == 4
        return None if ok else f"summary for {role}: {answer['counts']}"
    expected = {"own", "assist"} if role == "handler" else {"own", "assist", "other", "loose"}
    if path in ("/api/tickets", "/api/ledger"):
        expected -= {"loose"}  # no ticket
    return None if seen == expected else f"{role} saw {sorted(seen)}, expected {sorted(expected)}"


# Reads change nothing: they share one database; each write gets a fresh one.
READS = [r for r in API_ROUTES if r[0] == "GET"]
GROUPS = [READS] + [[r] for r in API_ROUTES if r[0] != "GET"]


@pytest.mark.parametrize("routes", GROUPS, ids=["every GET route"] + [f"{m} {p}" for m, p in API_ROUTES if m != "GET"])
def test_route_access(routes: list[tuple[str, str]], client: TestClient, world: World) -> None:
    problems = []
    for method, path in routes:
        rule = RULES.get((method, path))
        assert rule is not None, f"no access rule for {method} {path}"
        problems += [f"{method} {path} {p}" for p in check_route(client, world, method, path, rule)]
    assert not problems, "\n".join(problems)


def check_route(client: TestClient, world: World, method: str, path: str, rule: Rule) -> list[str]:
    problems = []
    for role in ROLES:
        for target in targets(path):
            url = fill(path, world, target)
            kwargs = rule.body(world, role, target) if rule.body else {}
            params = {"year": to_local(utcnow()).year} if path == "/api/ledger" else None
            headers = {} if "public" in rule.roles else world.headers[role]
            res = client.request(method, url, headers=headers, params=params, **kwargs)
            want = allowed(rule, role, target)
            if res.status_code >= 500:
                problems.append(f"{role}/{target}: {res.status_code} {res.text[:200]}")
            elif want and res.status_code in (401, 403):
                problems.append(f"{role}/{target}: refused ({res.status_code}) but should pass: {res.text[:200]}")
            elif not want and res.status_code != 403:
                problems.append(f"{role}/{target}: {res.status_code}, expected 403: {res.text[:200]}")
            elif want and rule.lists and res.status_code == 200:
                problem = check_list(path, role, res.json(), world)
                if problem:
                    problems.append(problem)
    return problems
