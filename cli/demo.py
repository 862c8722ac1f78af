"""`yuqing run`: a fresh machine to a working system with a demo year in the ledger.

The demo site is a small loopback HTTP server serving RSS 2.0 and Atom feeds (the formats
WeChat-account bridges and government boards publish) built from `demo_data/site.json`.
It is crawled by the real spider, processed by the real pipeline, and the handling of each
story is recorded through the ticket service, so the annual report counts real rows.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlmodel import col, select

from core import migrate
from core.config import get_settings
from core.db import session_scope
from core.mentions.models import Mention
from core.sources import service as sources
from core.sources.models import SourceCreate
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate, TicketState
from core.timeutil import SHANGHAI, ensure_utc, utcnow
from core.units import service as units
from core.units.models import UnitCreate
from core.users import service as users
from core.users.models import Role, UserCreate

DATA = Path(__file__).parent / "demo_data" / "site.json"


def load_site() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def demo_year() -> int:
    """The last complete year: its annual report is what an office would pull now."""
    return utcnow().astimezone(SHANGHAI).year - 1


def post_time(post: dict[str, Any], year: int) -> datetime:
    month_day, hm = post["date"].split()
    month, day = (int(x) for x in month_day.split("-"))
    hour, minute = (int(x) for x in hm.split(":"))
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def render_feed(site: dict[str, Any], feed: dict[str, Any], year: int, base_url: str) -> bytes:
    """Render one demo feed as RSS 2.0 (with content:encoded) or Atom 1.0."""
    posts = [p for p in site["posts"] if p["feed"] == feed["path"]]
    posts.sort(key=lambda p: post_time(p, year), reverse=True)
    if feed["format"] == "atom":
        entries = "".join(
            f"""
  <entry>
    <id>tag:wenzheng.example.gov.cn,{year}:{p['id']}</id>
    <title>{escape(p['title'])}</title>
    <link rel="alternate" href="{base_url}/board/thread/{p['id']}.html"/>
    <author><name>{escape(p['author'])}</name></author>
    <published>{post_time(p, year).isoformat()}</published>
    <updated>{post_time(p, year).isoformat()}</updated>
    <content type="html">{escape('<p>' + escape(p['text']) + '</p>')}</content>
  </entry>"""
            for p in posts
        )
        updated = post_time(posts[0], year).isoformat() if posts else f"{year}-01-01T00:00:00+08:00"
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
      <pubDate>{format_datetime(post_time(p, year))}</pubDate>
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

    def __init__(self, year: int, host: str = "127.0.0.1", port: int = 0) -> None:
        site = load_site()
        pages: dict[str, tuple[bytes, str]] = {}
        self.server = ThreadingHTTPServer((host, port), self._handler(pages))
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        for feed in site["feeds"]:
            ctype = "application/atom+xml" if feed["format"] == "atom" else "application/rss+xml"
            pages[feed["path"]] = (render_feed(site, feed, year, self.base_url), f"{ctype}; charset=utf-8")
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


def setup_office(*, site: dict[str, Any], base_url: str) -> tuple[str | None, str]:
    """Units, users and the demo sources; returns (generated admin password or None, password)."""
    settings = get_settings()
    with session_scope() as session:
        _admin, generated = users.ensure_admin(session=session, password=settings.admin_password or None)
        password = settings.admin_password or generated or ""
        for unit in site["units"]:
            units.get_or_create(session=session, unit_in=UnitCreate(**unit))
        if password and users.get_by_username(session=session, username="leader") is None:
            users.create(session=session, user_in=UserCreate(
                username="leader", full_name="分管领导（演示）", role=Role.leader, password=password))
        for feed in site["feeds"]:
            sources.get_or_create(session=session, source_in=SourceCreate(
                name=feed["source"], kind="feed", channel=feed["channel"], url=base_url + feed["path"]))
    return generated, password


def record_handling(*, site: dict[str, Any], year: int) -> dict[str, int]:
    """Open, assign and answer a ticket for each demo story, on the story's own dates."""
    done = {"tickets": 0, "responses": 0}
    with session_scope() as session:
        admin = users.get_by_username(session=session, username="admin")
        leader = users.get_by_username(session=session, username="leader")
        assert admin is not None and admin.id is not None
        leader_id: int = leader.id if leader and leader.id else admin.id
        first_post: dict[str, dict[str, Any]] = {}
        for post in sorted(site["posts"], key=lambda p: post_time(p, year)):
            if post["story"]:
                first_post.setdefault(post["story"], post)
        for story, post in first_post.items():
            # Atom entries carry tag: URIs as ids (tag:host,year:wz-2003); RSS guids are bare.
            mention = session.exec(select(Mention).where(col(Mention.external_id).endswith(post["id"]))).first()
            if mention is None or mention.event_id is None:
                continue  # not crawled or not processed: nothing to hand over
            opened = ensure_utc(post_time(post, year)) + timedelta(hours=1)
            unit = units.for_topic(session=session, topic=story)
            ticket, created = tickets.open_from_event(
                session=session, event_id=mention.event_id, actor_id=admin.id,
                unit_id=unit.id if unit else None, note="值班研判后交办", opened_at=opened)
            assert ticket.id is not None
            if not created and tickets.responses(session=session, ticket_id=ticket.id):
                continue
            done["tickets"] += int(created)
            if ticket.unit_id is None and unit is not None and unit.id is not None:
                tickets.assign(session=session, ticket_id=ticket.id, actor_id=admin.id, unit_id=unit.id, at=opened)
            if ticket.state == TicketState.assigned:
                tickets.transition(session=session, ticket_id=ticket.id, to_state=TicketState.handling,
                                   actor_id=admin.id, note="已联系责任单位现场核实", at=opened)
            plan = site["responses"].get(story, [])
            if plan and ticket.grade in tickets.SIGN_OFF_GRADES:
                tickets.transition(session=session, ticket_id=ticket.id, to_state=TicketState.review,
                                   actor_id=admin.id, note="回应稿提交审核")
                tickets.sign_off(session=session, ticket_id=ticket.id, leader_id=leader_id)
            for item in plan:
                tickets.record_response(session=session, ticket_id=ticket.id, actor_id=admin.id,
                                        response_in=ResponseCreate(
                                            channel=item["channel"], kind=item["kind"], title=item["title"],
                                            summary=item["title"],
                                            published_at=opened + timedelta(hours=item["after_hours"])))
                done["responses"] += 1
            if plan:
                tickets.update_notes(session=session, ticket_id=ticket.id, actor_id=admin.id,
                                     online_note="已在官方渠道发布回应", offline_note="责任单位已现场处置")
    return done


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
    with DemoSite(year) as demo:
        generated, _password = setup_office(site=site, base_url=demo.base_url)
        names = [f["source"] for f in site["feeds"]]
        summary = run_crawl_subprocess(names)
        sweep_outbox()  # anything the crawler stored but could not process
        handled = record_handling(site=site, year=year)
        from core.reports import service as reports

        with session_scope() as session:
            figures = reports.annual(session=session, year=year)
        print(f"演示站点 {demo.base_url} 已采集: {json.dumps(summary, ensure_ascii=False, default=str)}")
        print(f"已开工单 {handled['tickets']} 件，记录回应 {handled['responses']} 条")
        print(f"{year} 年报: {figures['text']}")
        if not serve:
            return 0
        print()
        print(f"看板与 API: http://{host}:{port}/   接口文档: http://{host}:{port}/docs")
        print(f"年报接口:   http://{host}:{port}/api/reports/annual?year={year}")
        if generated:
            print(f"登录用户 admin，密码（本次生成，请妥善保存）: {generated}")
        elif settings.admin_password:
            print("登录用户 admin，密码为 YUQING_ADMIN_PASSWORD 的值")
        else:
            print("登录用户 admin，密码为首次运行时打印的密码（设置 YUQING_ADMIN_PASSWORD 后再次运行可重置）")
        if settings.embedded_queue:
            threading.Thread(target=_embedded_beat, name="embedded-beat", daemon=True).start()
        import uvicorn

        uvicorn.run("api.main:app", host=host, port=port, log_level="warning")
    return 0


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
