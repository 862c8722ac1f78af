"""`yuqing run`: a fresh machine to a working system with a demo year in the ledger.

The demo site is a small loopback HTTP server serving RSS 2.0 and Atom feeds (the formats
WeChat-account bridges and government boards publish) built from `demo_data/site.json`.
It is crawled by the real spider, processed by the real pipeline, and the handling of each
story is recorded through the ticket service, so the annual report counts real rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlmodel import Session, col, func, select

from core import migrate
from core.alerts import service as alerts
from core.alerts.models import Alert
from core.audit.models import AuditLog
from core.config import get_settings
from core.db import session_scope
from core.duty import service as duty
from core.duty.models import DutyShift, DutyShiftCreate, StaffPostCreate
from core.events.models import Event
from core.intake import service as intake
from core.intake.service import CallCreate
from core.mentions.models import Mention
from core.sources import service as sources
from core.sources.models import SourceCreate
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate, Ticket, TicketState
from core.timeutil import SHANGHAI, ensure_utc, utcnow
from core.units import service as units
from core.units.models import UnitCreate
from core.users import service as users
from core.users.models import Role, User, UserCreate

DATA = Path(__file__).parent / "demo_data" / "site.json"
RECENT = Path(__file__).parent / "demo_data" / "recent.json"


def load_site() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def load_recent() -> dict[str, Any]:
    """The last 30 days: stories with a handling plan and everyday posts, dated from the run."""
    return json.loads(RECENT.read_text(encoding="utf-8"))


def demo_year() -> int:
    """The last complete year: its annual report is what an office would pull now."""
    return utcnow().astimezone(SHANGHAI).year - 1


def post_time(post: dict[str, Any], year: int, now: datetime | None = None) -> datetime:
    """A post's time: `hours_ago` counts back from `now` (the run), `date` is a day of `year`."""
    if "hours_ago" in post:
        base = ensure_utc(now) if now else utcnow()
        return (base - timedelta(hours=float(post["hours_ago"]))).astimezone(SHANGHAI).replace(
            second=0, microsecond=0)
    month_day, hm = post["date"].split()
    month, day = (int(x) for x in month_day.split("-"))
    hour, minute = (int(x) for x in hm.split(":"))
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def recent_posts(recent: dict[str, Any]) -> list[dict[str, Any]]:
    """Every recent post that a feed publishes (stories' posts and everyday chatter)."""
    posts = [dict(p, story=story["key"]) for story in recent["stories"] for p in story["posts"]]
    posts += [dict(p, id=f"r-chat-{n}", author=p.get("author", "站前生活圈"), story=None)
              for n, p in enumerate(recent["chatter"], start=1)]
    return posts


def render_feed(site: dict[str, Any], feed: dict[str, Any], year: int, base_url: str,
                now: datetime | None = None) -> bytes:
    """Render one demo feed as RSS 2.0 (with content:encoded) or Atom 1.0."""
    posts = [p for p in site["posts"] if p["feed"] == feed["path"]]
    posts.sort(key=lambda p: post_time(p, year, now), reverse=True)
    if feed["format"] == "atom":
        entries = "".join(
            f"""
  <entry>
    <id>tag:wenzheng.example.gov.cn,{year}:{p['id']}</id>
    <title>{escape(p['title'])}</title>
    <link rel="alternate" href="{base_url}/board/thread/{p['id']}.html"/>
    <author><name>{escape(p['author'])}</name></author>
    <published>{post_time(p, year, now).isoformat()}</published>
    <updated>{post_time(p, year, now).isoformat()}</updated>
    <content type="html">{escape('<p>' + escape(p['text']) + '</p>')}</content>
  </entry>"""
            for p in posts
        )
        updated = post_time(posts[0], year, now).isoformat() if posts else f"{year}-01-01T00:00:00+08:00"
        return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{escape(feed['title'])}</title>
  <id>{base_url}{feed['path']}</id>
  <link rel="self" href="{base_url}{feed['path']}"/>
  <updated>{updated}</updated>{entries}
</feed>
""".encode()
    items = "".join(
        f"""
    <item>
      <title><![CDATA[{p['title']}]]></title>
      <link>{base_url}/a/{p['id']}.html</link>
      <guid isPermaLink="false">{p['id']}</guid>
      <author>{escape(p['author'])}</author>
      <pubDate>{format_datetime(post_time(p, year, now))}</pubDate>
      <description><![CDATA[{p['text'][:60]}]]></description>
      <content:encoded><![CDATA[<p>{escape(p['text'])}</p>]]></content:encoded>
    </item>"""
        for p in posts
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>{escape(feed['title'])}</title>
    <link>{escape(feed['link'])}</link>
    <description>{escape(feed['title'])}</description>
    <language>zh-cn</language>{items}
  </channel>
</rss>
""".encode()


class DemoSite:
    """The demo feeds on a loopback port, in a background thread."""

    def __init__(self, year: int, host: str = "127.0.0.1", port: int = 0,
                 now: datetime | None = None) -> None:
        site = load_site()
        recent = load_recent()
        # Last year's posts and the last 30 days' in the same feeds, as a real feed would carry them.
        site = {**site, "feeds": site["feeds"] + recent["feeds"], "posts": site["posts"] + recent_posts(recent)}
        pages: dict[str, tuple[bytes, str]] = {}
        self.server = ThreadingHTTPServer((host, port), self._handler(pages))
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        for feed in site["feeds"]:
            ctype = "application/atom+xml" if feed["format"] == "atom" else "application/rss+xml"
            pages[feed["path"]] = (render_feed(site, feed, year, self.base_url, now), f"{ctype}; charset=utf-8")
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-site", daemon=True)

    @staticmethod
    def _handler(pages: dict[str, tuple[bytes, str]]) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                body, ctype = page
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> DemoSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# Demo people: (username, full name, role, unit name or None, staff posts).
DEMO_USERS: list[tuple[str, str, Role, str | None, tuple[str, ...]]] = [
    ("leader", "李分管（分管领导）", Role.leader, None, ("deputy_leader", "principal")),
    ("duty", "王值班（值班员）", Role.duty, None, ()),
    ("chengguan", "赵承办（城管执法中队）", Role.handler, "站前街道城管执法中队", ()),
    ("zhengshou", "孙承办（征收办）", Role.handler, "站前街道征收办", ()),
    ("anquan", "周承办（安全生产办）", Role.handler, "站前街道安全生产办", ()),
    ("chengjian", "吴承办（城建科）", Role.handler, "站前街道城建科", ()),
    ("wuye", "郑承办（物业管理科）", Role.handler, "站前街道物业管理科", ()),
    ("minzheng", "钱承办（民政科）", Role.handler, "站前街道民政科", ()),
]
ROLE_LABELS = {"admin": "系统管理员", "leader": "领导", "duty": "值班员", "handler": "承办人"}


def _logins_path() -> Path:
    return get_settings().var_dir / "demo_logins.json"


def _stored_logins() -> dict[str, str]:
    path = _logins_path()
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _store_logins(logins: dict[str, str]) -> None:
    """Demo passwords stay in var/ (like the secret key), so every run can print them again."""
    path = _logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(logins, ensure_ascii=False, indent=1), encoding="utf-8")
    path.chmod(0o600)


def setup_office(*, site: dict[str, Any], base_url: str, feeds: list[dict[str, Any]] | None = None,
                 now: datetime | None = None) -> tuple[str | None, str]:
    """Units, demo users of every role, staff posts, the duty roster and the demo sources.

    Returns (generated admin password or None, the admin password when known).
    """
    settings = get_settings()
    now = ensure_utc(now) if now else utcnow()
    logins = _stored_logins()
    with session_scope() as session:
        _admin, generated = users.ensure_admin(session=session, password=settings.admin_password or None)
        password = settings.admin_password or generated or logins.get("admin", "")
        if password:
            logins["admin"] = password
        for unit in site["units"]:
            units.get_or_create(session=session, unit_in=UnitCreate(**unit))
        for username, full_name, role, unit_name, posts in DEMO_USERS:
            user = users.get_by_username(session=session, username=username)
            if user is None:
                secret = settings.admin_password or logins.get(username) or secrets.token_urlsafe(9)
                unit = units.get_by_name(session=session, name=unit_name) if unit_name else None
                user = users.create(session=session, user_in=UserCreate(
                    username=username, full_name=full_name, role=role, password=secret,
                    unit_id=unit.id if unit else None))
                logins[username] = secret
                assert user.id is not None
                for post in posts:
                    duty.create_post(session=session, actor_id=None,
                                     post_in=StaffPostCreate(user_id=user.id, post=post))
            elif settings.admin_password:
                logins[username] = settings.admin_password
        _roster(session, now)
        for feed in [*site["feeds"], *(feeds or [])]:
            sources.get_or_create(session=session, source_in=SourceCreate(
                name=feed["source"], kind="feed", channel=feed["channel"], url=base_url + feed["path"]))
    _store_logins(logins)
    return generated, password


def _roster(session: Session, now: datetime) -> None:
    """24-hour shifts from 08:30 Beijing time: the duty officer and the leader on call, a month back
    and a week ahead (once)."""
    duty_user = users.get_by_username(session=session, username="duty")
    leader = users.get_by_username(session=session, username="leader")
    if duty_user is None or leader is None or duty_user.id is None or leader.id is None:
        return
    if session.exec(select(DutyShift).where(DutyShift.user_id == duty_user.id)).first():
        return
    today = now.astimezone(SHANGHAI).date()
    for offset in range(-30, 8):
        day = today + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, 8, 30, tzinfo=SHANGHAI)
        for user_id, role in ((duty_user.id, "officer"), (leader.id, "leader")):
            duty.create_shift(session=session, actor_id=None, shift_in=DutyShiftCreate(
                user_id=user_id, role=role, starts_at=start, ends_at=start + timedelta(days=1)))


def _mention_event(session: Session, post_id: str) -> int | None:
    # Atom entries carry tag: URIs as ids (tag:host,year:wz-2003); RSS guids are bare.
    mention = session.exec(select(Mention).where(col(Mention.external_id).endswith(post_id))).first()
    return mention.event_id if mention is not None else None


def _people(session: Session) -> dict[str, int]:
    ids = {}
    for username in ("admin", *(u[0] for u in DEMO_USERS)):
        user = users.get_by_username(session=session, username=username)
        if user is not None and user.id is not None:
            ids[username] = user.id
    return ids


def _handler_of(session: Session, unit_id: int | None) -> int | None:
    if unit_id is None:
        return None
    found = session.exec(select(User).where(User.unit_id == unit_id, User.role == Role.handler)
                         .order_by(col(User.id))).first()
    return found.id if found is not None else None


def _handle(session: Session, *, event_id: int, topic: str, opened: datetime, plan: str,
            people: dict[str, int], draft: str = "", responses: list[dict[str, Any]] | None = None,
            close_after_hours: float | None = None, now: datetime) -> tuple[int, int]:
    """Walk one matter through its plan on its own dates; (tickets opened, responses recorded)."""
    duty_id = people.get("duty", people["admin"])
    leader_id = people.get("leader", people["admin"])
    unit = units.for_topic(session=session, topic=topic)
    unit_id = unit.id if unit is not None and plan != "triage" else None
    handler_id = _handler_of(session, unit_id)
    ticket, created = tickets.open_from_event(
        session=session, event_id=event_id, actor_id=duty_id, unit_id=unit_id, handler_id=handler_id,
        note="值班研判后交办" if unit_id else "值班开单，待确定责任单位", opened_at=opened)
    assert ticket.id is not None
    if not created or plan in ("triage",):
        return int(created), 0
    actor = handler_id or duty_id
    if plan == "due_soon" or plan == "overdue":
        tickets.transition(session=session, ticket_id=ticket.id, to_state=TicketState.handling,
                           actor_id=actor, note="已联系相关科室核实情况", at=opened + timedelta(hours=1))
        return 1, 0
    text = draft or "；".join(r["title"] for r in responses or []) or "已核实并处置。"
    tickets.save_draft(session=session, ticket_id=ticket.id, text=text, actor_id=actor,
                       at=opened + timedelta(minutes=50))
    if plan == "handling":
        return 1, 0
    needs_sign_off = ticket.grade in tickets.SIGN_OFF_GRADES
    if plan == "review" or needs_sign_off:
        tickets.submit_for_review(session=session, ticket_id=ticket.id, actor_id=actor,
                                  at=opened + timedelta(hours=1, minutes=30))
        if plan == "review":
            return 1, 0
        tickets.sign_off(session=session, ticket_id=ticket.id, leader_id=leader_id, note="同意发布",
                         at=opened + timedelta(hours=2, minutes=30))
    recorded = 0
    for item in responses or []:
        tickets.record_response(session=session, ticket_id=ticket.id, actor_id=actor,
                                response_in=ResponseCreate(
                                    channel=item["channel"], kind=item["kind"], title=item["title"],
                                    summary=text, published_at=opened + timedelta(hours=item["after_hours"]),
                                    leader_present=bool(item.get("leader_present", False))))
        recorded += 1
    if recorded:
        last = max(float(r["after_hours"]) for r in responses or [])
        tickets.update_notes(session=session, ticket_id=ticket.id, actor_id=actor,
                             online_note="已在官方渠道发布回应", offline_note="责任单位已现场处置并回访",
                             at=opened + timedelta(hours=last, minutes=30))
        closing = opened + timedelta(hours=close_after_hours or last + 24)
        if closing < now:
            tickets.transition(session=session, ticket_id=ticket.id, to_state=TicketState.closed,
                               actor_id=actor, note="已办结，群众满意", at=closing)
    return 1, recorded


def record_handling(*, site: dict[str, Any], year: int) -> dict[str, int]:
    """Last year: open, assign, draft, sign off, answer and close each story, on its own dates.

    Stories without a planned response were judged by the duty officer and needed no ticket.
    """
    done = {"tickets": 0, "responses": 0}
    now = utcnow()
    with session_scope() as session:
        people = _people(session)
        first_post: dict[str, dict[str, Any]] = {}
        for post in sorted(site["posts"], key=lambda p: post_time(p, year)):
            if post["story"]:
                first_post.setdefault(post["story"], post)
        for story, post in first_post.items():
            event_id = _mention_event(session, post["id"])
            if event_id is None:
                continue  # not crawled or not processed: nothing to hand over
            plan = site["responses"].get(story, [])
            opened = ensure_utc(post_time(post, year)) + timedelta(hours=1)
            if not plan:
                alerts.close_for_event(session=session, event_id=event_id, actor_id=people.get("duty"),
                                       note="值班研判：已转社区日常处置，无需立单", at=opened)
                continue
            opened_n, answered = _handle(session, event_id=event_id, topic=story, opened=opened, plan="done",
                                         people=people, responses=plan, now=now)
            done["tickets"] += opened_n
            done["responses"] += answered
    return done


def record_recent(*, recent: dict[str, Any], now: datetime) -> dict[str, int]:
    """The last 30 days: hotline calls, then each story's plan; overdue clocks escalate step by step."""
    from core.processing.service import process_mention

    done = {"tickets": 0, "responses": 0}
    with session_scope() as session:
        for story in recent["stories"]:
            call = story.get("hotline")
            if call is None:
                continue
            result = intake.record_call(session=session, recorded_by="王值班", call=CallCreate(
                title=call["title"], text=call["text"], caller=call["caller"], contact=call["contact"],
                address=call["address"], received_at=post_time(call, 0, now), call_id=call["id"]))
            session.flush()
            if result.created and result.mention.id is not None:
                process_mention(session=session, mention_id=result.mention.id)
    with session_scope() as session:
        people = _people(session)
        for story in recent["stories"]:
            first = min(story["posts"], key=lambda p: post_time(p, 0, now))
            event_id = _mention_event(session, first["id"])
            if event_id is None or story["plan"] == "alert":
                continue  # the fresh alert waits for the duty officer
            opened = ensure_utc(post_time(first, 0, now)) + timedelta(minutes=40)
            n, answered = _handle(session, event_id=event_id, topic=story["unit_topic"], opened=opened,
                                  plan=story["plan"], people=people, draft=story.get("draft", ""),
                                  responses=story.get("responses"),
                                  close_after_hours=story.get("close_after_hours"), now=now)
            done["tickets"] += n
            done["responses"] += answered
    _replay_escalations(now)
    return done


def add_engagement(*, recent: dict[str, Any]) -> None:
    """Likes, reposts, comments and reads as the platforms show them (feeds do not carry them).

    Derived from each post's id so that every run shows the same numbers; events add them up.
    """
    wanted = {p["id"]: p for p in recent_posts(recent)}
    with session_scope() as session:
        touched: set[int] = set()
        for mention in session.exec(select(Mention).where(col(Mention.likes) == 0)):
            post_id = mention.external_id.rsplit(":", 1)[-1]
            if post_id not in wanted or mention.channel in ("hotline", "manual", "board"):
                continue
            seed = int(hashlib.sha1(post_id.encode()).hexdigest()[:8], 16)
            story = wanted[post_id].get("story")
            scale = 6 if story else 1  # the matters people complain about travel further
            mention.likes, mention.comments = scale * (seed % 60 + 5), scale * (seed % 23 + 1)
            mention.reposts = scale * (seed % 17) if mention.channel == "weibo" else 0
            mention.views = scale * (seed % 900 + 200) if mention.channel in ("wechat", "news") else 0
            session.add(mention)
            if mention.event_id is not None:
                touched.add(mention.event_id)
        session.flush()
        for event in session.exec(select(Event).where(col(Event.id).in_(touched))):
            event.engagement = int(session.exec(select(func.coalesce(func.sum(
                col(Mention.likes) + col(Mention.reposts) + col(Mention.comments)), 0))
                .where(Mention.event_id == event.id)).one())
            session.add(event)


def _replay_escalations(now: datetime) -> None:
    """Fire each reminder and escalation at the minute it fell due, not all at once today."""
    from core.tickets import escalation

    with session_scope() as session:
        moments: set[datetime] = set()
        for ticket in session.exec(select(Ticket).where(col(Ticket.state).in_(escalation.OPEN_STATES))):
            for clock in tickets.clocks(session=session, ticket=ticket):
                if clock.due_at is not None and clock.met_at is None:
                    moments |= {at for _step, at in escalation.schedule(clock.due_at) if at <= now}
        for moment in sorted(moments):
            escalation.sweep(session=session, now=moment)


def tidy_alerts(*, now: datetime) -> None:
    """Date each alert when its event was first seen (processing ran today), and close the alerts
    of matters nobody needs to act on: everyday posts the duty officer looked at."""
    with session_scope() as session:
        duty_id = _people(session).get("duty")
        rows = session.exec(select(Alert, Event).join(Event, col(Event.id) == col(Alert.event_id))).all()
        for alert, event in rows:
            assert alert.id is not None and event.id is not None
            seen = ensure_utc(event.first_seen_at or now)
            at = min(seen + timedelta(minutes=8), now)
            alert.created_at = at
            session.add(alert)
            for row in session.exec(select(AuditLog).where(AuditLog.entity == "alert",
                                                          AuditLog.entity_id == alert.id,
                                                          col(AuditLog.action).in_(["open", "notify", "raise"]))):
                row.at = at
                session.add(row)
            if alert.status in ("open", "acknowledged") and now - seen > timedelta(hours=2):
                alerts.close_for_event(session=session, event_id=event.id, actor_id=duty_id,
                                       note="值班研判：一般信息，持续关注，无需立单",
                                       at=min(at + timedelta(minutes=30), now))


def run_demo(*, host: str, port: int, serve: bool) -> int:
    """Migrate, load the demo, crawl it, process, record handling, then serve."""
    from crawlers.run import run_crawl_subprocess
    from worker.tasks import sweep_outbox

    # The demo's handling is recorded on the stories' own dates, so no ticket is auto-opened now.
    os.environ["YUQING_AUTO_TICKET_GRADES"] = "[]"
    get_settings.cache_clear()
    settings = get_settings()
    migrate.upgrade()
    year = demo_year()
    site = load_site()
    recent = load_recent()
    now = utcnow()
    with DemoSite(year, now=now) as demo:
        generated, _password = setup_office(site=site, base_url=demo.base_url, feeds=recent["feeds"], now=now)
        names = [f["source"] for f in site["feeds"] + recent["feeds"]]
        summary = run_crawl_subprocess(names)
        sweep_outbox()  # anything the crawler stored but could not process
        handled = record_handling(site=site, year=year)
        add_engagement(recent=recent)
        current = record_recent(recent=recent, now=now)
        tidy_alerts(now=now)
        from core.reports import service as reports

        with session_scope() as session:
            figures = reports.annual(session=session, year=year)
        print(f"演示站点 {demo.base_url} 已采集: {json.dumps(summary['totals'], ensure_ascii=False, default=str)}")
        print(f"{year} 年：已开工单 {handled['tickets']} 件，记录回应 {handled['responses']} 条")
        print(f"近 30 天：已开工单 {current['tickets']} 件，记录回应 {current['responses']} 条")
        print(f"{year} 年报: {figures['text']}")
        if not serve:
            return 0
        print()
        print(f"工作台与 API: http://{host}:{port}/   接口文档: http://{host}:{port}/docs")
        print(f"年报接口:     http://{host}:{port}/api/reports/annual?year={year}")
        _print_logins(generated)
        if settings.embedded_queue:
            threading.Thread(target=_embedded_beat, name="embedded-beat", daemon=True).start()
        import uvicorn

        uvicorn.run("api.main:app", host=host, port=port, log_level="warning")
    return 0


def _print_logins(generated: str | None) -> None:
    settings = get_settings()
    logins = _stored_logins()
    print("演示账号（用户名 / 角色 / 密码）：")
    if generated:
        print(f"  登录用户 admin  系统管理员  密码（本次生成，请妥善保存）: {generated}")
    elif settings.admin_password:
        print("  登录用户 admin  系统管理员  密码为 YUQING_ADMIN_PASSWORD 的值")
    elif logins.get("admin"):
        print(f"  登录用户 admin  系统管理员  {logins['admin']}")
    else:
        print("  登录用户 admin，密码为首次运行时打印的密码（设置 YUQING_ADMIN_PASSWORD 后再次运行可重置）")
    for username, full_name, role, _unit, _posts in DEMO_USERS:
        secret = "同上（YUQING_ADMIN_PASSWORD）" if settings.admin_password else logins.get(username, "（见首次运行）")
        print(f"  {username:<10} {ROLE_LABELS[role]} {full_name}  {secret}")
    print(f"（演示账号密码保存在 {_logins_path()}）")


def _embedded_beat() -> None:
    """Without Redis there is no beat process: run the sweeps and due crawls every minute."""
    from core import health
    from worker.crawl_tasks import check_source_silence, crawl_due_sources
    from worker.tasks import run_periodic_sweeps

    rounds = 0
    while True:
        time.sleep(60)
        rounds += 1
        try:
            run_periodic_sweeps()
            health.record_beat_run()  # /api/health shows when the in-process scheduler last ran
            crawl_due_sources()
            if rounds % 10 == 0:
                check_source_silence()
        except Exception as exc:  # keep serving; the next round tries again
            print(f"定时任务出错: {exc}")
